"""Checks on the order tickets: valid Tradier forms, and none missing."""

import dagster as dg

from spx_pipeline.defs.common import (
    LatestRun,
    latest_run_check,
    latest_run_rows,
    not_materialized,
    verdict_result,
)
from spx_pipeline.defs.orders.assets import order_tickets
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.transformations.quality import tickets_valid, tradable_ticketed
from spx_pipeline.transformations.recommendations import RECOMMENDATION_KEY
from spx_pipeline.transformations.tickets import recommendations_for_tickets


@latest_run_check(
    order_tickets,
    description=(
        "Every payload of the latest tickets reads back as a valid Tradier form by the same rules the "
        "broker client applies: prices on the SPX tick grid, whole contracts, known sides and types."
    ),
)
def order_tickets_payloads_valid(run: LatestRun, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return verdict_result(tickets_valid(run.rows(warehouse, "order_tickets", ("ticket_id", "payload_json"))))


@dg.asset_check(
    asset=order_tickets,
    description=(
        "Every tradable recommendation of today's newest recommendations run (active accounts) has an "
        "entry ticket; a recommendation skipped (setup deactivated, payload refused) is named."
    ),
)
def order_tickets_cover_tradable_recommendations(
    context: dg.AssetCheckExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    tickets = latest_run_rows(
        context, warehouse, order_tickets.key, "order_tickets", ("run_id", "leg", *RECOMMENDATION_KEY)
    )
    if tickets is None:
        return not_materialized()
    active = app_db.credential_listing().active_account_ids()
    now = clock.clock().now()
    # The recommendations the tickets' own run read: that run's, else the newest as of now.
    made_by = str(tickets["run_id"].iloc[0]) if len(tickets) else None
    rows = recommendations_for_tickets(
        warehouse.warehouse(), trading_day=trading_day(now), active_accounts=active, as_of=now,
        prefer_run_id=made_by,
    )  # fmt: skip
    tradable = rows[~rows["blocked"].astype(bool) & (rows["suggested_contracts"] >= 1)] if len(rows) else rows
    return verdict_result(tradable_ticketed(tradable, tickets))
