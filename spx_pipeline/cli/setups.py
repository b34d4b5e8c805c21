"""``spx-pipeline setups``: the trade setups every scheduled recommendation run sizes."""

from __future__ import annotations

import click

from spx_pipeline.cli.common import db_url_option, open_app_db, open_existing_app_db, operator_errors
from spx_pipeline.cli.render import align_columns
from spx_pipeline.domain.money import percent_text
from spx_pipeline.storage.app.setups import DIRECTIONS, STATUSES, SetupStore


@click.group()
def setups() -> None:
    """Trade setups sized by the recommendation job.

    Every active setup is sized for every active account.

    \b
    Examples:
      spx-pipeline setups add --direction bullish --id pop --target-delta 0.35 --stop-premium 2.50
      spx-pipeline setups list --status active
      spx-pipeline setups deactivate pop
    """


@setups.command("add")
@click.option("--direction", required=True, type=click.Choice(DIRECTIONS))
@click.option("--id", "setup_id", default=None, help="setup id (default: generated setup-<hex>)")
@click.option("--label", default=None, help="free text shown in listings")
@click.option("--symbol", default="SPX", show_default=True, help="SPX or SPXW")
@click.option("--target-delta", type=float, default=0.40, show_default=True, help="absolute delta")
@click.option("--stop-premium", default=None, help="option premium at which the stop triggers")
@click.option("--t1-gain-pct", default="0.5", show_default=True, help="T1 target gain as a fraction")
@click.option("--t1-fraction", default="0.5", show_default=True, help="share of contracts sold at T1")
@click.option("--runner-stop-limit-offset", default=None, help="runner stop-limit offset")
@click.option(
    "--priority",
    type=int,
    default=0,
    show_default=True,
    help="order in which setups share an account's risk budget: lower first, ties by id",
)
@db_url_option
def add(db_url: str | None, **fields: object) -> int:
    """Store a new active setup."""
    store = SetupStore(open_app_db(db_url))
    with operator_errors():
        record = store.add(**fields)  # type: ignore[arg-type]
    click.echo(
        f"added setup {record.id} ({record.direction} {record.symbol}, delta {record.target_delta:g}, "
        f"priority {record.priority})"
    )
    return 0


def _text(value: object) -> str:
    return "" if value is None else str(value)


@setups.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="only setups with this status")
@db_url_option
def list_(status: str | None, db_url: str | None) -> int:
    """List setups."""
    store = SetupStore(open_existing_app_db(db_url))
    with operator_errors():
        records = store.list(status=status)
    if not records:
        click.echo("no setups; add one with `spx-pipeline setups add --direction bullish`")
        return 0
    header = ("id", "label", "symbol", "direction", "delta", "stop", "t1 gain", "t1 frac", "runner")
    header = (*header, "priority", "status")
    rows = [
        (
            r.id,
            _text(r.label),
            r.symbol,
            r.direction,
            f"{r.target_delta:g}",
            _text(r.stop_premium),
            percent_text(r.t1_gain_pct),
            percent_text(r.t1_fraction),
            _text(r.runner_stop_limit_offset),
            str(r.priority),
            r.status,
        )
        for r in records
    ]
    click.echo(align_columns(header, rows))
    return 0


def _set_status(setup_id: str, db_url: str | None, status: str) -> int:
    store = SetupStore(open_app_db(db_url))
    with operator_errors():
        changed = store.set_status(setup_id, status)
    click.echo(f"setup {setup_id} {'is now' if changed else 'was already'} {status}")
    return 0


@setups.command("deactivate")
@click.argument("setup_id", metavar="ID")
@db_url_option
def deactivate(setup_id: str, db_url: str | None) -> int:
    """Stop sizing a setup."""
    return _set_status(setup_id, db_url, "inactive")


@setups.command("activate")
@click.argument("setup_id", metavar="ID")
@db_url_option
def activate(setup_id: str, db_url: str | None) -> int:
    """Resume sizing a setup."""
    return _set_status(setup_id, db_url, "active")
