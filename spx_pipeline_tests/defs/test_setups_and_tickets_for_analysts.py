"""What an analyst asks of a pipeline run with `db query`: the setups it sized (stop, T1, priority)
and the session's tickets with their ids, in the analyst copy."""

from __future__ import annotations

from decimal import Decimal

from spx_pipeline.demo import DEMO_SETUPS
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import read_named_query
from spx_pipeline_tests.fixtures.pipeline import FullRun

TICKET_COLUMNS = {
    "ticket_id",
    "setup_id",
    "account_id",
    "leg",
    "option_symbol",
    "side",
    "quantity",
    "price",
    "stop_price",
}


def test_setups_are_published_by_every_run_and_listed_with_stop_t1_and_priority(full_run: FullRun) -> None:
    catalog = AnalystCatalog(full_run.env.warehouse_path)
    setups = catalog.named_query("setups")
    assert sorted(setups["setup_id"]) == sorted(str(s["setup_id"]) for s in DEMO_SETUPS)
    assert setups["t1_gain_percent"].tolist() == [50.0, 50.0]  # percentages, not 0.5000
    bull = setups.set_index("setup_id").loc["demo-bull-040"]
    assert Decimal(str(bull["runner_stop_limit_offset"])) == Decimal("0.10")
    assert setups["run_id"].unique().tolist() == [full_run.result.run_id]
    checks = {e.check_name: e.passed for e in full_run.result.get_asset_check_evaluations()}
    assert checks["spx_setups_unique_keys"] is True
    full_run.env.run("full_pipeline_job")  # a second run keeps the first run's copy
    assert len(catalog.query("SELECT * FROM spx_setups")) == 2 * len(DEMO_SETUPS)
    assert len(catalog.named_query("setups")) == len(DEMO_SETUPS)


def test_tickets_query_lists_the_sessions_legs_with_their_ids(shared_full_run: FullRun) -> None:
    tickets = AnalystCatalog(shared_full_run.env.warehouse_path).named_query("tickets")
    assert len(tickets) == shared_full_run.env.warehouse().row_count("order_tickets") > 0
    assert set(tickets.columns) >= TICKET_COLUMNS
    assert tickets["ticket_id"].is_unique and tickets["ticket_id"].notna().all()
    assert set(tickets["leg"]) <= {"entry", "t1", "runner_stop"}


def test_the_fills_query_says_it_covers_every_leg() -> None:
    header = read_named_query("fills_and_slippage_by_setup").splitlines()[0]
    assert header.startswith("-- Fills and their slippage per setup and leg (entry, t1, runner_stop)")
