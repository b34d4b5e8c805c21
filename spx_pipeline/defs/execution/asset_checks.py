"""Checks on the broker reads, the trades, the fills and the guardrails (one or more per asset)."""

import dagster as dg

from spx_pipeline.defs.common import LatestRun, latest_run_check, unique_key_check
from spx_pipeline.defs.execution.assets import (
    ORDERS,
    POSITIONS,
    execution_fidelity,
    execution_guardrails,
)
from spx_pipeline.defs.execution.placement import ORDER_PLACEMENTS
from spx_pipeline.defs.execution.trades import trades
from spx_pipeline.domain.trades import FROZEN, HOLDING, progress
from spx_pipeline.domain.trades.lifecycle import covered
from spx_pipeline.domain.trades.records import IN_FLIGHT
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.storage.warehouse import execution_reads as reads
from spx_pipeline.storage.warehouse.trade_mirror import unpublished_placement_runs
from spx_pipeline.transformations.trade_lifecycle import CLAIM_LEASE


@latest_run_check(
    POSITIONS,
    description="Every account the read asked for either reported its positions or has a failure row.",
)
def positions_accounted_for(run: LatestRun, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    requested = set(run.metadata["requested_accounts"])  # type: ignore[call-overload]
    reported = set(run.metadata["reported_accounts"])  # type: ignore[call-overload]
    failed = set(reads.broker_state_failures(warehouse.warehouse(), run.run_id)["positions"])
    missing = sorted(requested - reported - failed)
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "requested": len(requested),
            "reported": len(reported),
            "unaccounted": ", ".join(missing) or "none",
        },
    )


tradier_orders_unique_keys = unique_key_check(ORDERS, "tradier_orders")


@latest_run_check(
    execution_fidelity,
    description="Every leg that filled has a fill price, and a slippage wherever the ticket had a price.",
)
def fills_are_priced(run: LatestRun, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    bad = reads.filled_legs_without_price(warehouse.warehouse(), run.run_id)
    return dg.AssetCheckResult(passed=bad.empty, metadata={"run_id": run.run_id, "unpriced_fills": len(bad)})


execution_guardrails_unique_keys = unique_key_check(execution_guardrails, "execution_guardrails")


@dg.asset_check(
    asset=trades,
    description=(
        "No order claim left unsettled past the lease (a run died between the claim and the POST and "
        "no later run could look its tag up): such a trade cannot move until its account's orders are read."
    ),
)
def no_claim_left_unsettled(app_db: AppDatabaseResource, clock: ClockResource) -> dg.AssetCheckResult:
    store = app_db.trade_store()
    live = store.trades(live_only=True, states=FROZEN)  # a planned trade has no order: claiming moves it
    now = clock.clock().now()
    stale = [
        order
        for orders in store.orders([t.trade_id for t in live]).values()
        for order in orders
        if order.local_status in IN_FLIGHT and now - order.claimed_at > CLAIM_LEASE
    ]
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"claims": len(stale), "tags": ", ".join(o.tag for o in stale[:10]) or "none"},
    )


@dg.asset_check(
    asset=trades,
    description=(
        "Every contract a trade holds is covered by its exits (with a stop plan: by working stops), "
        "or the reason it is not (day-trade allowance, a rejection) is on record."
    ),
)
def filled_contracts_covered(app_db: AppDatabaseResource) -> dg.AssetCheckResult:
    store = app_db.trade_store()
    holding = store.trades(states=HOLDING)
    orders = store.orders([t.trade_id for t in holding])
    bare = []
    for trade in holding:
        p = progress(orders.get(trade.trade_id, []))
        if not covered(trade.plan, p):
            bare.append(f"{trade.trade_id} ({trade.account_id}): {p.position} held, {p.working_stop} stopped")
    return dg.AssetCheckResult(
        passed=not bare,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"uncovered_trades": len(bare), "examples": "; ".join(bare[:5]) or "none"},
    )


@dg.asset_check(
    asset=ORDER_PLACEMENTS,
    description=(
        "Every placement run the app database recorded (older than a run can take) reached the "
        "warehouse: a run that died before publishing is copied by the next trades copy."
    ),
)
def placements_reached_the_warehouse(
    app_db: AppDatabaseResource, warehouse: WarehouseResource, clock: ClockResource
) -> dg.AssetCheckResult:
    lost = unpublished_placement_runs(app_db.database(), warehouse.warehouse(), now=clock.clock().now())
    return dg.AssetCheckResult(
        passed=not lost,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"runs": len(lost), "run_ids": ", ".join(lost[:10]) or "none"},
    )
