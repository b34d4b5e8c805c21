"""The tables ``bench/pipeline.py`` prints: its result, sizes and executors side by side.

Kept apart from the measuring so the run's code reads as what it times; nothing here is asserted,
the tables are the result. Each takes the ``Measured`` records of one bench run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

from shard_model import fit
from stage_times import RECONCILE_STEPS, STAGES, Measured

from spx_pipeline.broker.tradier.account_sync import CLIENT_CPU_PER_REQUEST_S


def print_table(results: list[Measured], latency_ms: float) -> None:
    """The first table, a row per size and executor; then the per-stage and later-run tables, and a
    line of totals per row."""
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
        label = f"| {m.accounts:,} | {m.label} | " if by_executor else f"| {m.accounts:,} | "
        print(label + " | ".join(cells) + " |")
    print_stage_ratios(results)
    later_runs = {
        "rerun": "The same job again on the same stores (the schedule's next run: every trade unchanged)",
        "history": "A later day's first run (--history: the first run's trades, events and tickets "
        "copied into that many earlier sessions, closed)",
    }
    for field, title in later_runs.items():
        timed = [(m.accounts, getattr(m, field)) for m in results if getattr(m, field)]
        print_later_job(timed, f"{title}, each stage ÷ that run's balances", STAGES, base=BROKER_STAGE)
    print_later_job(
        [(m.accounts, m.reconcile) for m in results if m.reconcile],
        "reconciliation_job after it (positions + orders of every account, trades brought up to them, "
        "fidelity, reconciliation, guardrails), each step ÷ its broker_state",
        RECONCILE_STEPS,
        base="broker_state",
    )
    print()
    for m in results:
        server = f", server {m.server_cpu_s / m.requests * 1000:.2f} ms CPU/request" if m.server_cpu_s else ""
        print(
            f"{m.accounts:,} accounts ({m.label}): rows written {m.rows}; "
            f"asset checks {m.checks_s:.2f} s; "
            f"client {m.client_cpu_s:.1f} s CPU over the run{server}"
        )


def print_later_job(
    timed: list[tuple[int, dict[str, float]]], title: str, steps: Iterable[str], base: str | None = None
) -> None:
    """A job run after the first on the same stores: each step's seconds (÷ ``base``'s, if given)."""
    if not timed:
        return
    names = list(steps)
    print(f"\n{title}:\n")
    print("| accounts | " + " | ".join([*names, "whole run"]) + " |")
    print("|---:|" + "---:|" * (len(names) + 1))
    for accounts, r in timed:
        ok = "" if r.get("success") else " FAILED"
        cells = [f"{r[n]:.2f} s" + (f" ({r[n] / r[base]:.2f})" if base else "") for n in names]
        print(f"| {accounts:,} | " + " | ".join([*cells, f"**{r['whole run']:.2f} s**{ok}"]) + " |")


BROKER_STAGE = "balances"
PER_ACCOUNT = ("credentials", "snapshots", "recommendations", "tickets")  # chain: one fetch, not per account


def print_stage_ratios(results: list[Measured]) -> None:
    """Each stage beside the broker stage (balances) of the same run: seconds, and stage / balances.

    The goal for the per-account stages is a ratio below 0.20. The CPU column is this process's
    user + system seconds over the stage (all threads; in-process runs only), which a busy machine
    inflates far less than the wall time; the load is the 1-minute average before and after the run.
    """
    for m in results:
        base = m.seconds[BROKER_STAGE]
        print(
            f"\n{m.accounts:,} accounts ({m.label}), load {m.load[0]:.1f} → {m.load[1]:.1f} on "
            f"{os.cpu_count()} cores:\n"
        )
        print("| stage | seconds | ÷ balances | CPU s |")
        print("|---|---:|---:|---:|")
        for stage in STAGES:
            ratio = m.seconds[stage] / base if base > 0 else float("nan")
            name = f"{stage} (the broker stage)" if stage == BROKER_STAGE else stage
            flag = " ✗" if stage in PER_ACCOUNT and ratio >= 0.2 else ""
            cpu = m.cpu_s.get(stage, float("nan"))
            print(f"| {name} | {m.seconds[stage]:.2f} | {ratio:.2f}{flag} | {cpu:.2f} |")
        print(f"| whole run | {m.wall_s:.2f} | {m.wall_s / base if base > 0 else float('nan'):.2f} "
              f"| {m.client_cpu_s:.2f} |")  # fmt: skip
        for stage, ops in m.steps.items():
            if ops:
                shares = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in ops.items())
                print(f"\n{stage}, op by op in the order they started: {shares}")


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "n/a"


def print_shard_table(results: list[Measured]) -> None:
    """The sharded balance stage per worker count, and the model fitted on the one-worker run."""
    staged = [m for m in results if m.shard is not None]
    if not staged:
        return
    print("\nThe sharded balance stage (plan → shard steps → one write), per Celery worker count:\n")
    print("| accounts | workers | shards | plan | hand-offs | shard steps (mean / max) "
          "| fetch in shard (mean) | shard phase | model | write | stage | model | acct/s |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sorted({m.accounts for m in staged}):
        runs = sorted((m for m in staged if m.accounts == size), key=lambda m: m.processes)
        base = next((m for m in runs if m.processes == 1), None)
        model = None
        if base is not None and base.shard is not None:
            server = (base.server_cpu_s or 0.0) / base.requests if base.requests else 0.0
            model = fit(base.shard, client_cpu=CLIENT_CPU_PER_REQUEST_S, server_cpu=server)
        for m in runs:
            st = m.shard
            assert st is not None
            steps, fetches = st.shard_steps_s, st.shard_fetch_s
            cores = os.cpu_count() or 1
            phase = model.phase(st.accounts, st.shards, st.workers, cores=cores) if model else None
            stage = model.predict(st.accounts, st.shards, st.workers, cores=cores) if model else None
            print(
                f"| {size:,} | {st.workers} | {st.shards} | {st.plan_s:.2f} s | {st.handoff_s:.2f} s "
                f"| {sum(steps) / len(steps):.2f} / {max(steps):.2f} s | {sum(fetches) / len(fetches):.2f} s "
                f"| **{st.phase_s:.2f} s** | {_seconds(phase)} | {st.write_s:.2f} s | **{st.stage_s:.2f} s** "
                f"| {_seconds(stage)} | {size / st.stage_s:,.0f} |"
            )
        if model is not None:
            print(
                f"\nModel fitted on {size:,} accounts, one worker: a = {model.a * 1000:.3f} ms per account "
                f"in a shard, o = {model.o:.2f} s per shard step, h = {model.h:.2f} s of hand-offs, "
                f"plan {model.plan_per_account * 1e6:.1f} µs "
                f"and write {model.write_per_account * 1e6:.1f} µs per account, u = {model.u:.2f} of a core, "
                f"s = {model.s * 1000:.2f} ms CPU per request; {os.cpu_count()} cores here.\n"
            )
            print("Predicted stage for 100,000 accounts, 16 shards, 2 workers per host of 2 cores, the "
                  "Tradier server elsewhere (s = 0):\n")  # fmt: skip
            remote = dataclasses.replace(model, s=0.0)
            print("| hosts | " + " | ".join(str(k) for k in (1, 2, 4, 8)) + " |")
            print("|---:|" + "---:|" * 4)
            cells = [f"{remote.predict(100_000, 16, 2, hosts=k, cores=2):.1f} s" for k in (1, 2, 4, 8)]
            print("| stage | " + " | ".join(cells) + " |")
