"""``spx-pipeline positions``: acknowledge positions held outside the pipeline, for reconciliation."""

from __future__ import annotations

import click

from spx_pipeline.cli.common import CliError, db_url_option, open_app_db
from spx_pipeline.cli.render import FORMATS, QueryResult, render
from spx_pipeline.storage.app.acknowledgements import AcknowledgementError, AcknowledgementStore


@click.group()
def positions() -> None:
    """Positions held outside the pipeline's own fills.

    \b
    Reconciliation reports a position none of our fills explain as unexpected_at_broker (its check
    fails). When it is known and accepted (opened by hand, held from before), acknowledge it: it is
    then reported as acknowledged, for as long as the broker's quantity is the one acknowledged.
    \b
    Examples:
      spx-pipeline positions acknowledge --account-id VA00000003 --symbol SPXW261218P05800000 \\
          --quantity 1 --note "hedge opened by hand"
      spx-pipeline positions list
    """


@positions.command()
@click.option("--account-id", required=True, help="broker account number")
@click.option("--symbol", required=True, help="option symbol (Tradier, padded OSI or O: spelling)")
@click.option(
    "--quantity", required=True, type=int, help="contracts held outside the pipeline (negative: short)"
)
@click.option("--note", default="", help="why it is there")
@db_url_option
def acknowledge(account_id: str, symbol: str, quantity: int, note: str, db_url: str | None) -> int:
    """Accept a position as it is (reconciliation reports it as acknowledged, not unexpected)."""
    try:
        ack = AcknowledgementStore(open_app_db(db_url)).acknowledge(account_id, symbol, quantity, note=note)
    except AcknowledgementError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"acknowledged {ack.quantity} {ack.option_symbol} in {ack.account_id}: {ack.note}")
    return 0


@positions.command()
@click.option("--account-id", required=True, help="broker account number")
@click.option("--symbol", required=True, help="option symbol")
@db_url_option
def withdraw(account_id: str, symbol: str, db_url: str | None) -> int:
    """Stop accepting a position (it is a difference again until explained)."""
    try:
        removed = AcknowledgementStore(open_app_db(db_url)).withdraw(account_id, symbol)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not removed:
        raise CliError(f"no acknowledgement of {symbol} in {account_id}")
    click.echo(f"withdrew the acknowledgement of {symbol} in {account_id}")
    return 0


@positions.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@db_url_option
def list_acknowledged(fmt: str, db_url: str | None) -> int:
    """Every acknowledged position."""
    rows = AcknowledgementStore(open_app_db(db_url)).all()
    result = QueryResult(
        ["account_id", "option_symbol", "quantity", "note", "acknowledged_at"],
        [[a.account_id, a.option_symbol, a.quantity, a.note, a.acknowledged_at] for a in rows],
    )
    click.echo(render(result, fmt))
    return 0
