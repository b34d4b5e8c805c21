"""The repository's ``dagster.yaml`` yields a working Dagster instance on PostgreSQL.

The file is copied as it stands into a temporary DAGSTER_HOME and pointed by its DAGSTER_PG_*
variables at a throwaway database; ``portfolio_sync_job`` then runs through that instance and its
run, materializations and check results are read back from PostgreSQL (by a second instance and
by plain SQL), the way the webserver and daemon of a deployment would see them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._serdes import serialize_value

from spx_pipeline.emulator import FaultConfig, demo_accounts
from spx_pipeline_tests.fixtures.pipeline import PipelineEnvFactory

pytestmark = pytest.mark.postgres

SYNC_ASSETS = ("broker_credentials", "tradier_balances", "sync_failures", "portfolio_snapshots")


@pytest.fixture
def pg_instance(pg_dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    # from_config, not get(): other fixtures (instance_for_test) repoint DAGSTER_HOME while active.
    with dg.DagsterInstance.from_config(str(pg_dagster_home)) as instance:
        yield instance


def test_repository_dagster_yaml_configures_postgres_storage_and_the_warehouse_pool(
    pg_instance: dg.DagsterInstance,
) -> None:
    assert type(pg_instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(pg_instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(pg_instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(pg_instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    concurrency = pg_instance.get_concurrency_config()
    # The duckdb_warehouse pool (every warehouse writer) gets the default limit of one step at a time.
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity.value == "op"
    assert concurrency.run_queue_config.max_concurrent_runs == 4


def test_dagster_home_alone_finds_the_yaml(pg_dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:  # what dagster-webserver / dagster-daemon do
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"


def test_unset_password_variable_is_refused_with_its_name(
    pg_dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(Exception, match="DAGSTER_PG_PASSWORD"):
        dg.DagsterInstance.get()


@pytest.mark.slow
@pytest.mark.e2e
def test_portfolio_sync_runs_through_the_postgres_instance_and_reads_back(
    pg_instance: dg.DagsterInstance,
    pg_dagster_home: Path,
    pg_database_url: str,
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    env = pipeline_env_factory()
    job = env.defs.resolve_job_def("portfolio_sync_job")
    result = job.execute_in_process(instance=pg_instance, raise_on_error=False)
    assert result.success
    assert env.count("portfolio_snapshots", "run_id = ?", [result.run_id]) == 3

    # A second instance from the same dagster.yaml sees everything: it lives in PostgreSQL.
    with dg.DagsterInstance.from_config(str(pg_dagster_home)) as reader:
        [record] = reader.get_run_records(dg.RunsFilter(run_ids=[result.run_id]))
        assert record.dagster_run.job_name == "portfolio_sync_job"
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        for asset in SYNC_ASSETS:
            events = reader.fetch_materializations(dg.AssetKey(asset), limit=10).records
            assert [e.run_id for e in events] == [result.run_id], asset
        rows = reader.fetch_materializations(dg.AssetKey("portfolio_snapshots"), limit=1).records
        metadata = rows[0].asset_materialization.metadata  # type: ignore[union-attr]
        assert metadata["dagster/row_count"].value == 3
        checks = reader.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        evaluations = {r.event_log_entry.dagster_event.event_specific_data.check_name: r for r in checks}
        assert set(evaluations) == {
            "broker_credentials_match_app_database",
            "tradier_balances_accounts_accounted_for",
            "sync_failures_have_reasons",
            "portfolio_snapshots_schema",
            "portfolio_snapshots_fresh",
            "every_active_account_synced",
            "portfolio_snapshots_unique_keys",
        }
        assert all(r.event_log_entry.dagster_event.event_specific_data.passed for r in checks)

    # And plainly, in the tables dagster-postgres created in the test database.
    engine = sa.create_engine(pg_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM runs WHERE run_id = :r"), {"r": result.run_id}
            ).scalar()
            == 1
        )
        kinds = dict(
            conn.execute(
                sa.text(
                    "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = :r "
                    "GROUP BY dagster_event_type"
                ),
                {"r": result.run_id},
            ).all()
        )
    engine.dispose()
    assert kinds[dg.DagsterEventType.ASSET_MATERIALIZATION.value] == len(SYNC_ASSETS)
    assert kinds[dg.DagsterEventType.ASSET_CHECK_EVALUATION.value] == 7  # every check of the sync's assets
    assert kinds[dg.DagsterEventType.RUN_SUCCESS.value] == 1  # stored as PIPELINE_SUCCESS
    # Nothing fell back to SQLite files in DAGSTER_HOME.
    assert not list(pg_dagster_home.rglob("*.db"))
    assert env.key not in serialize_value(record.dagster_run)


@pytest.mark.slow
@pytest.mark.e2e
def test_a_planted_token_never_reaches_the_postgres_event_log(
    pg_instance: dg.DagsterInstance,
    pg_dagster_home: Path,
    pg_database_url: str,
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    planted = f"PLANTED-tok-{uuid.uuid4().hex}"
    accounts = [
        dataclasses.replace(a, token=planted) if a.account_id == "VA00000002" else a for a in demo_accounts()
    ]
    env = pipeline_env_factory(accounts=accounts)
    job = env.defs.resolve_job_def("portfolio_sync_job")
    assert job.execute_in_process(instance=pg_instance).success
    env.emulator.set_faults(FaultConfig(failing_accounts=frozenset({"VA00000002"}), failing_status=401))
    failed = job.execute_in_process(instance=pg_instance, raise_on_error=False)
    assert env.count("sync_failures", "run_id = ? AND account_id = 'VA00000002'", [failed.run_id]) == 1

    engine = sa.create_engine(pg_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        tables = (
            conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            )
            .scalars()
            .all()
        )
        assert {"runs", "event_logs"} <= set(tables)
        for table in tables:
            # Every column of every row, as text: the token must not be stored anywhere.
            hits = conn.execute(
                sa.text(f'SELECT count(*) FROM "{table}" AS t WHERE strpos(t::text, :needle) > 0'),
                {"needle": planted.rsplit("-", 1)[1]},
            ).scalar()
            assert hits == 0, f"planted token found in Postgres table {table}"
        events = conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar()
    engine.dispose()
    assert events and events > 20
    for path in (p for p in pg_dagster_home.rglob("*") if p.is_file()):
        assert planted.encode() not in path.read_bytes(), path


def test_run_monitoring_is_configured_in_both_instance_yamls(
    pg_instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    from spx_pipeline.demo import write_local_instance_yaml

    write_local_instance_yaml(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as local:
        for instance in (pg_instance, local):
            settings = instance.run_monitoring_settings
            assert instance.run_monitoring_enabled
            assert settings["max_runtime_seconds"] == 3600
            assert 0 < settings["free_slots_after_run_end_seconds"] <= 30
            assert instance.run_monitoring_start_timeout_seconds == 180
        assert local.get_concurrency_config().pool_config.default_pool_limit == 1


def test_an_older_local_instance_yaml_is_brought_up_to_date_and_a_hand_written_one_kept(
    tmp_path: Path,
) -> None:
    from spx_pipeline.demo import LOCAL_INSTANCE_HEADER, LOCAL_INSTANCE_YAML, write_local_instance_yaml

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    (ours / "dagster.yaml").write_text(
        f"{LOCAL_INSTANCE_HEADER}\nconcurrency:\n  pools:\n    default_limit: 1\n"
    )
    (theirs / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_local_instance_yaml(ours)
    write_local_instance_yaml(theirs)
    assert (ours / "dagster.yaml").read_text() == LOCAL_INSTANCE_YAML
    assert (theirs / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
