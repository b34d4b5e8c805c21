"""The pictures on the asset pages: published figures drawn as PNG charts in the metadata.

Per-materialization numbers go to the Plots tab (``total_equity_usd``, ``tradable``/``blocked``,
``median_entry_slippage_ticks``); what is not one number per run (an equity curve per account, a
slippage distribution, a count per day) is drawn here from the published rows, with the same
queries as the analysts' HTML report (``storage.chart_reads``).
"""

from __future__ import annotations

import dagster as dg

from spx_pipeline.defs.display import chart_markdown
from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations import chart_images

PREFIX = chart_reads.WAREHOUSE_PREFIX


def equity_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``equity_per_account``: every published snapshot of the accounts with the most equity."""
    history = chart_reads.equity_history(wh.query, PREFIX)
    accounts = chart_reads.account_count(wh.query, PREFIX)
    title = "Total equity per account"
    if accounts > chart_reads.MAX_ACCOUNTS:
        title += f" (the {chart_reads.MAX_ACCOUNTS} largest of {accounts} accounts)"
    png = chart_images.equity_png(history)
    return {"equity_per_account": chart_markdown(png, title=title, empty="no snapshots yet")}


def slippage_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``slippage_per_setup_and_leg``: the newest reading of every filled leg, in ticks."""
    png = chart_images.slippage_png(chart_reads.slippage_of_fills(wh.query, PREFIX))
    return {
        "slippage_per_setup_and_leg": chart_markdown(
            png, title="Slippage per setup and leg (ticks, positive = adverse)", empty="no filled legs yet"
        )
    }


def outcomes_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``tradable_vs_blocked_per_day``: each day's newest recommendation run."""
    png = chart_images.outcomes_png(chart_reads.outcomes_per_day(wh.query, PREFIX))
    return {
        "tradable_vs_blocked_per_day": chart_markdown(
            png, title="Tradable vs blocked per day", empty="no recommendations yet"
        )
    }


def pnl_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``realized_pnl_per_setup`` from ``published.trades`` (the trades table, when it is published)."""
    png = chart_images.pnl_png(chart_reads.realized_pnl_per_setup(wh.query, PREFIX))
    return {
        "realized_pnl_per_setup": chart_markdown(
            png, title="Realized P&L per setup", empty="no closed trades yet"
        )
    }
