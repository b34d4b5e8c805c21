"""The full Dagster graph for 1,000 and 10,000 accounts on the embedded default.

Run: ``.venv/bin/python bench/pipeline.py [--accounts 1000,10000] [--latency-ms 50] [--max-workers N]
[--server process|thread] [--preview] [--rerun] [--history DAYS] [--reconcile]
[--executor celery --workers 1,2,3 [--shards 16]]``.

Each size gets its own temporary SQLite app database (one encrypted credential per account, each
its own token), DuckDB warehouse, local Dagster instance and local Tradier server whose every
request pays ``--latency-ms`` (standing in for the round trip to Tradier). The server runs in a
process of its own (``--server thread`` puts it back in this process, where its handlers and the
client share one interpreter lock). ``full_pipeline_job`` runs once per size; the stage times are
read back from the run's event log (STEP_START to STEP_SUCCESS of each step; an order_tickets
stage spans its four ops), so they are what Dagster measured, not a wrapper's guess
(``stage_times.py``). The balance stage's pool is sized from the measured round trip unless
``--max-workers`` is given; the table shows the workers, the thread-pool bound (workers / latency,
in accounts per second) and how close the stage ran to it, and the client's CPU per broker request
over the whole run (this process, all stages). Order previews are off by default (``--preview``:
one broker call per unblocked recommendation). Nothing is asserted; the table is the result, sizes
side by side from one run (``pipeline_tables.py`` prints it and the tables below).
A second table per size sets each stage beside the broker stage of the same run (stage seconds /
balances seconds; the per-account stages aim below 0.20) with this process's CPU over each stage,
and a stage that is a graph (tickets) op by op.
``--rerun`` times the job again on the same stores (the schedule's next run); ``--history DAYS``
then ages the first run's trades, events and tickets into DAYS earlier sessions (``history.py``)
and times a new day's first run, on tables grown as a daily schedule grows them.

``--executor celery`` runs each size again with ``SPX_EXECUTOR=celery``, once per count in
``--workers``: the bench starts a throwaway Redis and that many ``spx-pipeline celery-worker``
processes (one step at a time each) on the same temporary instance and stores, runs the job from
this process as the orchestrator, and prints the rows side by side; the CPU column then adds the
workers' processes. There the balance stage is sharded (``SPX_SYNC_SHARDS``, ``--shards``): a
second table shows its plan, shard and write steps per worker count, and what the model of
``bench/shard_model.py``, fitted on the one-worker run, predicts for the others and for larger
sizes on several hosts.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import psutil
from history import age_into_history
from local_server import ServerProcess
from pipeline_tables import print_shard_table, print_table
from pool_size import POOL_LINE, PoolSize
from stage_times import (
    RECONCILE_STEPS,
    STAGES,
    CpuSampler,
    Measured,
    graph_steps,
    shard_stage,
    stage_cpu,
    stage_seconds,
    step_spans,
)

from spx_pipeline.definitions import build_definitions
from spx_pipeline.demo import DEMO_MAX_RISK_DOLLARS, LOCAL_INSTANCE_YAML, seed_accounts_and_setups
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts
from spx_pipeline.local_cluster import GroupProcess, celery_workers, redis_server
from spx_pipeline.resources import AppDatabaseResource, TradierResource, WarehouseResource
from spx_pipeline.resources.executor import reconstructable_job
from spx_pipeline.resources.instance import prepare_instance
from spx_pipeline.storage.app.credentials import CredentialStore, generate_key
from spx_pipeline.storage.warehouse.store import Warehouse


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
    executor: str, count: int, root: Path, variables: dict[str, str], shards: int = 16
) -> Iterator[list[GroupProcess] | None]:
    """Redis and ``count`` Celery workers on this run's stores when ``executor`` is celery, else None.

    The workers build their resources from the environment, as deployed workers do; this process
    (the orchestrator) gets the same variables.
    """
    if executor != "celery":
        yield None
        return
    variables = {
        **variables, "SPX_EXECUTOR": "celery", "SPX_IO_DIR": str(root / "io"), "SPX_SYNC_SHARDS": str(shards)
    }  # fmt: skip
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
    with_rerun: bool = False,
    history_days: int = 0,
    executor: str = "in_process",
    workers: int = 2,
    shards: int = 16,
) -> Measured:
    config = EmulatorConfig(accounts=make_accounts(n), faults=FaultConfig(latency_ms=latency_ms))
    pool_size = PoolSize()
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
                executor, workers, root, store_variables(url, warehouse_path, home, base_url), shards
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
            sampler = CpuSampler()
            sampler.start()
            cpu_before, started = _cpu_seconds(cluster), time.perf_counter()
            load_before = os.getloadavg()[0]
            result = run("full_pipeline_job", run_config)
            wall, client_cpu = time.perf_counter() - started, _cpu_seconds(cluster) - cpu_before
            sampler.stop()
            load = (load_before, os.getloadavg()[0])
            spans = step_spans(instance, result.run_id)
            sharded = shard_stage(instance, result.run_id, spans, n, workers if cluster else 0)
            # The first run's requests alone: a re-run or reconciliation_job below sends more.
            if isinstance(server, ServerProcess):
                stats = server.stats()
                requests, server_cpu = stats.requests, stats.cpu_s - (server_cpu_before or 0.0)
            else:
                requests, server_cpu = server.request_count(), None
            # Counted now: a re-run replaces the tickets and the credential copy with its own.
            warehouse = Warehouse(warehouse_path)
            rows = {
                stage: int(
                    warehouse.query(f"SELECT count(*) AS n FROM {table} WHERE run_id = ?", [result.run_id])[
                        "n"
                    ].iloc[0]
                )
                for stage, (_, table) in STAGES.items()
            }
            pipeline_stages = {stage: prefix for stage, (prefix, _) in STAGES.items()}

            def again(job: str, config: dict, stages: dict[str, str]) -> dict[str, float]:
                """``job`` run again on the same stores: its stages' seconds, the whole run's, success."""
                began = time.perf_counter()
                result = run(job, config)
                steps = step_spans(instance, result.run_id)
                timed = {name: stage_seconds(steps, prefix) for name, prefix in stages.items()}
                return {**timed, "whole run": time.perf_counter() - began, "success": float(result.success)}

            # The schedule's next run: same accounts, recommendations and trades.
            rerun = again("full_pipeline_job", run_config, pipeline_stages) if with_rerun else None
            reconcile = None
            if with_reconcile:
                steps = {name: name for name in RECONCILE_STEPS}
                reconcile = again("reconciliation_job", {"loggers": run_config["loggers"]}, steps)
            history = None
            if history_days:  # the first run's rows aged into earlier sessions, then a new day's first run
                age_into_history(root / "app.sqlite", warehouse_path, history_days)
                history = again("full_pipeline_job", run_config, pipeline_stages)
            for worker in cluster or []:  # the balance sync logged its pool size on a worker
                found = POOL_LINE.search(worker.output())
                pool_size.workers = int(found.group(1)) if found else pool_size.workers
    broker_log.removeHandler(pool_size)
    seconds = {stage: stage_seconds(spans, prefix) for stage, (prefix, _) in STAGES.items()}
    cpu = {stage: stage_cpu(spans, prefix, sampler) for stage, (prefix, _) in STAGES.items()}
    check_spans = [v for k, v in spans.items() if "_unique_keys" in k or k.startswith("portfolio_snapshots_")]
    checks = sum(b - a for a, b in check_spans)
    pool = max_workers if max_workers is not None else pool_size.workers
    return Measured(
        n, result.success, wall, seconds, rows, checks, requests, pool, client_cpu, server_cpu, reconcile,
        executor, workers if executor != "in_process" else 0, sharded, cpu, load, rerun, history,
        {stage: graph_steps(spans, prefix) for stage, (prefix, _) in STAGES.items()},
    )  # fmt: skip


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
    parser.add_argument("--rerun", action="store_true", help="then run the same job again and time it")
    parser.add_argument("--reconcile", action="store_true", help="then run reconciliation_job and time it")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="DAYS",
        help="then age the first run's rows into DAYS past sessions and time a new day's first run",
    )
    parser.add_argument(
        "--executor",
        choices=("in_process", "celery"),
        default="in_process",
        help="celery: also run each size on Celery workers (Redis and workers started here), side by side",
    )
    parser.add_argument(
        "--workers", default="2", help="Celery worker counts with --executor celery, comma-separated (1,2,3)"
    )
    parser.add_argument("--shards", type=int, default=16, help="SPX_SYNC_SHARDS for the Celery runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.accounts.split(",") if s.strip()]
    print(
        f"full_pipeline_job, embedded default (SQLite app DB, DuckDB warehouse, local instance), "
        f"{args.latency_ms:g} ms per request, server in a {args.server}, "
        f"max_workers={args.max_workers or 'from latency'}, preview={args.preview}\n"
    )
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    runs = [("in_process", 0)]
    if args.executor != "in_process":
        runs += [(args.executor, w) for w in counts]
    results = [
        measure(
            n,
            latency_ms=args.latency_ms,
            max_workers=args.max_workers,
            preview=args.preview,
            server_mode=args.server,
            with_reconcile=args.reconcile,
            with_rerun=args.rerun,
            history_days=args.history,
            executor=executor,
            workers=workers,
            shards=args.shards,
        )
        for n in sizes
        for executor, workers in runs
    ]
    print_table(results, args.latency_ms)
    print_shard_table(results)


if __name__ == "__main__":
    main()
