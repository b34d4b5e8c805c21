"""Orders group: order tickets built by ops that reuse the OCC, sizing and order-payload modules."""

import dagster as dg
import pandas as pd

from spx_pipeline.defs.common import OWNERS, table_schema_metadata
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.transformations.tickets import build_tickets, preview_tickets, tradable_recommendations

LEGS = ("entry", "t1", "runner_stop")


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    description="Unblocked, sized rows of the newest recommendations run, for today and active accounts.",
)
def load_tradable_recommendations(
    context: dg.OpExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> pd.DataFrame:
    active = [c.account_id for c in app_db.credential_listing().list() if c.is_active]
    day = trading_day(clock.run_time(context))
    frame = tradable_recommendations(warehouse.warehouse(), trading_day=day, active_accounts=active)
    context.log.info(f"{len(frame)} tradable recommendation(s) for {day.isoformat()}")
    return frame


@dg.op(description="Entry (buy_to_open limit), T1 (sell_to_close limit) and runner stop payloads.")
def build_order_payloads(
    context: dg.OpExecutionContext,
    recommendations: pd.DataFrame,
    app_db: AppDatabaseResource,
    clock: ClockResource,
) -> pd.DataFrame:
    setups = {record.id: record.to_domain() for record in app_db.setup_store().active()}
    built = build_tickets(
        recommendations, setups, run_id=context.run.run_id, created_at=clock.run_time(context)
    )
    for setup_id, account_id, reason in built.skipped:
        context.log.warning(f"No ticket for setup {setup_id} / account {account_id}: {reason}")
    return built.tickets


class PreviewConfig(dg.Config):
    """Preview asks Tradier to price and validate (preview=true); it never places an order.

    Only the entry leg is previewed by default: T1 and the runner stop close a position that does
    not exist until the entry fills, so a broker would refuse to preview them today.
    """

    preview: bool = True
    legs: list[str] = ["entry"]  # noqa: RUF012 (pydantic copies defaults)


@dg.op(description="Optionally preview each chosen leg against the broker with the account's own token.")
def preview_order_payloads(
    context: dg.OpExecutionContext,
    config: PreviewConfig,
    tickets: pd.DataFrame,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
) -> pd.DataFrame:
    unknown = set(config.legs) - set(LEGS)
    if unknown:
        raise dg.Failure(description=f"PreviewConfig.legs has unknown leg(s) {sorted(unknown)}; use {LEGS}")
    if not config.preview or tickets.empty:
        return tickets
    credentials = {c.account_id: c for c in app_db.credential_store().active_credentials(verify=False)}
    clients = {
        account: tradier.client(cred.token, cred.environment)
        for account, cred in credentials.items()
        if account in set(tickets["account_id"])
    }
    try:
        previewers = {account: client.preview_order for account, client in clients.items()}
        previewed = preview_tickets(tickets, previewers, legs=config.legs)
    finally:
        for client in clients.values():
            client.close()
    counts = previewed["preview_status"].value_counts().to_dict()
    context.log.info(f"Preview outcomes: {counts}")
    return previewed


@dg.op(
    pool=WAREHOUSE_POOL,
    # Nothing to hand on: the tickets live in the warehouse, so no IO manager pickles a copy (and
    # the asset's page shows no pickle path next to the table).
    out=dg.Out(dg.Nothing),
    description="Store tickets in order_tickets (idempotent by ticket id).",
)
def store_order_tickets(
    context: dg.OpExecutionContext, tickets: pd.DataFrame, warehouse: WarehouseResource
) -> None:
    wh = warehouse.warehouse()
    wh.replace_rows("order_tickets", tickets, key_columns=["ticket_id"])
    shown = tickets[
        ["account_id", "leg", "side", "order_type", "quantity", "price", "stop_price", "preview_status"]
    ]
    context.add_output_metadata(
        {
            **row_counts(wh, "order_tickets", len(tickets)),
            "previewed_ok": dg.MetadataValue.int(
                int(tickets["preview_status"].eq("ok").sum()) if len(tickets) else 0
            ),
            "preview": preview_markdown(shown, money=("price", "stop_price")),
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
    recommendations = load_tradable_recommendations(contract_recommendations)
    return store_order_tickets(preview_order_payloads(build_order_payloads(recommendations)))
