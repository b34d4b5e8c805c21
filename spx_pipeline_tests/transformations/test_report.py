"""``spx-pipeline report``: one HTML file beside the warehouse, every chart embedded, nothing fetched;
P&L per setup from a ``trades`` relation when the analyst copy has one, a plain note otherwise."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.report import NO_TRADES, pnl_section, report_path, write_report

AT = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def test_the_report_embeds_every_chart_and_fetches_nothing(chart_warehouse: Warehouse) -> None:
    report = write_report(chart_warehouse.path, generated_at=AT)
    assert (
        report.path
        == report_path(chart_warehouse.path)
        == chart_warehouse.path.with_name("warehouse_report.html")
    )
    assert report.charts == ["equity", "slippage", "outcomes"]
    assert report.notes == ["pnl"]
    page = report.path.read_text(encoding="utf-8")
    assert len(page) > 1_000_000 and "Plotly.newPlot" in page  # plotly.js is inside the file
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import", page)  # nothing to fetch
    for key in report.charts:
        assert f'id="chart-{key}"' in page
    assert f'data-note="pnl">{NO_TRADES}' in page
    assert "2026-11-25 21:00:00 UTC" in page


def _catalog_with_trades(
    warehouse: Warehouse, tmp_path: Path, rows: list[tuple[object, ...]]
) -> AnalystCatalog:
    """A copy of the analyst catalog whose ``trades`` holds ``rows``: versions of trades, as the
    warehouse copies them from the app database (the highest version is a trade's state)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    other = tmp_path / "with_trades.duckdb"
    shutil.copy(AnalystCatalog(warehouse.path).catalog_path, tmp_path / "with_trades_analyst.duckdb")
    con = duckdb.connect(str(tmp_path / "with_trades_analyst.duckdb"))
    try:
        con.execute("DROP VIEW IF EXISTS trades")
        con.execute(
            "CREATE TABLE trades (trade_id VARCHAR, version INTEGER, setup_id VARCHAR, account_id VARCHAR, "
            "session_date DATE, realized_pnl DECIMAL(18,4))"
        )
        for row in rows:
            con.execute("INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?)", row)
    finally:
        con.close()
    return AnalystCatalog(other)


def test_pnl_per_setup_is_drawn_from_each_trades_current_version(
    chart_warehouse: Warehouse, tmp_path: Path
) -> None:
    day = date(2026, 11, 24)
    rows = [
        ("a", 1, "s1", "VA1", day, None),  # planned, entered...
        ("a", 2, "s1", "VA1", day, "40.00"),  # T1 filled
        ("a", 3, "s1", "VA1", day, "120.50"),  # closed: this version counts, not the earlier ones
        ("b", 1, "s1", "VA2", day, "-20.50"),
        ("c", 1, "s2", "VA1", day, "-35"),
        ("d", 1, "s2", "VA1", day, None),  # still open: no realized P&L yet
    ]
    section = pnl_section(_catalog_with_trades(chart_warehouse, tmp_path, rows))
    assert section.figure is not None and section.note is None
    [bar] = section.figure.data
    assert list(bar.x) == ["s1", "s2"] and list(bar.y) == [100.0, -35.0]
    empty = pnl_section(_catalog_with_trades(chart_warehouse, tmp_path / "none", []))
    assert empty.figure is None and empty.note == f"{NO_TRADES}."


def test_report_verb_writes_beside_the_warehouse_and_says_which_charts(
    chart_warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--path", str(chart_warehouse.path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == (
        f"report written: {report_path(chart_warehouse.path)} "
        "(charts: equity, slippage, outcomes; no data yet for pnl)"
    )


def test_report_without_an_analyst_copy_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--path", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no published data yet" in err[0]
    assert not (tmp_path / "none_report.html").exists()
