"""What each asset's page shows after a run: row counts, readable previews, numbers to plot."""

from __future__ import annotations

import re
from decimal import Decimal

import dagster as dg

from spx_pipeline_tests.fixtures.pipeline import FullRun

ASSETS = (
    "broker_credentials",
    "tradier_balances",
    "sync_failures",
    "portfolio_snapshots",
    "spx_option_chain",
    "contract_recommendations",
    "order_tickets",
)


def test_every_materialization_says_rows_written_and_the_tables_total(shared_full_run: FullRun) -> None:
    wh = shared_full_run.env.warehouse()
    for asset in ASSETS:
        metadata = shared_full_run.materialization(asset).metadata
        assert isinstance(metadata["rows_written"], dg.IntMetadataValue), asset
        assert metadata["dagster/row_count"].value == wh.row_count(asset), asset
    assert shared_full_run.materialization("portfolio_snapshots").metadata["rows_written"].value == 3


def test_order_tickets_page_shows_no_pickle_path(shared_full_run: FullRun) -> None:
    metadata = shared_full_run.materialization("order_tickets").metadata
    assert "path" not in metadata
    assert not any("storage" in str(value.value) for value in metadata.values())


def test_previews_read_as_money_and_dates_without_nan_or_long_floats(shared_full_run: FullRun) -> None:
    texts = {
        asset: "\n".join(
            str(value.value)
            for value in shared_full_run.materialization(asset).metadata.values()
            if isinstance(value, dg.MarkdownMetadataValue)
        )
        for asset in ASSETS
    }
    everything = "\n".join(texts.values())
    assert "nan" not in everything.lower().replace("financ", "")
    assert "00:00:00" not in everything
    assert not re.search(r"\d\.\d{5,}", everything)  # no float noise such as 0.030835652999940066
    assert re.search(r"\| \$\d{1,3}(,\d{3})*\.\d\d ", texts["portfolio_snapshots"])
    assert re.search(r"\| \$\d+\.\d\d ", texts["order_tickets"])
    assert re.search(r"\| 20\d\d-\d\d-\d\d ", texts["spx_option_chain"])  # expirations as dates
    seconds = shared_full_run.materialization("tradier_balances").metadata["fetch_seconds_max"].value
    assert seconds == round(seconds, 3)


def test_plots_get_numbers_and_money_totals_are_exact(shared_full_run: FullRun) -> None:
    snapshots = shared_full_run.materialization("portfolio_snapshots").metadata
    rows = shared_full_run.env.warehouse().query(
        "SELECT CAST(sum(total_equity) AS VARCHAR) AS equity, "
        "CAST(sum(option_buying_power) AS VARCHAR) AS obp FROM portfolio_snapshots"
    )
    # The Plots tab draws the numbers; people read the same totals as money, as in the previews.
    assert isinstance(snapshots["total_equity_usd"], dg.FloatMetadataValue)
    assert snapshots["total_equity_usd"].value == float(Decimal(rows["equity"].iloc[0]))
    assert snapshots["total_option_buying_power_usd"].value == float(Decimal(rows["obp"].iloc[0]))
    for name in ("total_equity", "total_option_buying_power"):
        assert isinstance(snapshots[name], dg.TextMetadataValue), name
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", snapshots[name].value), snapshots[name].value
    assert snapshots["total_equity"].value == f"${Decimal(rows['equity'].iloc[0]):,.2f}"
    balances = shared_full_run.materialization("tradier_balances").metadata
    assert (balances["accounts_synced"].value, balances["accounts_failed"].value) == (3, 0)
    recommendations = shared_full_run.materialization("contract_recommendations").metadata
    assert isinstance(recommendations["tradable"], dg.IntMetadataValue)
    assert recommendations["tradable"].value + recommendations["blocked"].value == (
        recommendations["rows_written"].value
    )
    spread = shared_full_run.materialization("spx_option_chain").metadata["median_spread"]
    assert isinstance(spread, dg.FloatMetadataValue) and 0 < spread.value < 5
