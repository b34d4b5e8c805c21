"""The README's first command: the whole pipeline on the embedded default, then analysts' queries."""

import os
import re
from pathlib import Path

import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.app.credentials import generate_key
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse, query_names

ENV = (
    "SPX_APP_DB_URL",
    "SPX_WAREHOUSE_PATH",
    "SPX_CREDENTIALS_KEY",
    "SPX_CREDENTIALS_KEY_FILE",
    "DAGSTER_HOME",
    "TRADIER_BASE_URL",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_runs_end_to_end_and_analyst_queries_run_on_its_warehouse(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stores the environment points at are an operator's real ones: the demo never writes them.
    production_db = tmp_path / "production.sqlite"
    monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{production_db}")
    monkeypatch.setenv("SPX_WAREHOUSE_PATH", str(tmp_path / "production.duckdb"))
    monkeypatch.setenv("SPX_CREDENTIALS_KEY", generate_key())
    data = tmp_path / "data"
    assert main(["demo", "--data-dir", str(data), "--quiet"]) == 0
    assert not production_db.exists()
    assert not (tmp_path / "production.duckdb").exists()
    out = capsys.readouterr().out
    assert "demo succeeded" in out
    assert "accounts synced       4 (failed: 0)" in out
    assert (data / "credentials.key").stat().st_mode & 0o077 == 0  # key file is private
    warehouse = Warehouse(data / "warehouse.duckdb")
    assert warehouse.row_count("portfolio_snapshots") == 4
    assert warehouse.row_count("order_tickets") > 0
    # The small margin account (under $25k) shows the 0DTE policy at work.
    small = warehouse.query(
        "SELECT blocked, blocked_reason, sizing_reason FROM contract_recommendations "
        "WHERE account_id = 'VA00000004'"
    )
    assert not small["blocked"].any() and small["blocked_reason"].isna().all()  # NULL when tradable
    assert small["sizing_reason"].str.contains("not PDT-qualified").all()
    executed = {"fills_and_slippage_by_setup", "execution_quality_by_hour", "open_reconciliation_differences"}
    executed |= {"blocked_reasons_by_day"}  # empty when the demo's session blocks nothing
    executed |= {"pnl_by_setup", "pnl_by_account"}  # no trade closes without demo --execute
    catalog = AnalystCatalog(data / "warehouse.duckdb")  # where `db query` runs them
    for name in query_names():
        frame = catalog.named_query(name)  # every query runs on the plain demo's analyst copy
        assert len(frame) > 0 or name in executed, name  # execution queries fill with demo --execute
    latest = catalog.named_query("latest_snapshot_per_account")
    assert sorted(latest["account_id"]) == ["VA00000001", "VA00000002", "VA00000003", "VA00000004"]
    # The Dagster run is recorded in the persistent local instance under data/.
    assert (data / "dagster_home" / "dagster.yaml").exists()
    assert any((data / "dagster_home").rglob("*.db"))
    # ... as a run of the code location (its job's page lists it; re-execution is from its snapshot).
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        [run] = instance.get_runs(limit=1)
        assert run.job_name == "full_pipeline_job" and run.remote_job_origin is not None
        assert run.remote_job_origin.repository_origin.get_label() == "__repository__@spx_pipeline"

    # Running it again adds a new snapshot per account and duplicates nothing else.
    assert main(["demo", "--data-dir", str(data), "--quiet"]) == 0
    assert warehouse.row_count("portfolio_snapshots") == 8
    assert warehouse.row_count("broker_credentials") == 4
    assert len(catalog.named_query("latest_snapshot_per_account")) == 4
    assert "TRADIER_BASE_URL" not in os.environ  # the local server's URL does not leak out


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_execute_places_fills_and_reconciles_offline(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SPX_NOW", raising=False)
    data = tmp_path / "data"
    # The README's sequence: the plain demo, then the execution (which runs the pipeline once more).
    assert main(["demo", "--data-dir", str(data), "--quiet", "--now", "2026-11-24T10:25:00-05:00"]) == 0
    assert (
        main(["demo", "--data-dir", str(data), "--quiet", "--execute", "--now", "2026-11-24T10:30:00-05:00"])
        == 0
    )
    out = capsys.readouterr().out
    assert "execution (session 2026-11-24):" in out
    placed = re.search(r"orders placed\s+(\d+)", out)
    assert placed and int(placed.group(1)) > 0
    warehouse = Warehouse(data / "warehouse.duckdb")
    assert warehouse.row_count("order_placements") > 0 and warehouse.row_count("execution_fidelity") > 0
    statuses = set(warehouse.query("SELECT DISTINCT status FROM position_reconciliation")["status"])
    # Ours match; the positions the demo accounts hold from before are acknowledged, not unexplained.
    assert "matched" in statuses and "acknowledged" in statuses and "unexpected_at_broker" not in statuses
    # Each trade entered once; its exits cover what filled, never the plan (no 2-lot T1 on a 1-lot fill).
    app = AppDatabase(f"sqlite:///{data / 'app.sqlite'}")
    store = TradeStore(app)
    trades = store.trades()
    assert trades and len({(t.account_id, t.plan.setup_id, t.plan.session) for t in trades}) == len(trades)
    for trade_id, orders in store.orders([t.trade_id for t in trades]).items():
        entries = [o for o in orders if o.leg == "entry" and o.broker is not None]
        assert len(entries) <= 1, trade_id
        filled = sum(o.broker.open_filled for o in entries)  # type: ignore[union-attr]
        for exit_order in (o for o in orders if o.leg != "entry"):
            assert exit_order.quantity <= filled, (trade_id, exit_order.tag, exit_order.quantity, filled)
    app.dispose()
    # Every asset check the demo's runs evaluated is green.
    import dagster as dg

    latest: dict[tuple[str, str], bool] = {}
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        for run in reversed(instance.get_runs()):
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
                evaluation = entry.dagster_event.event_specific_data  # type: ignore[union-attr]
                latest[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
    assert latest and [key for key, passed in latest.items() if not passed] == []
    for name in ("fills_and_slippage_by_setup", "execution_quality_by_hour", "trades", "trade_events"):
        assert len(AnalystCatalog(data / "warehouse.duckdb").named_query(name)) > 0, name


@pytest.mark.parametrize(
    ("now", "replayed"),
    [
        ("2026-12-06T04:24:00-05:00", "2026-12-04T10:00:00-05:00"),  # Sunday night: Friday's morning
        ("2026-12-07T08:00:00-05:00", "2026-12-04T10:00:00-05:00"),  # Monday before the open
        ("2026-12-07T16:30:00-05:00", "2026-12-07T10:00:00-05:00"),  # Monday after the close
        ("2026-12-07T11:15:00-05:00", "2026-12-07T11:15:00-05:00"),  # in the session: now
        ("2026-11-27T15:00:00-05:00", "2026-11-27T10:00:00-05:00"),  # after the early close
    ],
)
def test_demo_execute_never_writes_ahead_of_the_clock(now: str, replayed: str) -> None:
    from spx_pipeline.clock import parse_instant
    from spx_pipeline.demo_execution import demo_morning

    moment = demo_morning(parse_instant(now))
    assert moment == parse_instant(replayed)
    assert moment <= parse_instant(now)
