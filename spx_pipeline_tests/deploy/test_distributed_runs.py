"""Two full pipeline runs at once, their steps on two Celery workers, one PostgreSQL instance.

What a deployment beyond one machine looks like, on loopback: Redis as the broker, a Dagster
instance on PostgreSQL (a fresh database), the local Tradier server, two ``spx-pipeline
celery-worker`` processes, and two ``full_pipeline_job`` runs started together with
``SPX_EXECUTOR=celery`` (each in a process of its own, at its own pinned instant). Both must
succeed; their steps must have executed in both workers' processes (the event log's pids), the
warehouse's writer pool must never have run more writers at once than its limit (the event log's
step spans), and every stage of each run must be published exactly once, each row once, in the
warehouse's published views and in the analyst copy. Everything started is stopped by process
group, also when an assertion fails. The warehouse backend and its pool are parameters
(``WarehouseCase``): the single DuckDB file with a pool of one writer, and the Parquet backend
with a pool of two, whose writers must then have run at the same time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.api import create_execution_plan

from spx_pipeline.definitions import defs
from spx_pipeline.local_cluster import GroupProcess, celery_workers, redis_server
from spx_pipeline.resources.run_guard import WORKER_TAG
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.analyst import AnalystCatalog
from spx_pipeline.storage.publication import STAGES
from spx_pipeline.storage.warehouse_schema import warehouse_schema
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

pytestmark = [pytest.mark.distributed, pytest.mark.postgres, pytest.mark.slow]

JOB = "full_pipeline_job"
WORKERS = 2
FULL_PIPELINE_STAGES = ("portfolio_sync", "market_data", "recommendations", "orders")

RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import dagster as dg
    from spx_pipeline.resources.executor import reconstructable_job
    from spx_pipeline.resources.run_guard import worker_tags

    job = reconstructable_job(sys.argv[1])
    go, run_config = Path(sys.argv[2]), json.loads(sys.argv[3])
    while not go.exists():  # both processes are imported and waiting: start together
        time.sleep(0.005)
    with dg.DagsterInstance.get() as instance:
        tags = worker_tags()
        result = dg.execute_job(job, instance, run_config=run_config, tags=tags, raise_on_error=False)
        print("RESULT", result.run_id, result.success, flush=True)
    """
)


def duckdb_published(env: PipelineEnv, table: str) -> list[tuple[object, ...]]:
    """(primary key..., run id) of every row the warehouse's published view of ``table`` shows."""
    columns = [*warehouse_schema().tables[table].primary_key, run_column(table)]
    select = ", ".join(f'"{c}"' for c in columns)
    frame = env.warehouse().query(f'SELECT {select} FROM published."{table}"')
    return sorted(map(tuple, frame.astype(str).itertuples(index=False)))


def duckdb_publications(env: PipelineEnv, run_ids: list[str]) -> list[tuple[str, str]]:
    """(run, stage) of every publication of ``run_ids``."""
    frame = env.warehouse().query(
        "SELECT run_id, stage FROM run_publications WHERE run_id IN (?, ?) ORDER BY seq", run_ids
    )
    return [(r.run_id, r.stage) for r in frame.itertuples()]


def analyst_published(env: PipelineEnv, table: str) -> list[tuple[object, ...]]:
    """The same, from the analyst copy (Parquet, the newest publication of each key)."""
    columns = [*warehouse_schema().tables[table].primary_key, run_column(table)]
    select = ", ".join(f'"{c}"' for c in columns)
    frame = AnalystCatalog(env.warehouse_path).query(f'SELECT {select} FROM "{table}"')
    return sorted(map(tuple, frame.astype(str).itertuples(index=False)))


def run_column(table: str) -> str:
    return next(column for stage in STAGES.values() for t, column in stage if t == table)


@dataclass(frozen=True)
class WarehouseCase:
    """A warehouse backend as the runs see it: its environment, its writer pool and how to read it back."""

    name: str
    pool: str
    pool_limit: int
    published: Callable[[PipelineEnv, str], list[tuple[object, ...]]]
    publications: Callable[[PipelineEnv, list[str]], list[tuple[str, str]]]
    env: dict[str, str] = field(default_factory=dict)


# Both backends answer the same reads (``published.*`` and ``run_publications``).
CASES = [
    WarehouseCase("duckdb", WAREHOUSE_POOL, 1, duckdb_published, duckdb_publications),
    WarehouseCase("parquet", WAREHOUSE_POOL, 2, duckdb_published, duckdb_publications),
]


def pool_steps(pool: str) -> set[str]:
    """Step keys of the job whose op runs in ``pool``."""
    plan = create_execution_plan(defs.resolve_job_def(JOB))
    return {step.key for step in plan.get_all_steps_in_topo_order() if getattr(step, "pool", None) == pool}


@dataclass(frozen=True)
class StepRun:
    run_id: str
    step: str
    start: float
    end: float
    pids: frozenset[int]


def step_runs(instance: dg.DagsterInstance, run_id: str) -> list[StepRun]:
    """Each step of a run: STEP_START to its last STEP_SUCCESS/FAILURE, and the pids of its events."""
    spans: dict[str, list[float]] = {}
    pids: dict[str, set[int]] = {}
    ends = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START or event.event_type in ends:
            spans.setdefault(event.step_key, []).append(record.event_log_entry.timestamp)
        if event.event_type == dg.DagsterEventType.STEP_START or event.is_step_materialization:
            pids.setdefault(event.step_key, set()).add(event.pid)  # type: ignore[arg-type]
    return [StepRun(run_id, key, min(v), max(v), frozenset(pids.get(key, ()))) for key, v in spans.items()]


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of spans open at one instant (an end before a start at the same time)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = peak = 0
    for _, delta in edges:
        open_now += delta
        peak = max(peak, open_now)
    return peak


@pytest.fixture
def stack(
    tmp_path: Path, pg_dagster_home: Path, pipeline_env_factory: PipelineEnvFactory
) -> Iterator[tuple[PipelineEnv, dict[str, str]]]:
    """The local Tradier server and stores, and the environment every worker and run shares."""
    env = pipeline_env_factory()
    key_file = tmp_path / "credentials.key"
    key_file.write_text(env.key + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    environ = {k: v for k, v in os.environ.items() if k != "SPX_CREDENTIALS_KEY"}
    environ |= {
        "DAGSTER_HOME": str(pg_dagster_home),
        "SPX_APP_DB_URL": env.app_db_url,
        "SPX_WAREHOUSE_PATH": str(env.warehouse_path),
        "SPX_CREDENTIALS_KEY_FILE": str(key_file),
        "TRADIER_BASE_URL": env.emulator.base_url,
        "SPX_EXECUTOR": "celery",
        "SPX_IO_DIR": str(tmp_path / "shared_io"),
    }
    yield env, environ


@pytest.mark.parametrize(
    ("case", "warehouse_backend"),
    [(c, c.name) for c in CASES],
    ids=[c.name for c in CASES],
    indirect=["warehouse_backend"],
)
def test_two_runs_on_two_celery_workers_publish_every_row_once(
    case: WarehouseCase, warehouse_backend: str, stack: tuple[PipelineEnv, dict[str, str]], tmp_path: Path
) -> None:
    env, environ = stack
    environ = {**environ, **case.env, "SPX_WAREHOUSE_BACKEND": warehouse_backend}
    with dg.DagsterInstance.from_config(environ["DAGSTER_HOME"]) as instance:
        instance.event_log_storage.set_concurrency_slots(case.pool, case.pool_limit)
    with redis_server(tmp_path) as broker:
        environ |= {"SPX_CELERY_BROKER_URL": broker}
        # The runs' processes import while the workers start; both runs begin once the workers are up.
        with (
            two_runs(env, environ, tmp_path) as start,
            celery_workers(WORKERS, environ, tmp_path / "logs") as workers,
        ):
            try:
                run_ids = start()
                trees = [worker.tree() for worker in workers]
            except BaseException:
                print_worker_logs(workers)
                raise
    with dg.DagsterInstance.from_config(environ["DAGSTER_HOME"]) as instance:
        steps = [s for run_id in run_ids for s in step_runs(instance, run_id)]
        recorded = [instance.get_run_by_id(run_id).tags[WORKER_TAG] for run_id in run_ids]  # type: ignore[union-attr]

    # The runs overlapped, and each still names its own orchestrating process as its worker (the
    # process holding its pool slots), never a Celery worker that merely executed a step.
    (a_from, a_to), (b_from, b_to) = (
        (min(s.start for s in mine), max(s.end for s in mine))
        for mine in ([s for s in steps if s.run_id == r] for r in run_ids)
    )
    assert a_from < b_to and b_from < a_to, "the two runs did not overlap"
    for identity in recorded:
        pid = int(identity.rsplit(":", 2)[1])
        assert all(pid not in tree for tree in trees), identity

    # Every step of both runs executed on a worker, and both workers executed some.
    plan = create_execution_plan(defs.resolve_job_def(JOB))
    assert len({(s.run_id, s.step) for s in steps}) == 2 * len(plan.step_keys_to_execute)
    for s in steps:
        assert s.pids and any(s.pids <= tree for tree in trees), (s.step, s.pids, trees)
    for tree in trees:
        assert any(s.pids <= tree for s in steps), "a worker executed no step"

    # The writer pool held: never more warehouse writers at once than its limit, across both runs.
    writers = [(s.start, s.end) for s in steps if s.step in pool_steps(case.pool)]
    assert len(writers) == 2 * len(pool_steps(case.pool))
    assert most_at_once(writers) <= case.pool_limit
    if case.pool_limit > 1:  # a pool of several writers is used: theirs overlapped
        assert most_at_once(writers) > 1, "the warehouse writers never ran at the same time"

    # Values one step hands the next went through the shared SPX_IO_DIR.
    for run_id in run_ids:
        handed = {p.parent.name for p in (Path(environ["SPX_IO_DIR"]) / run_id).glob("*/result")}
        assert "order_tickets.build_order_payloads" in handed, handed

    # Every stage of each run published once; every published row shown once, in the warehouse's
    # published views and in the analyst copy alike (a later run's row replaces an earlier run's
    # row of the same key, as the pipeline intends: one row per key, never two).
    assert sorted(case.publications(env, run_ids)) == sorted(
        (run, stage) for run in run_ids for stage in FULL_PIPELINE_STAGES
    )
    for stage in FULL_PIPELINE_STAGES:
        for table, _ in STAGES[stage]:
            rows = case.published(env, table)
            keys = [row[:-1] for row in rows]
            assert len(keys) == len(set(keys)), f"{table}: a key published twice"
            assert {row[-1] for row in rows} <= set(run_ids), table
            assert rows == analyst_published(env, table), f"{table}: analyst copy differs"
            if table in ("tradier_balances", "portfolio_snapshots"):
                for run_id in run_ids:
                    assert sum(row[-1] == run_id for row in rows) == len(env.accounts), (table, run_id)
            elif table != "sync_failures":
                assert rows, f"{table}: nothing published"


@contextlib.contextmanager
def two_runs(env: PipelineEnv, environ: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], list[str]]]:
    """Two run processes (each at its own instant), waiting; calling the yielded function starts
    both together and returns their run ids once both finished. Stopped by process group at exit."""
    go = tmp_path / "go"
    procs = []
    for i in range(2):
        now = (env.clock.now() + timedelta(seconds=i + 1)).isoformat()
        run_config = {"resources": {"clock": {"config": {"now": now}}}}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RUNNER, JOB, str(go), json.dumps(run_config)],
                env={**environ, "SPX_NOW": now},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )

    def start() -> list[str]:
        go.touch()
        outputs = [p.communicate(timeout=240) for p in procs]
        run_ids = []
        for (out, err), proc in zip(outputs, procs, strict=True):
            assert proc.returncode == 0, err[-3000:]
            [line] = [line for line in out.splitlines() if line.startswith("RESULT")]
            _, run_id, success = line.split()
            assert success == "True", err[-5000:]
            run_ids.append(run_id)
        assert run_ids[0] != run_ids[1]
        return run_ids

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def print_worker_logs(workers: list[GroupProcess]) -> None:
    for i, worker in enumerate(workers):
        print(f"--- celery worker {i} (pid {worker.pid}) ---\n{worker.output()[-4000:]}", file=sys.stderr)
