"""``spx-pipeline report``: the analysts' charts as one HTML file beside the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from spx_pipeline.cli.common import operator_errors
from spx_pipeline.clock import clock_from_env
from spx_pipeline.storage.paths import warehouse_path

_PATH_HELP = "the warehouse's DuckDB file (default: $SPX_WAREHOUSE_PATH or data/warehouse.duckdb)"


@click.command()
@click.option("--path", default=None, help=_PATH_HELP)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where to write the HTML (default: beside the warehouse, e.g. data/warehouse_report.html)",
)
def report(path: str | None, output: Path | None) -> int:
    """Write the charts (equity per account, slippage per setup and leg, tradable vs blocked per
    day, P&L per setup) from the published analyst copy into one self-contained HTML file.

    \b
    It opens offline in any browser: plotly.js is inside the file, nothing is fetched.
    Examples:
      spx-pipeline report                      # data/warehouse_report.html
      spx-pipeline report --output /tmp/spx.html
    """
    from spx_pipeline.transformations.report import write_report  # plotly loads only for this verb

    with operator_errors():
        written = write_report(warehouse_path(path), generated_at=clock_from_env().now(), output=output)
    drawn = ", ".join(written.charts) or "none"
    waiting = f"; no data yet for {', '.join(written.notes)}" if written.notes else ""
    click.echo(f"report written: {written.path} (charts: {drawn}{waiting})")
    return 0
