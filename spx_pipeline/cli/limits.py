"""``spx-pipeline limits``: per-account risk limits every run applies (run config may only lower them)."""

from __future__ import annotations

from decimal import Decimal

import click

from spx_pipeline.cli.common import CliError, db_url_option, open_app_db
from spx_pipeline.cli.render import FORMATS, QueryResult, render
from spx_pipeline.storage.app.limits import LimitError, LimitStore


@click.group()
def limits() -> None:
    """Per-account risk limits, stored in the app database and applied by every run.

    \b
    Examples:
      spx-pipeline limits set --account-id VA00000001 --max-daily-risk 3000 --max-trade-risk 1000
      spx-pipeline limits list --format json
    """


@limits.command("set")
@click.option("--account-id", required=True, help="broker account number")
@click.option(
    "--max-daily-risk", required=True, metavar="DOLLARS", help="risk budget of the account per session"
)
@click.option(
    "--max-trade-risk", default=None, metavar="DOLLARS", help="maximum risk of one trade (kept if omitted)"
)
@db_url_option
def set_limits(account_id: str, max_daily_risk: str, max_trade_risk: str | None, db_url: str | None) -> int:
    """Store an account's daily (and per-trade) risk limit; they apply to every later run."""
    store = LimitStore(open_app_db(db_url))
    try:
        saved = store.set(
            account_id, max_daily_risk=_money(max_daily_risk), max_trade_risk=_money(max_trade_risk)
        )
    except LimitError as exc:
        raise CliError(str(exc)) from exc
    trade = "unchanged (none)" if saved.max_trade_risk is None else f"${saved.max_trade_risk:,.2f}"
    click.echo(f"{saved.account_id}: max daily risk ${saved.max_daily_risk:,.2f}, max trade risk {trade}")
    return 0


def _money(text: str | None) -> str | None:
    if text is None:
        return None
    return text.strip().replace(",", "").removeprefix("$")


@limits.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@db_url_option
def list_limits(fmt: str, db_url: str | None) -> int:
    """Every account's stored limits."""
    rows = LimitStore(open_app_db(db_url)).all().values()
    result = QueryResult(
        ["account_id", "max_daily_risk", "max_trade_risk", "updated_at"],
        [[r.account_id, _dec(r.max_daily_risk), _dec(r.max_trade_risk), r.updated_at] for r in rows],
    )
    click.echo(render(result, fmt))
    return 0


def _dec(value: Decimal | None) -> Decimal | None:
    return value
