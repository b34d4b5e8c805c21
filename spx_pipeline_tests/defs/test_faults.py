"""Broker faults, failed writes and missing tables in full ``portfolio_sync_job`` runs.

Every fault goes through the local Tradier server's fault injection, so the real client (retries,
timeouts, rate-limit headers) meets it. The promise under test: healthy accounts are synced, each
failure is recorded in ``sync_failures`` with its reason, retries stay bounded, the run says what
happened, and no write leaves a partial result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

import spx_pipeline.storage.warehouse.writes as warehouse_module
from spx_pipeline.definitions import build_definitions
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, RequestRecord, demo_accounts
from spx_pipeline.resources import TradierResource
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory
from spx_pipeline_tests.fixtures.runs import wait_for

ACCOUNTS = [a.account_id for a in demo_accounts()]
MARGIN, CASH, PDT = ACCOUNTS
# Long enough that a healthy answer never times out on a loaded machine; every injected stall
# (STALL) lasts well past it.
READ_TIMEOUT = 1.0
STALL = 1.5
MAX_ATTEMPTS = 3


def run_sync(
    env: PipelineEnv, *, job: str = "portfolio_sync_job", max_attempts: int = MAX_ATTEMPTS, **selection: Any
) -> dg.ExecuteInProcessResult:
    """Run with a short client read timeout and few tries per read, so faults cost a few seconds."""
    tradier = TradierResource(
        base_url=env.emulator.base_url,
        max_workers=8,
        read_timeout_seconds=READ_TIMEOUT,
        max_attempts=max_attempts,
    )
    defs = build_definitions({**env.resources(), "tradier": tradier})
    return env.execute(defs, job, raise_on_error=False, **selection)


def balances_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    # The step materializes sync_failures too; these are the balances' own figures.
    events = [
        e
        for e in result.asset_materializations_for_node("tradier_balances")
        if e.asset_key == dg.AssetKey("tradier_balances")
    ]
    assert len(events) == 1
    return {k: v.value for k, v in events[0].metadata.items()}


def failures(env: PipelineEnv, run_id: str) -> list[tuple[Any, ...]]:
    frame = env.warehouse().query(
        "SELECT account_id, stage, error_class, http_status, message FROM sync_failures "
        "WHERE run_id = ? ORDER BY account_id",
        [run_id],
    )
    return [tuple(row) for row in frame.itertuples(index=False)]


def balance_log(env: PipelineEnv) -> list[RequestRecord]:
    return [r for r in env.emulator.request_log() if r.path.endswith("/balances")]


def balance_requests(env: PipelineEnv, account_id: str) -> int:
    return env.emulator.request_count(f"/v1/accounts/{account_id}/balances")


def fast_window_env(factory: PipelineEnvFactory, faults: FaultConfig) -> PipelineEnv:
    """A 1 s rate-limit window, so a 429's X-Ratelimit-Expiry is near and the client waits it out."""
    config = EmulatorConfig(accounts=demo_accounts(), faults=faults, rate_limit_window_seconds=1.0)
    return factory(emulator_config=config)


TRANSIENT = FaultConfig(
    burst_429=1, fail_5xx=1, timeouts=1, timeout_seconds=STALL, resets=1, path_prefix="/v1/accounts"
)


def test_transient_faults_are_retried_and_every_account_synced(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    """A 429 burst (with rate-limit headers), a 503, a timeout and a reset in one sync.

    Five tries per read, so even an account that meets all four faults gets through; a real
    broker mixes faults too.
    """
    env = fast_window_env(pipeline_env_factory, TRANSIENT)
    result = run_sync(env, max_attempts=5)
    assert result.success
    assert set(env.emulator.faults_remaining().values()) == {0}
    assert env.count("tradier_balances", "run_id = ?", [result.run_id]) == 3
    assert env.count("portfolio_snapshots", "run_id = ?", [result.run_id]) == 3
    assert failures(env, result.run_id) == []
    # Exactly one retry per injected fault: bounded, and nothing re-sent after a success. A timed-out
    # request is logged by the server only when its stalled handler finishes, so wait for that.
    wait_for(lambda: len(balance_log(env)) >= 3 + 4, 60, "every balance request logged")
    env.emulator.wait_until_answered()
    log = balance_log(env)
    assert sorted(str(r.fault) for r in log if r.fault) == ["burst_429", "fail_5xx", "reset", "timeout"]
    assert len(log) == 3 + 4
    assert sorted(r.path for r in log if r.status == 200 and not r.fault) == sorted(
        f"/v1/accounts/{a}/balances" for a in ACCOUNTS
    )
    # The 429 carried X-Ratelimit-* headers; its token waited for the window, then succeeded once.
    [throttled] = [r for r in log if r.status == 429]
    answered = [r for r in log if r.status == 200 and not r.fault]
    [after] = [r for r in answered if r.token_fingerprint == throttled.token_fingerprint]
    assert after.started_at > throttled.started_at
    meta = balances_metadata(result)
    assert (meta["accounts_synced"], meta["accounts_failed"]) == (3, 0)


# A fault that never clears, per account. Resets take the same retry path as timeouts (both
# transport errors) and are covered in the transient test above.
PERSISTENT = [
    pytest.param(
        FaultConfig(failing_accounts=frozenset({CASH}), failing_status=401),
        "TradierAuthError",
        401,
        1,  # a rejected token is never retried
        id="401",
    ),
    pytest.param(
        FaultConfig(failing_accounts=frozenset({CASH}), failing_status=500),
        "TradierServerError",
        500,
        MAX_ATTEMPTS,
        id="500",
    ),
    pytest.param(
        FaultConfig(timeouts=50, timeout_seconds=STALL, path_prefix=f"/v1/accounts/{CASH}"),
        "TradierTimeoutError",
        None,
        MAX_ATTEMPTS,
        id="timeout",
    ),
    pytest.param(
        FaultConfig(malformed=50, path_prefix=f"/v1/accounts/{CASH}"),
        "TradierMalformedResponseError",
        200,
        1,  # a broken body is not a transient fault: no retry
        id="malformed-json",
    ),
]


@pytest.mark.parametrize(("faults", "error_class", "http_status", "attempts"), PERSISTENT)
def test_one_failing_account_is_recorded_and_the_others_synced(
    pipeline_env_factory: PipelineEnvFactory,
    faults: FaultConfig,
    error_class: str,
    http_status: int | None,
    attempts: int,
) -> None:
    env = pipeline_env_factory(faults=faults)
    result = run_sync(env)
    assert result.success, "one failing account must not fail the run"
    synced = env.warehouse().query(
        "SELECT account_id FROM portfolio_snapshots WHERE run_id = ? ORDER BY account_id", [result.run_id]
    )
    assert list(synced["account_id"]) == [MARGIN, PDT]
    [(account, stage, cls, status, message)] = failures(env, result.run_id)
    assert (account, stage, cls) == (CASH, "balances", error_class)
    assert (None if pd.isna(status) else int(status)) == http_status
    assert f"/accounts/{CASH}/balances" in message
    # A timed-out try is logged when the server's stalled handler gives up, after the run may have
    # ended: wait for the tries the policy allows, then for the server to finish answering.
    wait_for(lambda: balance_requests(env, CASH) >= attempts, 60, f"{attempts} balance request(s) for {CASH}")
    env.emulator.wait_until_answered()
    assert balance_requests(env, CASH) == attempts
    assert balance_requests(env, MARGIN) == balance_requests(env, PDT) == 1
    meta = balances_metadata(result)
    assert (meta["accounts_requested"], meta["accounts_synced"], meta["accounts_failed"]) == (3, 2, 1)
    assert CASH in meta["failures"] and error_class in meta["failures"]
    [check] = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "every_active_account_synced"
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["missing"].value == CASH


def test_every_account_failing_fails_the_run_and_says_why(pipeline_env_factory: PipelineEnvFactory) -> None:
    env = pipeline_env_factory(faults=FaultConfig(failing_accounts=frozenset(ACCOUNTS), failing_status=401))
    result = run_sync(env)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "tradier_balances"
    assert "No account synced: all 3 failed" in str(failure.event_specific_data.error)
    assert [row[0] for row in failures(env, result.run_id)] == ACCOUNTS
    assert env.count("portfolio_snapshots") == 0


def _failing_insert(table: str, *, after_insert: bool) -> Callable[..., None]:
    original = warehouse_module._insert

    def insert(con: duckdb.DuckDBPyConnection, name: str, *args: Any, **kwargs: Any) -> None:
        if name == table:
            if after_insert:
                original(con, name, *args, **kwargs)
            raise duckdb.IOException(f"injected failure writing {name}")
        original(con, name, *args, **kwargs)

    return insert


def snapshot_keys(env: PipelineEnv) -> tuple[int, int]:
    frame = env.warehouse().query(
        "SELECT count(*) AS n, count(DISTINCT (account_id, captured_at)) AS k FROM portfolio_snapshots"
    )
    return int(frame["n"].iloc[0]), int(frame["k"].iloc[0])


def test_a_write_failing_midway_leaves_no_partial_rows_and_a_rerun_has_no_duplicates(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_sync(pipeline_env)
    assert first.success and snapshot_keys(pipeline_env) == (3, 3)

    # Second run: the snapshot insert succeeds inside the transaction, then the write fails.
    monkeypatch.setattr(
        warehouse_module, "_insert", _failing_insert("portfolio_snapshots", after_insert=True)
    )
    second = run_sync(pipeline_env)
    assert not second.success
    [failure] = [e for e in second.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "portfolio_snapshots"
    assert "rolled back" in str(failure.event_specific_data.error)
    assert pipeline_env.count("tradier_balances", "run_id = ?", [second.run_id]) == 3
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [second.run_id]) == 0
    assert snapshot_keys(pipeline_env) == (3, 3)

    # Re-running the failed step (the asset alone picks the newest balances) completes once.
    monkeypatch.undo()
    only_snapshots = {"asset_selection": [dg.AssetKey("portfolio_snapshots")]}
    assert run_sync(pipeline_env, **only_snapshots).success
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [second.run_id]) == 3
    assert snapshot_keys(pipeline_env) == (6, 6)

    # A replacement that fails after deleting the old rows restores them: the table is as it was.
    monkeypatch.setattr(
        warehouse_module, "_insert", _failing_insert("portfolio_snapshots", after_insert=False)
    )
    assert not run_sync(pipeline_env, **only_snapshots).success
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [second.run_id]) == 3
    assert snapshot_keys(pipeline_env) == (6, 6)


def test_an_empty_warehouse_and_missing_tables_are_created_by_the_run(pipeline_env: PipelineEnv) -> None:
    duckdb.connect(str(pipeline_env.warehouse_path)).close()  # the file exists and holds nothing
    first = run_sync(pipeline_env)
    assert first.success
    con = duckdb.connect(str(pipeline_env.warehouse_path))
    con.execute("DROP TABLE portfolio_snapshots")
    con.execute("DROP TABLE sync_failures")
    con.close()
    result = run_sync(pipeline_env)
    assert result.success
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [result.run_id]) == 3  # recreated, written
    # The lost history came back from the app database (the system of record) by the run's repair.
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [first.run_id]) == 3
    assert pipeline_env.count("sync_failures") == 0


def test_an_app_db_missing_migrations_is_migrated_by_the_run(pipeline_env: PipelineEnv) -> None:
    engine = sa.create_engine(pipeline_env.app_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE spx_setup_instances")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version IN (3, 4, 5)")
    assert pipeline_env.app_db().pending()[:2] == [
        "0003_spx_setup_instances.sql",
        "0004_setup_execution_fidelity.sql",
    ]
    result = run_sync(pipeline_env)
    assert result.success
    assert pipeline_env.app_db().pending() == []
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("spx_setup_instances")
    engine.dispose()
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [result.run_id]) == 3
