"""``spx-pipeline demo``: the README's first command, the whole pipeline on the embedded default."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

from spx_pipeline.cli.common import CliError, data_dir_option
from spx_pipeline.clock import NOW_VAR, parse_instant
from spx_pipeline.storage.analyst import AnalystPaths

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


@click.command()
@data_dir_option
@click.option("--no-preview", is_flag=True, help="build tickets without previewing them")
@click.option("--quiet", is_flag=True, help="hide Dagster's step-by-step log")
@click.option("--now", default=None, help=NOW_HELP)
def demo(data_dir: Path, no_preview: bool, quiet: bool, now: str | None) -> int:
    """Run the whole pipeline against the local Tradier server.

    Runs on the embedded default: no network, no broker account.

    Starts the local Tradier-compatible server on a free loopback port, prepares a local key
    (data/credentials.key), demo credentials (margin, cash, pdt) and setups, materializes every
    asset and the order tickets into the DuckDB warehouse, and prints a summary. No network, no
    broker account.
    """
    from spx_pipeline.demo import run_demo

    pin_clock(now)
    summary = run_demo(data_dir, preview=not no_preview, log_level="WARNING" if quiet else "INFO")
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
        f"  order tickets         {summary.tickets} ({summary.tickets_previewed} previewed ok, none placed)",
        f"  warehouse             {summary.warehouse_path}",
        "",
        f"Try:  {cli} db query recommendations_of_the_day{db_args}",
        f"      {store_env}{cli} credentials list",
        f"      {python} -c \"import duckdb; print(duckdb.connect('{catalog}', read_only=True)"
        ".sql('select * from portfolio_snapshots'))\"   # the analysts' copy: never blocks a run",
        f"      {cli} dev{dev_args}      # the same assets in the Dagster UI",
    ]
    click.echo("\n".join(lines))
    return 0 if summary.success else 1
