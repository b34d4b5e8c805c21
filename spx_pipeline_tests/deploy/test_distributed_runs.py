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

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from spx_pipeline.local_cluster import celery_workers, redis_server
from spx_pipeline_tests.fixtures.distributed import (
    CASES,
    WarehouseCase,
    check_runs_on_workers,
    job_plan,
    print_worker_logs,
    two_runs,
)
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

pytestmark = [pytest.mark.distributed, pytest.mark.postgres, pytest.mark.slow]

WORKERS = 2


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
            two_runs(env, [environ, environ], tmp_path) as start,
            celery_workers(WORKERS, environ, tmp_path / "logs") as workers,
        ):
            try:
                run_ids = start()
                trees = [worker.tree() for worker in workers]
            except BaseException:
                print_worker_logs(workers)
                raise
    with dg.DagsterInstance.from_config(environ["DAGSTER_HOME"]) as instance:
        plan = job_plan(environ, case.pool)
        io_dir = Path(environ["SPX_IO_DIR"])
        check_runs_on_workers(env, instance, run_ids, trees=trees, case=case, plan=plan, io_dir=io_dir)
