"""Pictures on the asset pages: PNG charts embedded in the metadata, drawn from published rows."""

from __future__ import annotations

import base64
import gc
import io
import re

import dagster as dg
import pytest
from PIL import Image

from spx_pipeline.defs.charts import PREFIX, equity_chart, outcomes_chart, pnl_chart, slippage_chart
from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations import chart_images
from spx_pipeline_tests.fixtures.pipeline import FullRun

DATA_URI = re.compile(r"^!\[(?P<title>[^\]]+)\]\(data:image/png;base64,(?P<png>[A-Za-z0-9+/=]+)\)$")


def picture(value: dg.MetadataValue) -> tuple[str, tuple[int, int]]:
    """The title and pixel size of a chart in the metadata (it must be a real PNG)."""
    assert isinstance(value, dg.MarkdownMetadataValue)
    found = DATA_URI.match(value.value)
    assert found, value.value[:120]
    image = Image.open(io.BytesIO(base64.b64decode(found["png"])))
    assert image.format == "PNG"
    return found["title"], image.size


def test_snapshots_and_recommendations_show_their_charts(shared_full_run: FullRun) -> None:
    title, size = picture(
        shared_full_run.materialization("portfolio_snapshots").metadata["equity_per_account"]
    )
    assert title == "Total equity per account" and size[0] > 300 and size[1] > 150
    recommendations = shared_full_run.materialization("contract_recommendations").metadata
    title, _ = picture(recommendations["tradable_vs_blocked_per_day"])
    assert title == "Tradable vs blocked per day"


def test_reconciliation_shows_the_slippage_chart_or_says_there_is_none(full_run: FullRun) -> None:
    reconciled = full_run.env.run("reconciliation_job")
    assert reconciled.success
    [shown] = [
        e.event_specific_data.materialization.metadata  # type: ignore[union-attr]
        for e in reconciled.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("execution_fidelity")
    ]
    assert shown["slippage_per_setup_and_leg"].value == "_no filled legs yet_"  # nothing was placed


def test_each_chart_draws_published_rows(chart_warehouse: Warehouse) -> None:
    for chart in (equity_chart, slippage_chart, outcomes_chart):
        [(name, value)] = chart(chart_warehouse).items()
        title, _ = picture(value)
        assert title, name


def test_pnl_chart_waits_for_published_trades(chart_warehouse: Warehouse) -> None:
    """``published.trades`` without realized P&L says so; with some, the chart is drawn."""
    with chart_warehouse.transaction() as tx:
        tx.con.execute(
            "CREATE OR REPLACE VIEW published.trades AS SELECT 's1' AS setup_id, 'VA1' AS account_id, "
            "DATE '2026-11-24' AS session_date, CAST(NULL AS DECIMAL(18,4)) AS realized_pnl WHERE false"
        )
    assert pnl_chart(chart_warehouse)["realized_pnl_per_setup"].value == "_no closed trades yet_"
    with chart_warehouse.transaction() as tx:
        tx.con.execute(
            "CREATE OR REPLACE VIEW published.trades AS SELECT 's1' AS setup_id, 'VA1' AS account_id, "
            "DATE '2026-11-24' AS session_date, CAST(120.5 AS DECIMAL(18,4)) AS realized_pnl"
        )
    title, _ = picture(pnl_chart(chart_warehouse)["realized_pnl_per_setup"])
    assert title == "Realized P&L per setup"


def test_charts_drawn_with_the_collector_paused_are_the_pictures_drawn_with_it_running(
    chart_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    render = chart_images._png
    monkeypatch.setattr(chart_images, "_png", lambda figure: seen.append(gc.isenabled()) or render(figure))
    assert gc.isenabled()
    shown = {**equity_chart(chart_warehouse), **outcomes_chart(chart_warehouse)}
    assert seen == [False, False]  # each picture rendered with the collector paused
    assert gc.isenabled()  # running again after each picture
    query = chart_warehouse.query

    def unpaused(chart, frame):  # type: ignore[no-untyped-def]
        figure, axes = chart_images._figure()
        chart.__wrapped__(axes, frame)  # the drawing alone, the collector left running
        return chart_images._png(figure)

    running = {  # the same drawings without the pause
        "equity_per_account": unpaused(chart_images.equity_png, chart_reads.equity_history(query, PREFIX)),
        "tradable_vs_blocked_per_day": unpaused(
            chart_images.outcomes_png, chart_reads.outcomes_per_day(query, PREFIX)
        ),
    }
    assert seen[2:] == [True, True]
    for name, png in running.items():
        found = DATA_URI.match(shown[name].value)
        assert found and png is not None and base64.b64decode(found["png"]) == png, name
    gc.disable()
    try:
        equity_chart(chart_warehouse)
        assert not gc.isenabled()  # a caller's own pause is left as it was
    finally:
        gc.enable()
