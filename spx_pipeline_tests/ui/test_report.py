"""The analysts' HTML report in a real headless browser, after a demo that placed and filled orders.

Run by ``make ui-test``: ``spx-pipeline demo --execute`` (pinned to a session morning), then
``spx-pipeline report``; Chromium opens the file itself (``file://``, no server, nothing fetched)
and every chart must have drawn: an SVG with traces whose paths carry data, per chart (P&L per
setup when some exit filled, else its note).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.transformations.report import trades_available
from spx_pipeline_tests.fixtures.browser import headless_chromium
from spx_pipeline_tests.fixtures.processes import clean_cli_env
from spx_pipeline_tests.ui.conftest import UI_NOW

pytestmark = pytest.mark.ui

CHARTS = {"equity", "slippage", "outcomes"}  # P&L too when an exit filled; a note says when none did

# Per section: the chart's drawn traces and the data-carrying paths inside them, or its note.
DRAWN = """
return Array.from(document.querySelectorAll('[data-section]')).map(section => {
  const plot = section.querySelector('.js-plotly-plot');
  const note = section.querySelector('[data-note]');
  if (!plot) return {key: section.dataset.section, note: note ? note.textContent : null};
  const traces = plot.querySelectorAll('.main-svg g.trace');
  const paths = Array.from(plot.querySelectorAll('.main-svg g.trace path'))
    .filter(p => (p.getAttribute('d') || '').length > 10);
  return {key: section.dataset.section, data: (plot.data || []).length,
          traces: traces.length, paths: paths.length};
});
"""
FETCHED = "return performance.getEntriesByType('resource').map(e => e.name);"


def _cli(*argv: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "spx_pipeline.cli", *argv],
        check=False,
        env=clean_cli_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    _cli("demo", "--execute", "--quiet", "--data-dir", str(data), "--now", UI_NOW, cwd=root)
    out = _cli("report", "--path", str(data / "warehouse.duckdb"), cwd=root)
    assert "charts: equity, slippage, outcomes" in out, out
    return data / "warehouse_report.html"


def _realized_trades(report: Path) -> int:
    """Current trade versions with realized P&L in the analyst copy the report was drawn from."""
    catalog = AnalystCatalog(report.with_name("warehouse.duckdb"))
    if not trades_available(catalog):
        return 0
    return len(chart_reads.realized_pnl_per_setup(catalog.query, chart_reads.ANALYST_PREFIX))


def test_the_report_opens_offline_and_every_chart_drew(demo_report: Path) -> None:
    charts = CHARTS | ({"pnl"} if _realized_trades(demo_report) else set())
    with headless_chromium() as driver:
        driver.get(demo_report.as_uri())
        sections: list[dict[str, object]] = []
        for _ in range(120):  # plotly draws once the page has run its scripts
            sections = driver.execute_script(DRAWN)
            drawn = {s["key"] for s in sections if int(s.get("paths") or 0) > 0}  # type: ignore[call-overload]
            if drawn >= charts:
                break
            time.sleep(0.5)
        by_key = {s["key"]: s for s in sections}
        assert set(by_key) == {*CHARTS, "pnl"}, sections
        for key in charts:
            chart = by_key[key]
            assert chart["data"] and chart["traces"] and chart["paths"], chart  # drawn, with data
        if "pnl" not in charts:
            assert str(by_key["pnl"]["note"]).startswith("No closed trades yet"), by_key["pnl"]
        fetched = driver.execute_script(FETCHED)
        assert [name for name in fetched if not name.startswith(("file:", "data:"))] == []
        shots = demo_report.parent / "report.png"
        driver.save_screenshot(str(shots))
        print(f"\nreport screenshot: {shots}", file=sys.stderr)
