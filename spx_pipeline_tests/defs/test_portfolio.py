"""Portfolio sync end to end: Dagster → Tradier client → local Tradier server → DuckDB."""

from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.emulator import FaultConfig, demo_accounts
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory
from spx_pipeline_tests.fixtures.stores import both_backends


def _materialization(result: dg.ExecuteInProcessResult, asset: str) -> dg.AssetMaterialization:
    events = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.is_step_materialization and e.asset_key == dg.AssetKey(asset)
    ]
    assert len(events) == 1, asset
    return events[0]


@both_backends
def test_sync_writes_balances_and_validated_snapshots_for_every_account(pipeline_env: PipelineEnv) -> None:
    result = pipeline_env.run("portfolio_sync_job")
    assert result.success
    snaps = pipeline_env.warehouse().query("SELECT * FROM portfolio_snapshots ORDER BY account_id")
    assert list(snaps["account_id"]) == ["VA00000001", "VA00000002", "VA00000003"]
    by_id = snaps.set_index("account_id")
    # Buying power follows the account type: option BP for margin/pdt, settled cash for cash.
    emu = {a.account_id: a for a in demo_accounts()}
    assert (
        Decimal(str(by_id.loc["VA00000001", "option_buying_power"])) == emu["VA00000001"].option_buying_power
    )
    assert by_id.loc["VA00000002", "option_buying_power"] == pytest.approx(float(emu["VA00000002"].cash))
    assert by_id.loc["VA00000003", "day_trade_buying_power"] > 0
    assert bool(by_id.loc["VA00000003", "pdt_qualified"]) is True
    assert bool(by_id.loc["VA00000001", "pdt_qualified"]) is True  # margin with >= $25k equity
    assert set(snaps["run_id"]) == {result.run_id}
    assert str(snaps["captured_at"].dt.tz) == "UTC"
    raw = pipeline_env.warehouse().query("SELECT account_type, raw_json FROM tradier_balances")
    assert raw["raw_json"].str.contains('"account_type"').all()
    redacted = pipeline_env.warehouse().query("SELECT * FROM broker_credentials")
    assert len(redacted) == 3 and "token" not in redacted.columns
    mat = _materialization(result, "tradier_balances")
    assert mat.metadata["accounts_synced"].value == 3
    assert mat.metadata["accounts_failed"].value == 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["portfolio_snapshots_schema"] is True
    assert checks["every_active_account_synced"] is True
    assert checks["portfolio_snapshots_unique_keys"] is True


@both_backends
def test_rerunning_the_same_run_never_duplicates_rows(pipeline_env: PipelineEnv) -> None:
    first = pipeline_env.run("portfolio_sync_job")
    assert first.success
    # Re-execute the snapshot step of the same run (what "re-run from failure" does) twice.
    for _ in range(2):
        again = pipeline_env.defs.resolve_job_def("portfolio_sync_job").execute_in_process(
            instance=pipeline_env.instance,
            asset_selection=[dg.AssetKey("portfolio_snapshots")],
        )
        assert again.success
    assert pipeline_env.count("portfolio_snapshots") == 3
    assert pipeline_env.count("tradier_balances") == 3
    second = pipeline_env.run("portfolio_sync_job")
    assert second.success
    # A new run is a new capture time: history grows by one row per account, never more.
    assert pipeline_env.count("portfolio_snapshots") == 6
    dupes = pipeline_env.warehouse().query(
        "SELECT account_id, captured_at FROM portfolio_snapshots GROUP BY ALL HAVING count(*) > 1"
    )
    assert dupes.empty


def test_one_failing_account_does_not_block_the_others(pipeline_env_factory: PipelineEnvFactory) -> None:
    env = pipeline_env_factory(
        faults=FaultConfig(failing_accounts=frozenset({"VA00000002"}), failing_status=500)
    )
    result = env.run("portfolio_sync_job")
    assert result.success
    snaps = env.warehouse().query("SELECT account_id FROM portfolio_snapshots ORDER BY 1")
    assert list(snaps["account_id"]) == ["VA00000001", "VA00000003"]
    failures = env.warehouse().query("SELECT * FROM sync_failures")
    assert list(failures["account_id"]) == ["VA00000002"]
    assert failures["stage"].iloc[0] == "balances"
    assert failures["error_class"].iloc[0] == "TradierServerError"
    assert failures["http_status"].iloc[0] == 500
    mat = _materialization(result, "tradier_balances")
    assert mat.metadata["accounts_failed"].value == 1
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    warn = checks["every_active_account_synced"]
    assert warn.passed is False and warn.severity == dg.AssetCheckSeverity.WARN
    assert "VA00000002" in warn.metadata["missing"].value


def test_every_account_failing_fails_the_run_after_recording_why(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    ids = frozenset(a.account_id for a in demo_accounts())
    env = pipeline_env_factory(faults=FaultConfig(failing_accounts=ids, failing_status=401))
    result = env.run("portfolio_sync_job")
    assert not result.success
    failures = env.warehouse().query("SELECT account_id, error_class, http_status FROM sync_failures")
    assert sorted(failures["account_id"]) == sorted(ids)
    assert set(failures["error_class"]) == {"TradierAuthError"}
    assert env.count("portfolio_snapshots") == 0


def test_pandera_rejects_a_bad_row_and_keeps_the_good_ones(pipeline_env: PipelineEnv) -> None:
    assert pipeline_env.run("portfolio_sync_job").success
    wh = pipeline_env.warehouse()
    with wh.connect() as con:
        con.execute("UPDATE tradier_balances SET option_buying_power = -5 WHERE account_id = 'VA00000001'")
        con.execute("DELETE FROM portfolio_snapshots")
    result = pipeline_env.defs.resolve_job_def("portfolio_sync_job").execute_in_process(
        instance=pipeline_env.instance, asset_selection=[dg.AssetKey("portfolio_snapshots")]
    )
    assert result.success
    snaps = wh.query("SELECT account_id FROM portfolio_snapshots ORDER BY 1")
    assert list(snaps["account_id"]) == ["VA00000002", "VA00000003"]
    rejected = wh.query("SELECT * FROM sync_failures WHERE stage = 'snapshot_validation'")
    assert list(rejected["account_id"]) == ["VA00000001"]
    assert "option_buying_power" in rejected["message"].iloc[0]
    assert "-5" in rejected["message"].iloc[0]


def test_snapshot_schema_refuses_unknown_account_type_and_non_utc_naive_times() -> None:
    from pandera.errors import SchemaErrors

    from spx_pipeline.transformations.schemas import validate_snapshots

    row = {
        "account_id": "A1",
        "captured_at": pd.Timestamp("2026-11-24 15:00", tz="UTC"),
        "account_type": "margin",
        "environment": "sandbox",
        "total_equity": 1.0,
        "cash": 1.0,
        "option_buying_power": 1.0,
        "day_trade_buying_power": None,
        "pending_orders_count": 0,
        "pending_cash": 0.0,
        "pdt_qualified": False,
        "run_id": "r",
    }
    assert len(validate_snapshots(pd.DataFrame([row]))) == 1
    with pytest.raises(SchemaErrors, match="account_type"):
        validate_snapshots(pd.DataFrame([{**row, "account_type": "ira"}]))
    with pytest.raises(SchemaErrors, match="captured_at"):
        validate_snapshots(pd.DataFrame([{**row, "captured_at": pd.Timestamp("2026-11-24 15:00")}]))
    with pytest.raises(SchemaErrors, match="account_id"):
        validate_snapshots(pd.DataFrame([row, row]))
    with pytest.raises(SchemaErrors, match="finite"):
        validate_snapshots(pd.DataFrame([{**row, "total_equity": float("inf")}]))


def test_snapshots_also_land_in_the_app_database_without_duplicates(pipeline_env: PipelineEnv) -> None:
    from spx_pipeline.storage.app.snapshots import read_snapshots

    first = pipeline_env.run("portfolio_sync_job")
    assert first.success
    again = pipeline_env.defs.resolve_job_def("portfolio_sync_job").execute_in_process(
        instance=pipeline_env.instance, asset_selection=[dg.AssetKey("portfolio_snapshots")]
    )
    assert again.success
    app_rows = read_snapshots(pipeline_env.app_db())
    assert sorted(app_rows["account_id"]) == ["VA00000001", "VA00000002", "VA00000003"]
    assert set(app_rows["run_id"]) == {first.run_id}
    wh = pipeline_env.warehouse().query("SELECT account_id, option_buying_power FROM portfolio_snapshots")
    merged = app_rows.merge(wh, on="account_id", suffixes=("_app", "_wh"))
    assert (
        merged["option_buying_power_app"].astype(float) == merged["option_buying_power_wh"].astype(float)
    ).all()


def test_a_failed_app_db_write_takes_the_runs_warehouse_snapshots_back_out(pipeline_env: PipelineEnv) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pipeline_env.app_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE portfolio_snapshots RENAME TO portfolio_snapshots_moved"))
    engine.dispose()
    result = pipeline_env.run("portfolio_sync_job")
    assert not result.success
    assert pipeline_env.count("portfolio_snapshots") == 0  # neither store keeps a half-written sync
    assert pipeline_env.count("tradier_balances") == 3  # the fetched balances are kept for a re-run


def test_a_sensor_sync_of_one_account_does_not_make_the_others_look_missing(
    pipeline_env: PipelineEnv,
) -> None:
    from spx_pipeline.defs.portfolio.automation import sync_run_config

    assert pipeline_env.run("portfolio_sync_job").success
    partial = pipeline_env.run("portfolio_sync_job", sync_run_config(["VA00000001"]))
    assert partial.success
    checks = {e.check_name: e for e in partial.get_asset_check_evaluations()}
    assert checks["every_active_account_synced"].passed is True
    assert pipeline_env.count("portfolio_snapshots", "run_id = ?", [partial.run_id]) == 1


def test_a_run_that_fetched_no_balances_does_not_republish_an_older_sync(pipeline_env: PipelineEnv) -> None:
    from spx_pipeline.defs.portfolio.automation import sync_run_config

    first = pipeline_env.run("portfolio_sync_job")
    assert first.success
    nothing = pipeline_env.run("portfolio_sync_job", sync_run_config(["VA99999999"]))
    assert nothing.success
    mat = _materialization(nothing, "portfolio_snapshots")
    assert mat.metadata["rows_written"].value == 0
    assert mat.metadata["dagster/row_count"].value == 3  # the table's total
    assert pipeline_env.count("portfolio_snapshots") == 3
