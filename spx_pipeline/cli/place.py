"""``spx-pipeline place``: plan and place an account's trades from the shell, as the placement job does.

The same code as ``place_order_tickets_job`` (``transformations.placement.execute_placement``),
with the environment's stores, key, broker host and clock (``SPX_NOW``), so a script gets exactly
what the job records. ``--dry-run`` prints the plan and the phrase; ``--confirm "PLACE n"`` sends
it. With ``--format json`` standard output holds only the JSON; errors go to standard error.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import click

from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.broker.tradier.hosts import base_url_for
from spx_pipeline.cli.common import CliError, db_url_option, open_app_db, operator_errors
from spx_pipeline.cli.keys import local_key
from spx_pipeline.cli.render import QueryResult, render
from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.domain.execution import PlacementRefused
from spx_pipeline.domain.trades.planning import PlacementCaps
from spx_pipeline.settings import Settings
from spx_pipeline.storage.app.credentials import CredentialStore
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseError
from spx_pipeline.transformations.placement import Choice, PlacementRun, execute_placement
from spx_pipeline.transformations.placement_view import PLAN_COLUMNS, plan_rows


@click.command(
    short_help="Plan (--dry-run) or place (--confirm 'PLACE n') an account's trades.",
)
@click.option("--account-id", required=True, help="the account whose live trades are placed")
@click.option("--dry-run", is_flag=True, help="print the plan and the confirmation phrase; send nothing")
@click.option("--confirm", default=None, metavar="'PLACE n'", help="the phrase the dry run printed")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("--max-orders", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="cap on opening orders (exits never count)")  # fmt: skip
@click.option("--max-opening-notional", type=float, default=25_000.0, show_default=True,
              help="cap on opening orders' limit x contracts x 100, dollars")  # fmt: skip
@db_url_option
def place(  # noqa: PLR0917 (click passes every option by position)
    account_id: str,
    dry_run: bool,
    confirm: str | None,
    fmt: str,
    max_orders: int,
    max_opening_notional: float,
    db_url: str | None,
) -> int:
    """Plan and place the account's trades: today's planned entries and the exits of what filled.

    \b
    Every order's tag is claimed in the app database before it is sent, so of two runs at the
    same moment one may refuse, but no tag is ever sent twice.
    \b
    Examples:
      spx-pipeline place --account-id VA00000001 --dry-run
      spx-pipeline place --account-id VA00000001 --confirm "PLACE 3" --format json
    """
    try:
        account = validate_account_id(account_id)
        caps = PlacementCaps(max_orders=max_orders, max_opening_notional=Decimal(str(max_opening_notional)))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not dry_run and confirm is None:
        raise CliError("give --dry-run to see the plan, or --confirm 'PLACE n' to send it")
    settings = Settings.from_env()
    key = local_key(db_url) or settings.read_credentials_key()
    appdb = open_app_db(db_url)
    with operator_errors():
        credentials = {c.account_id: c for c in CredentialStore(appdb, key=key).active_credentials()}
    warehouse = _warehouse()

    def client_for(acct: str) -> TradierClient:
        cred = credentials[acct]
        return TradierClient(
            cred.token, base_url=base_url_for(cred.environment, settings.tradier_base_url),
            allow_live=settings.allow_live.enabled,
        )  # fmt: skip

    try:
        run = execute_placement(
            appdb,
            warehouse,
            choice=Choice(account_id=account),
            client_for=client_for,
            live_accounts=frozenset(a for a, c in credentials.items() if c.environment == "live"),
            active_accounts=frozenset(credentials),
            allow_live=settings.allow_live.enabled,
            confirm=confirm,
            caps=caps,
            dry_run=dry_run,
            run_id=f"cli-{uuid.uuid4().hex[:16]}",
            now=settings.clock().now,
            day_trade_guard=settings.day_trade_guard,
        )
    except PlacementRefused as exc:
        raise CliError(f"nothing placed: {exc}") from None
    click.echo(_render(run, fmt, sent=not dry_run))
    return 0


def _warehouse() -> Warehouse | None:
    """The warehouse for ticket lookups and the analysts' copy; a placement goes on without it."""
    try:
        warehouse = Warehouse()
        warehouse.ensure_schema()
        return warehouse
    except WarehouseError as exc:
        click.echo(f"warehouse not available ({exc}); the next run copies this placement there", err=True)
        return None


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _render(run: PlacementRun, fmt: str, *, sent: bool) -> str:
    rows = plan_rows(run.rows, run.records if sent else None)
    if fmt == "json":
        orders = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
        return json.dumps({"confirm_phrase": run.phrase, "orders": orders}, indent=2)
    columns = [*PLAN_COLUMNS, *(["status"] if sent else [])]
    table = render(QueryResult(columns, [[row.get(c) for c in columns] for row in rows]), "table")
    total = sum((r.opening_notional for r in run.rows if str(r.action) == "place"), Decimal(0))
    verb = "sent" if sent else "to confirm"
    return f"{table}\nopening notional ${total:,.2f}; {verb}: {run.phrase}"
