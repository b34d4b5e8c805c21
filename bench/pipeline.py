"""The full Dagster graph for 1,000 and 10,000 accounts on the embedded default.

Run: ``.venv/bin/python bench/pipeline.py [--accounts 1000,10000] [--latency-ms 50] [--max-workers N]
[--server process|thread] [--preview] [--executor celery --workers 2]``.

Each size gets its own temporary SQLite app database (one encrypted credential per account, each
its own token), DuckDB warehouse, local Dagster instance and local Tradier server whose every
request pays ``--latency-ms`` (standing in for the round trip to Tradier). The server runs in a
process of its own (``--server thread`` puts it back in this process, where its handlers and the
client share one interpreter lock). ``full_pipeline_job`` runs once per size; the stage times are
read back from the run's event log (STEP_START to STEP_SUCCESS of each step; an order_tickets
stage spans its four ops), so they are what Dagster measured, not a wrapper's guess. The balance
stage's pool is sized from the measured round trip unless ``--max-workers`` is given; the table
shows the workers, the thread-pool bound (workers / latency, in accounts per second) and how close
the stage ran to it, and the client's CPU per broker request over the whole run (this process,
all stages). Order previews are off by default (``--preview``: one broker call per unblocked
recommendation). Nothing is asserted; the table is the result, sizes side by side from one run.

``--executor celery`` runs each size a second time with ``SPX_EXECUTOR=celery``: the bench starts a
throwaway Redis and ``--workers`` ``spx-pipeline celery-worker`` processes (one step at a time
each) on the same temporary instance and stores, runs the job from this process as the
orchestrator, and prints both rows side by side; the CPU column then adds the workers' processes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import dagster as dg
import psutil
from local_server import ServerProcess

from spx_pipeline.definitions import build_definitions
from spx_pipeline.demo import DEMO_MAX_RISK_DOLLARS, LOCAL_INSTANCE_YAML, seed_accounts_and_setups
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts
from spx_pipeline.local_cluster import GroupProcess, celery_workers, redis_server
from spx_pipeline.resources import AppDatabaseResource, TradierResource, WarehouseResource
from spx_pipeline.resources.executor import reconstructable_job
from spx_pipeline.resources.instance import prepare_instance
from spx_pipeline.storage.credentials import CredentialStore, generate_key
from spx_pipeline.storage.warehouse import Warehouse

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


RECONCILE_STEPS = ("broker_state", "execution_fidelity", "position_reconciliation", "execution_guardrails")


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


def stage_seconds(spans: dict[str, tuple[float, float]], prefix: str) -> float:
    chosen = [v for k, v in spans.items() if k == prefix or (prefix.endswith(".") and k.startswith(prefix))]
    return max(b for _, b in chosen) - min(a for a, _ in chosen) if chosen else float("nan")


def seed(root: Path, config: EmulatorConfig) -> tuple[str, str]:
    """The credentials and setups, as the demo stores them.

    ``CredentialStore.add`` first checks that the key opens every active token already stored, so
    adding the n-th account decrypts n - 1 tokens; a fresh store under one fresh key needs no such
    check, and without skipping it seeding 10,000 accounts would take hours (not what is measured).
    """
    url = f"sqlite:///{root / 'app.sqlite'}"
    key = generate_key()
    with mock.patch.object(CredentialStore, "_check_key_opens_stored_tokens", lambda self, **_: None):
        seed_accounts_and_setups(config.accounts, app_db_url=url, key=key, label="bench")
    return url, key


class _PoolSize(logging.Handler):
    """Reads the worker count the balance sync chose from its log line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.workers: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = re.match(r"account sync: (\d+) workers", record.getMessage())
        if found:
            self.workers = int(found.group(1))


@contextlib.contextmanager
def tradier_server(
    n: int, config: EmulatorConfig, latency_ms: float, mode: str
) -> Iterator[tuple[str, ServerProcess | TradierEmulator]]:
    if mode == "thread":
        with TradierEmulator(config) as emulator:
            yield emulator.base_url, emulator
    else:
        with ServerProcess(n, latency_ms=latency_ms) as server:
            yield server.base_url, server


def store_variables(url: str, warehouse: Path, home: Path, base_url: str) -> dict[str, str]:
    """What the Celery workers need to build the same resources as the in-process run."""
    return {
        "SPX_APP_DB_URL": url,
        "SPX_WAREHOUSE_PATH": str(warehouse),
        "DAGSTER_HOME": str(home),
        "TRADIER_BASE_URL": base_url,
    }


def _cpu_seconds(cluster: list[GroupProcess] | None = None) -> float:
    """CPU seconds of this process, plus those of the Celery workers' processes when there are any."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    for worker in cluster or []:
        for pid in worker.tree():
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
    return total


@contextlib.contextmanager
def step_workers(
    executor: str, count: int, root: Path, variables: dict[str, str]
) -> Iterator[list[GroupProcess] | None]:
    """Redis and ``count`` Celery workers on this run's stores when ``executor`` is celery, else None.

    The workers build their resources from the environment, as deployed workers do; this process
    (the orchestrator) gets the same variables.
    """
    if executor != "celery":
        yield None
        return
    import os

    variables = {**variables, "SPX_EXECUTOR": "celery", "SPX_IO_DIR": str(root / "io")}
    previous = {name: os.environ.get(name) for name in [*variables, "SPX_CELERY_BROKER_URL"]}
    try:
        with redis_server(root) as broker:
            variables["SPX_CELERY_BROKER_URL"] = broker
            os.environ.update(variables)
            with celery_workers(count, dict(os.environ), root / "logs") as workers:
                yield workers
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(
    n: int,
    *,
    latency_ms: float,
    max_workers: int | None,
    preview: bool,
    server_mode: str,
    with_reconcile: bool = False,
    executor: str = "in_process",
    workers: int = 2,
) -> Measured:
    import os

    config = EmulatorConfig(accounts=make_accounts(n), faults=FaultConfig(latency_ms=latency_ms))
    pool_size = _PoolSize()
    broker_log = logging.getLogger("spx_pipeline.broker.tradier")
    broker_log.addHandler(pool_size)
    broker_log.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix=f"spx-bench-{n}-") as tmp:
        root = Path(tmp)
        url, key = seed(root, config)
        os.environ["SPX_CREDENTIALS_KEY"] = key
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
        prepare_instance(home)
        warehouse_path = root / "warehouse.duckdb"
        with (
            tradier_server(n, config, latency_ms, server_mode) as (base_url, server),
            dg.DagsterInstance.from_config(str(home)) as instance,
            step_workers(
                executor, workers, root, store_variables(url, warehouse_path, home, base_url)
            ) as cluster,
        ):
            resources = {
                "app_db": AppDatabaseResource(url=url),
                "warehouse": WarehouseResource(path=str(warehouse_path)),
                "tradier": TradierResource(base_url=base_url, max_workers=max_workers),
            }
            defs = build_definitions(resources)
            run_config: dict = {
                "ops": {
                    "contract_recommendations": {"config": {"max_risk_dollars": DEMO_MAX_RISK_DOLLARS}},
                    "order_tickets": {"ops": {"preview_order_payloads": {"config": {"preview": preview}}}},
                },
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            }
            if cluster is not None and max_workers is not None:  # workers build their resources from env
                run_config["resources"] = {"tradier": {"config": {"max_workers": max_workers}}}

            def run(job: str, config: dict) -> dg.ExecuteInProcessResult | dg.ExecutionResult:
                if cluster is None:
                    return defs.resolve_job_def(job).execute_in_process(
                        instance=instance, run_config=config, raise_on_error=False
                    )
                recon = reconstructable_job(job)
                return dg.execute_job(recon, instance, run_config=config, raise_on_error=False)

            server_cpu_before = server.stats().cpu_s if isinstance(server, ServerProcess) else None
            cpu_before, started = _cpu_seconds(cluster), time.perf_counter()
            result = run("full_pipeline_job", run_config)
            wall, client_cpu = time.perf_counter() - started, _cpu_seconds(cluster) - cpu_before
            spans = step_spans(instance, result.run_id)
            reconcile = None
            if with_reconcile:
                began = time.perf_counter()
                recon = run("reconciliation_job", {"loggers": run_config["loggers"]})
                steps = step_spans(instance, recon.run_id)
                reconcile = {name: stage_seconds(steps, name) for name in RECONCILE_STEPS}
                reconcile["whole run"] = time.perf_counter() - began
                reconcile["success"] = float(recon.success)
            for worker in cluster or []:  # the balance sync logged its pool size on a worker
                found = re.search(r"account sync: (\d+) workers", worker.output())
                pool_size.workers = int(found.group(1)) if found else pool_size.workers
            if isinstance(server, ServerProcess):
                stats = server.stats()
                requests, server_cpu = stats.requests, stats.cpu_s - (server_cpu_before or 0.0)
            else:
                requests, server_cpu = server.request_count(), None
        warehouse = Warehouse(warehouse_path)
        rows = {
            stage: int(
                warehouse.query(f"SELECT count(*) AS n FROM {table} WHERE run_id = ?", [result.run_id])[
                    "n"
                ].iloc[0]
            )
            for stage, (_, table) in STAGES.items()
        }
    broker_log.removeHandler(pool_size)
    seconds = {stage: stage_seconds(spans, prefix) for stage, (prefix, _) in STAGES.items()}
    check_spans = [v for k, v in spans.items() if "_unique_keys" in k or k.startswith("portfolio_snapshots_")]
    checks = sum(b - a for a, b in check_spans)
    pool = max_workers if max_workers is not None else pool_size.workers
    return Measured(
        n, result.success, wall, seconds, rows, checks, requests, pool, client_cpu, server_cpu, reconcile,
        executor,
    )  # fmt: skip


def print_table(results: list[Measured], latency_ms: float) -> None:
    columns = [*STAGES, "whole run", "requests", "workers", "acct/s", "bound", "ratio", "CPU/req"]
    by_executor = any(m.executor != "in_process" for m in results)
    head = "| accounts | executor | " if by_executor else "| accounts | "
    print(head + " | ".join(columns) + " |")
    print("|---:|" + ("---|" if by_executor else "") + "---:|" * len(columns))
    for m in results:
        stages = [f"{m.seconds[stage]:.2f} s" for stage in STAGES]
        rate = m.rows["balances"] / m.seconds["balances"] if m.seconds["balances"] > 0 else float("nan")
        bound = (m.workers or 0) / (latency_ms / 1000) if latency_ms > 0 else float("nan")
        ratio = f"{rate / bound:.2f}" if bound else "n/a"
        status = "" if m.success else " FAILED"
        cells = [
            *stages,
            f"**{m.wall_s:.2f} s**{status}",
            f"{m.requests:,}",
            str(m.workers or "?"),
            f"{rate:,.0f}",
            f"{bound:,.0f}",
            ratio,
            f"{m.client_cpu_s / m.requests * 1000:.2f} ms" if m.requests else "n/a",
        ]
        label = f"| {m.accounts:,} | {m.executor} | " if by_executor else f"| {m.accounts:,} | "
        print(label + " | ".join(cells) + " |")
    reconciled = [m for m in results if m.reconcile]
    if reconciled:
        print("\nreconciliation_job after it (positions + orders of every account, fidelity, reconciliation, "
              "guardrails):\n")  # fmt: skip
        print("| accounts | " + " | ".join([*RECONCILE_STEPS, "whole run"]) + " |")
        print("|---:|" + "---:|" * (len(RECONCILE_STEPS) + 1))
        for m in reconciled:
            r = m.reconcile or {}
            ok = "" if r.get("success") else " FAILED"
            cells = [f"{r[name]:.2f} s" for name in RECONCILE_STEPS] + [f"**{r['whole run']:.2f} s**{ok}"]
            print(f"| {m.accounts:,} | " + " | ".join(cells) + " |")
    print()
    for m in results:
        server = f", server {m.server_cpu_s / m.requests * 1000:.2f} ms CPU/request" if m.server_cpu_s else ""
        print(
            f"{m.accounts:,} accounts ({m.executor}): rows written {m.rows}; "
            f"asset checks {m.checks_s:.2f} s; "
            f"client {m.client_cpu_s:.1f} s CPU over the run{server}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="1000,10000", help="comma-separated sizes (default 1000,10000)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help="TradierResource.max_workers (default: from the latency)",
    )
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    parser.add_argument("--preview", action="store_true", help="preview every entry ticket (one call each)")
    parser.add_argument("--reconcile", action="store_true", help="then run reconciliation_job and time it")
    parser.add_argument(
        "--executor",
        choices=("in_process", "celery"),
        default="in_process",
        help="celery: also run each size on Celery workers (Redis and workers started here), side by side",
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery workers with --executor celery")
    args = parser.parse_args()
    sizes = [int(s) for s in args.accounts.split(",") if s.strip()]
    print(
        f"full_pipeline_job, embedded default (SQLite app DB, DuckDB warehouse, local instance), "
        f"{args.latency_ms:g} ms per request, server in a {args.server}, "
        f"max_workers={args.max_workers or 'from latency'}, preview={args.preview}\n"
    )
    executors = ["in_process"] if args.executor == "in_process" else ["in_process", args.executor]
    results = [
        measure(
            n,
            latency_ms=args.latency_ms,
            max_workers=args.max_workers,
            preview=args.preview,
            server_mode=args.server,
            with_reconcile=args.reconcile,
            executor=executor,
            workers=args.workers,
        )
        for n in sizes
        for executor in executors
    ]
    print_table(results, args.latency_ms)


if __name__ == "__main__":
    main()
