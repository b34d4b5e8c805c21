"""The pictures on the asset pages: published figures drawn as PNG charts in the metadata.

Per-materialization numbers go to the Plots tab (``total_equity_usd``, ``tradable``/``blocked``,
``median_entry_slippage_ticks``); what is not one number per run (an equity curve per account, a
slippage distribution, a count per day) is drawn here from the published rows, with the same
queries as the analysts' HTML report (``storage.chart_reads``).

Each picture is drawn with the cyclic collector paused (``collector_paused``): the first one in a run
process imports matplotlib, tens of thousands of new objects, and in a run process holding a sync's
objects the collections they triggered (~100 at 10,000 accounts) took ~0.25 s of the ~0.57 s CPU
the first chart cost. The figure's own cycles are collected when the collector runs again.
"""

from __future__ import annotations

import dagster as dg

from spx_pipeline.defs.display import chart_markdown
from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations import chart_images
from spx_pipeline.transformations.collector import collector_paused

PREFIX = chart_reads.WAREHOUSE_PREFIX


def equity_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``equity_per_account``: every published snapshot of the accounts with the most equity."""
    history = chart_reads.equity_history(wh.query, PREFIX)
    accounts = chart_reads.account_count(wh.query, PREFIX)
    title = "Total equity per account"
    if accounts > chart_reads.MAX_ACCOUNTS:
        title += f" (the {chart_reads.MAX_ACCOUNTS} largest of {accounts} accounts)"
    with collector_paused():
        png = chart_images.equity_png(history)
    return {"equity_per_account": chart_markdown(png, title=title, empty="no snapshots yet")}


def slippage_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``slippage_per_setup_and_leg``: the newest reading of every filled leg, in ticks."""
    fills = chart_reads.slippage_of_fills(wh.query, PREFIX)
    with collector_paused():
        png = chart_images.slippage_png(fills)
    return {
        "slippage_per_setup_and_leg": chart_markdown(
            png, title="Slippage per setup and leg (ticks, positive = adverse)", empty="no filled legs yet"
        )
    }


def outcomes_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``tradable_vs_blocked_per_day``: each day's newest recommendation run."""
    per_day = chart_reads.outcomes_per_day(wh.query, PREFIX)
    with collector_paused():
        png = chart_images.outcomes_png(per_day)
    return {
        "tradable_vs_blocked_per_day": chart_markdown(
            png, title="Tradable vs blocked per day", empty="no recommendations yet"
        )
    }


def pnl_chart(wh: Warehouse) -> dict[str, dg.MetadataValue]:
    """``realized_pnl_per_setup`` from ``published.trades`` (the trades table, when it is published)."""
    per_setup = chart_reads.realized_pnl_per_setup(wh.query, PREFIX)
    with collector_paused():
        png = chart_images.pnl_png(per_setup)
    return {
        "realized_pnl_per_setup": chart_markdown(
            png, title="Realized P&L per setup", empty="no closed trades yet"
        )
    }
