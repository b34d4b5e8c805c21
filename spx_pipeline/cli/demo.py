"""``spx-pipeline demo``: the README's first command, the whole pipeline on the embedded default."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from spx_pipeline.cli.common import CliError, data_dir_option
from spx_pipeline.clock import NOW_VAR, parse_instant
from spx_pipeline.storage.warehouse.analyst import AnalystPaths

if TYPE_CHECKING:
    from spx_pipeline.demo_execution import ExecutionSummary

NOW_HELP = (
    "pin the clock of the pipeline and the local Tradier server to this instant "
    f"(e.g. 2026-11-26T15:00:00-05:00; sets {NOW_VAR}); default: real time"
)


def pin_clock(now: str | None) -> None:
    """``--now`` becomes ``SPX_NOW`` so this process, its Dagster runs and the local server agree."""
    if not now:
        return
    try:
        parse_instant(now, name="--now")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    os.environ[NOW_VAR] = now.strip()


def venv_program(name: str) -> str:
    """How to call ``name`` from this virtualenv as typed in the current directory (``.venv/bin/...``).

    The "Try:" lines must work as printed: ``make demo`` does not activate the venv, so a bare
    ``spx-pipeline`` is usually not on PATH.
    """
    program = Path(sys.executable).parent / name
    try:
        return shlex.quote(str(program.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(program))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _execution_lines(execution: ExecutionSummary | None) -> list[str]:
    if execution is None:
        return []

    def ticks(value: object) -> str:
        return "n/a" if value is None else f"{value:+.2f}"

    counts = ", ".join(f"{status} {n}" for status, n in sorted(execution.reconciliation.items())) or "none"
    return [
        "",
        f"execution (session {execution.session})"
        + ("" if execution.success else " FAILED (see the log above)")
        + ":",
        f"  orders placed         {execution.orders_placed}",
        f"  legs filled           {execution.legs_filled}",
        f"  slippage, ticks       median {ticks(execution.median_slippage_ticks)}, "
        f"p90 {ticks(execution.p90_slippage_ticks)} (positive = adverse, against each ticket's price)",
        f"  reconciliation        {counts}",
    ]


@click.command()
@data_dir_option
@click.option("--no-preview", is_flag=True, help="build tickets without previewing them")
@click.option("--quiet", is_flag=True, help="hide Dagster's step-by-step log")
@click.option("--now", default=None, help=NOW_HELP)
@click.option(
    "--execute",
    is_flag=True,
    help=(
        "also place the tickets on the local server's simulated market (guarded job, confirmed), "
        "let them fill, place the exits, reconcile, and print fills, slippage and reconciliation"
    ),
)
def demo(data_dir: Path, no_preview: bool, quiet: bool, now: str | None, execute: bool) -> int:
    """Run the whole pipeline against the local Tradier server.

    Runs on the embedded default: no network, no broker account.

    Starts the local Tradier-compatible server on a free loopback port, prepares a local key
    (data/credentials.key), demo credentials (margin, cash, pdt) and setups, materializes every
    asset and the order tickets into the DuckDB warehouse, and prints a summary. No network, no
    broker account.
    """
    from spx_pipeline.demo import run_demo

    pin_clock(now)
    summary = run_demo(
        data_dir, preview=not no_preview, log_level="WARNING" if quiet else "INFO", execute=execute
    )
    status = "succeeded" if summary.success else "FAILED (see the log above)"
    cli, python = venv_program("spx-pipeline"), venv_program("python")
    catalog = _shown(AnalystPaths.for_warehouse(summary.warehouse_path).catalog)
    local = data_dir.resolve() == Path("data").resolve()
    here = data_dir.resolve()
    db_args = "" if local else f" --path {shlex.quote(str(summary.warehouse_path))}"
    store_env = (
        ""
        if local
        else (
            f"SPX_APP_DB_URL={shlex.quote('sqlite:///' + str(here / 'app.sqlite'))} "
            f"SPX_CREDENTIALS_KEY_FILE={shlex.quote(str(here / 'credentials.key'))} "
        )
    )
    dev_args = "" if local else f" --data-dir {shlex.quote(str(here))}"
    lines = [
        "",
        f"spx-pipeline demo {status}: run {summary.run_id}",
        f"  accounts synced       {summary.accounts_synced} (failed: {summary.accounts_failed})",
        f"  snapshot rows         {summary.snapshot_rows}",
        f"  option chain rows     {summary.chain_rows}",
        f"  recommendations       {summary.recommendations} ({summary.tradable_recommendations} tradable)",
        f"  order tickets         {summary.tickets} ({summary.tickets_previewed} previewed ok, "
        f"{'placed below' if execute else 'none placed'})",
        f"  warehouse             {summary.warehouse_path}",
        *_execution_lines(summary.execution),
        "",
        f"Try:  {cli} db query recommendations_of_the_day{db_args}",
        *([f"      {cli} db query fills_and_slippage_by_setup{db_args}"] if execute else []),
        f"      {store_env}{cli} credentials list",
        f"      {python} -c \"import duckdb; print(duckdb.connect('{catalog}', read_only=True)"
        ".sql('select * from portfolio_snapshots'))\"   # the analysts' copy: never blocks a run",
        f"      {cli} report{db_args}   # charts in one HTML file beside the warehouse, opens offline",
        f"      {cli} dev{dev_args}      # the same assets in the Dagster UI",
    ]
    click.echo("\n".join(lines))
    ok = summary.success and (summary.execution is None or summary.execution.success)
    return 0 if ok else 1
