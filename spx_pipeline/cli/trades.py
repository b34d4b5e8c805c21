"""``spx-pipeline trades``: the app database's trades for a trader (table) or a script (JSON, CSV)."""

from __future__ import annotations

from datetime import date

import click

from spx_pipeline.cli.common import CliError, db_url_option, open_app_db
from spx_pipeline.cli.render import FORMATS, QueryResult, render
from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.storage.app.trades import TradeStore

COLUMNS = [
    "trade_id", "account_id", "setup_id", "session", "state", "option_symbol", "planned_quantity",
    "filled_quantity", "entry_price", "risk_committed", "realized_pnl",
]  # fmt: skip


@click.group()
def trades() -> None:
    """Trades: one per account x setup x session, from plan to close.

    \b
    Examples:
      spx-pipeline trades list
      spx-pipeline trades list --account-id VA00000001 --session 2026-11-24 --format json
    """


@trades.command("list")
@click.option("--account-id", default=None, help="only this account's trades")
@click.option(
    "--session", "session_text", default=None, metavar="YYYY-MM-DD", help="only this session's trades"
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@db_url_option
def list_trades(account_id: str | None, session_text: str | None, fmt: str, db_url: str | None) -> int:
    """Trades with their state, fills, committed risk and realized P&L."""
    session = None
    if session_text is not None:
        try:
            session = date.fromisoformat(session_text.strip())
        except ValueError:
            raise CliError(f"--session {session_text!r} is not a date (YYYY-MM-DD)") from None
    accounts = None
    if account_id is not None:
        try:
            accounts = [validate_account_id(account_id)]
        except ValueError as exc:
            raise CliError(f"--account-id: {exc}") from None
    found = TradeStore(open_app_db(db_url)).trades(session=session, account_ids=accounts)
    rows = [
        [
            t.trade_id,
            t.account_id,
            t.plan.setup_id,
            t.plan.session,
            str(t.state),
            t.plan.option_symbol,
            t.plan.planned_quantity,
            t.filled_quantity,
            t.entry_price,
            t.risk_committed,
            t.realized_pnl,
        ]
        for t in sorted(found, key=lambda t: (t.plan.session, t.account_id, t.plan.setup_id))
    ]
    click.echo(render(QueryResult(COLUMNS, rows), fmt))
    return 0
