"""Orders group: order tickets built by ops that reuse the OCC, sizing and order-payload modules."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import dagster as dg
import pandas as pd

from spx_pipeline.broker.tradier import AccountCredential, OrderPreview, TradierClient, TradierError
from spx_pipeline.defs.common import OWNERS, table_schema_metadata
from spx_pipeline.defs.display import PREVIEW_ROWS, preview_markdown, row_counts
from spx_pipeline.defs.run_config import CheckedConfig
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.app.credentials import StoredCredential
from spx_pipeline.storage.warehouse.trade_mirror import copy_trades, read_app_trades
from spx_pipeline.transformations.collector import collector_paused
from spx_pipeline.transformations.ticket_rows import TicketBatch
from spx_pipeline.transformations.tickets import (
    PLANNING_COLUMNS,
    PreviewAsk,
    plan_trades,
    preview_tickets,
    recommendations_for_tickets,
)


class Leg(StrEnum):
    """The legs a preview may ask about; an enum in the config schema, so the Launchpad checks it."""

    entry = "entry"
    t1 = "t1"
    runner_stop = "runner_stop"


LEGS = tuple(leg.value for leg in Leg)


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    description=(
        "Rows of the newest recommendations run for today and active accounts (blocked ones too), "
        "in the columns planning reads."
    ),
)
def load_tradable_recommendations(
    context: dg.OpExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> pd.DataFrame:
    active = app_db.credential_listing().active_account_ids()
    now = clock.run_time(context)
    day = trading_day(now)
    frame = recommendations_for_tickets(
        warehouse.warehouse(),
        trading_day=day,
        active_accounts=active,
        as_of=now,
        prefer_run_id=context.run.run_id,
        columns=PLANNING_COLUMNS,
    )
    tradable = int((~frame["blocked"].astype(bool)).sum()) if len(frame) else 0
    context.log.info(f"{len(frame)} recommendation(s) for {day.isoformat()}, {tradable} tradable")
    return frame


@dg.op(
    description=(
        "Plans each tradable recommendation's trade in the app database (one per account x setup x "
        "session; frozen once its entry is claimed) and builds the tickets of the placeable ones."
    )
)
def build_order_payloads(
    context: dg.OpExecutionContext,
    recommendations: pd.DataFrame,
    app_db: AppDatabaseResource,
    clock: ClockResource,
) -> TicketBatch:
    setups = {record.id: record.to_domain() for record in app_db.setup_store().active()}
    now = clock.run_time(context)
    with collector_paused():
        planning = plan_trades(
            app_db.trade_store(),
            recommendations,
            setups,
            trading_day=trading_day(now),
            run_id=context.run.run_id,
            created_at=now,
        )
    for setup_id, account_id, reason in planning.skipped:
        context.log.warning(f"No ticket for setup {setup_id} / account {account_id}: {reason}")
    context.log.info(
        f"Trades: {planning.count('born')} born, {planning.count('replanned')} re-planned, "
        f"{planning.count('unchanged')} unchanged, {planning.count('frozen')} frozen (sent: untouched)"
    )
    return planning.tickets


def _previews_with_own_tokens(
    tradier: TradierResource, credentials: Mapping[str, StoredCredential]
) -> PreviewAsk:
    """Previews each account's payloads with its own token, the accounts concurrently (the pool,
    rate limits and redaction of the broker reads); an account without a credential is left out."""

    def ask(payloads: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
        accounts = [
            AccountCredential(account, credentials[account].token, credentials[account].environment)
            for account in payloads
            if account in credentials
        ]

        def each(client: TradierClient, account: str) -> list[OrderPreview | TradierError]:
            answers: list[OrderPreview | TradierError] = []
            for payload in payloads[account]:
                try:
                    answers.append(client.preview_order(account, payload))
                except TradierError as exc:  # refused: recorded with its ticket
                    answers.append(exc)
            return answers

        found = tradier.fetch_each(accounts, each)
        return {r.account_id: r.value if r.error is None else r.error for r in found}

    return ask


class PreviewConfig(CheckedConfig):
    """Preview asks Tradier to price and validate (preview=true); it never places an order.

    Only the entry leg is previewed by default: T1 and the runner stop close a position that does
    not exist until the entry fills, so a broker would refuse to preview them today.
    """

    preview: bool = True
    legs: list[Leg] = ["entry"]  # noqa: RUF012 (pydantic copies defaults)


@dg.op(
    description=(
        "Optionally preview each chosen leg against the broker with the account's own token; "
        "nothing previewed: no output (the store step takes the built tickets)."
    )
)
def preview_order_payloads(
    context: dg.OpExecutionContext,
    config: PreviewConfig,
    tickets: TicketBatch,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
) -> pd.DataFrame | None:
    """The previewed tickets as rows, or None when nothing was previewed (the store step then makes
    the rows of the batch in the warehouse: no Python object per ticket)."""
    unknown = set(config.legs) - set(LEGS)
    if unknown:
        raise dg.Failure(description=f"PreviewConfig.legs has unknown leg(s) {sorted(unknown)}; use {LEGS}")
    if not config.preview or tickets.empty:
        return None
    credentials = {c.account_id: c for c in app_db.credential_store().active_credentials(verify=False)}
    ask = _previews_with_own_tokens(tradier, credentials)
    previewed = preview_tickets(tickets.frame(), ask, legs=config.legs)
    counts = previewed["preview_status"].value_counts().to_dict()
    context.log.info(f"Preview outcomes: {counts}")
    return previewed


@dg.op(
    pool=WAREHOUSE_POOL,
    # Nothing to hand on: the tickets live in the warehouse, so no IO manager pickles a copy (and
    # the asset's page shows no pickle path next to the table).
    out=dg.Out(dg.Nothing),
    description="Store tickets in order_tickets (idempotent by ticket id); copy the trades to the warehouse.",
)
def store_order_tickets(
    context: dg.OpExecutionContext,
    built: TicketBatch,
    previewed: pd.DataFrame | None,
    warehouse: WarehouseResource,
    app_db: AppDatabaseResource,
    clock: ClockResource,
) -> None:
    """The tickets and the trades' copy go in one transaction: one commit, one analyst-copy check.
    The tickets are written while the copy reads the trades it lacks from the app database (a file
    or a server; an in-memory SQLite database is read after them).

    Unpreviewed tickets are made in the warehouse from the batch's trades and shape legs; previewed
    ones are written as the rows the preview filled in.
    """
    wh, appdb, now = warehouse.warehouse(), app_db.database(), clock.run_time(context)
    with collector_paused():
        app = read_app_trades(appdb, now=now)
        with wh.transaction() as tx:

            def write_tickets() -> None:  # while the trades' copy reads the app database
                if previewed is None:
                    tx.replace_rows_from_query("order_tickets", *built.sql())
                else:
                    tx.replace_rows("order_tickets", previewed)
                tx.publish_self_contained_runs("order_tickets", [built.run_id] if len(built) else [])

            copied = copy_trades(tx, appdb, app, run_id=context.run.run_id, now=now, alongside=write_tickets)
            shown = tx.query(
                "SELECT ticket_id, trade_id, setup_id, account_id, leg, option_symbol, side, order_type, "
                "quantity, price, stop_price, preview_status FROM order_tickets WHERE run_id = ? "
                "ORDER BY setup_id, account_id, array_position(['entry', 't1', 'runner_stop'], leg) "
                f"LIMIT {PREVIEW_ROWS}",
                [built.run_id],
            )
            previewed_ok = int(
                tx.query(
                    "SELECT count(*) AS n FROM order_tickets WHERE run_id = ? AND preview_status = 'ok'",
                    [built.run_id],
                )["n"].iloc[0]
            )
    context.add_output_metadata(
        {
            **row_counts(wh, "order_tickets", len(built)),
            "previewed_ok": dg.MetadataValue.int(previewed_ok),
            "trade_versions_copied": dg.MetadataValue.int(copied.trade_versions),
            "preview": preview_markdown(shown, money=("price", "stop_price"), total=len(built)),
        }
    )


@dg.graph_asset(
    group_name="orders",
    owners=OWNERS,
    kinds={"tradier", "duckdb"},
    ins={"contract_recommendations": dg.AssetIn(dagster_type=dg.Nothing)},
    description=(
        "Order tickets for every unblocked recommendation: Tradier form payloads for the entry, T1 scale "
        "and runner stop, optionally previewed (preview=true, cost and commission stored). Never placed."
    ),
    metadata=table_schema_metadata("order_tickets"),
)
def order_tickets(contract_recommendations: None) -> None:
    tickets = build_order_payloads(load_tradable_recommendations(contract_recommendations))
    return store_order_tickets(tickets, preview_order_payloads(tickets))
