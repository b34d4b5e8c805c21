"""Stage times and CPU of a ``full_pipeline_job`` run, read back from Dagster's event log.

``bench/pipeline.py`` times each stage from the run's own STEP_START and STEP_SUCCESS events, so the
times are what Dagster measured, not a wrapper's guess; ``CpuSampler`` lets a stage's CPU be read
off between the same timestamps. ``Measured`` holds what one run gave, for the printed tables.
"""

from __future__ import annotations

import dataclasses
import resource
import threading
import time
from dataclasses import dataclass

import dagster as dg
import numpy as np
from shard_model import ShardStage

# Stage name → (step key prefix, warehouse table whose rows for the run the stage wrote).
STAGES: dict[str, tuple[str, str]] = {
    "credentials": ("broker_credentials", "broker_credentials"),
    "balances": ("tradier_balances", "tradier_balances"),
    "snapshots": ("portfolio_snapshots", "portfolio_snapshots"),
    "chain": ("spx_option_chain", "spx_option_chain"),
    "recommendations": ("contract_recommendations", "contract_recommendations"),
    "tickets": ("order_tickets.", "order_tickets"),
}


@dataclass(frozen=True)
class Measured:
    """What one size's run measured (and the later runs on its stores), for the tables."""

    accounts: int
    success: bool
    wall_s: float
    seconds: dict[str, float]
    rows: dict[str, int]
    checks_s: float
    requests: int
    workers: int | None
    client_cpu_s: float
    server_cpu_s: float | None
    reconcile: dict[str, float] | None = None  # reconciliation_job's stage seconds and "whole run"
    executor: str = "in_process"
    processes: int = 0  # Celery worker processes (0: in process)
    shard: ShardStage | None = None
    cpu_s: dict[str, float] = dataclasses.field(default_factory=dict)  # this process's CPU per stage
    load: tuple[float, float] = (float("nan"), float("nan"))  # 1-minute load average before and after
    rerun: dict[str, float] | None = None  # the same job again on the same stores: stage seconds, "whole run"
    history: dict[str, float] | None = None  # a later day's first run (--history): stage seconds, "whole run"
    steps: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)  # graph stages' op seconds

    @property
    def label(self) -> str:
        return f"{self.executor} ×{self.processes}" if self.processes else self.executor


RECONCILE_STEPS = (
    "broker_state",
    "trades",
    "execution_fidelity",
    "position_reconciliation",
    "execution_guardrails",
)


def step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """step key → (start, end) epoch seconds from the event log."""
    spans: dict[str, list[float]] = {}
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
            spans.setdefault(event.step_key, [entry.timestamp, entry.timestamp])
            span = spans[event.step_key]
            span[0], span[1] = min(span[0], entry.timestamp), max(span[1], entry.timestamp)
    return {key: (a, b) for key, (a, b) in spans.items()}


def stage_span(spans: dict[str, tuple[float, float]], prefix: str) -> tuple[float, float] | None:
    """The first start and last end of a stage's steps: ``prefix`` itself, or the steps of its
    graph; None when the run has none of them."""
    graph = prefix if prefix.endswith(".") else prefix + "."
    chosen = [v for k, v in spans.items() if k == prefix or k.startswith(graph)]
    return (min(a for a, _ in chosen), max(b for _, b in chosen)) if chosen else None


def graph_steps(spans: dict[str, tuple[float, float]], prefix: str) -> dict[str, float]:
    """Seconds of each op of a stage that is a graph (``prefix`` ends in a dot), in the order they
    started: where in the stage its time goes. Empty for a stage of one step."""
    if not prefix.endswith("."):
        return {}
    mine = sorted((v, k.removeprefix(prefix)) for k, v in spans.items() if k.startswith(prefix))
    return {name: end - start for (start, end), name in mine}


def stage_seconds(spans: dict[str, tuple[float, float]], prefix: str) -> float:
    """From the first step of a stage to its last."""
    span = stage_span(spans, prefix)
    return span[1] - span[0] if span else float("nan")


SHARD_PREFIX = "tradier_balances."


def shard_stage(
    instance: dg.DagsterInstance,
    run_id: str,
    spans: dict[str, tuple[float, float]],
    accounts: int,
    workers: int,
) -> ShardStage | None:
    """The sharded balance stage's steps, and each shard's accounts and fetch time (its output metadata)."""
    fetched: dict[str, tuple[int, float, float | None]] = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT).records:
        event = record.event_log_entry.dagster_event
        if event is None or not (event.step_key or "").startswith(SHARD_PREFIX + "fetch_balance_shard["):
            continue
        metadata = event.step_output_data.metadata
        cpu = metadata.get("fetch_cpu_seconds")
        fetched[event.step_key] = (
            int(metadata["accounts"].value),
            float(metadata["fetch_seconds"].value),
            float(cpu.value) if cpu is not None else None,
        )
    if not fetched:
        return None
    keys = sorted(fetched)
    plan, write = spans[SHARD_PREFIX + "plan_balance_shards"], spans[SHARD_PREFIX + "write_balance_shards"]
    first, last = min(spans[k][0] for k in keys), max(spans[k][1] for k in keys)
    return ShardStage(
        accounts=accounts,
        workers=workers,
        shards=len(keys),
        plan_s=plan[1] - plan[0],
        handoff_s=(first - plan[1]) + (write[0] - last),
        phase_s=last - first,
        write_s=write[1] - write[0],
        stage_s=write[1] - plan[0],
        shard_steps_s=[spans[k][1] - spans[k][0] for k in keys],
        shard_fetch_s=[fetched[k][1] for k in keys],
        shard_accounts=[fetched[k][0] for k in keys],
        shard_cpu_s=[c for k in keys if (c := fetched[k][2]) is not None],
    )


class CpuSampler(threading.Thread):
    """This process's CPU seconds (user + system, all threads) sampled every ``interval`` seconds,
    so a stage's CPU can be read off between its event-log timestamps: on a shared machine a
    stage's wall time says as much about the neighbours as about the stage."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(name="cpu-sampler", daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()

    def _sample(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.samples.append((time.time(), usage.ru_utime + usage.ru_stime))

    def run(self) -> None:
        self._sample()
        while not self._stop_event.wait(self.interval):
            self._sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self._sample()

    def between(self, start: float, end: float) -> float:
        stamps, cpu = zip(*self.samples, strict=True)
        return float(np.interp(end, stamps, cpu) - np.interp(start, stamps, cpu))


def stage_cpu(spans: dict[str, tuple[float, float]], prefix: str, sampler: CpuSampler) -> float:
    """CPU seconds of this process from the stage's first step start to its last step end."""
    span = stage_span(spans, prefix)
    return sampler.between(*span) if span else float("nan")
