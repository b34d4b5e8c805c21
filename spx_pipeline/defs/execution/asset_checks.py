"""Checks on the broker reads, the fills, the guardrails and the placements (one or more per asset)."""

import dagster as dg

from spx_pipeline.defs.common import unique_key_check
from spx_pipeline.defs.execution.assets import (
    ORDERS,
    POSITIONS,
    execution_fidelity,
    execution_guardrails,
)
from spx_pipeline.defs.execution.placement import order_placements
from spx_pipeline.resources import WarehouseResource
from spx_pipeline.storage import execution_reads as reads


@dg.asset_check(
    asset=POSITIONS,
    description="Every account the read asked for either reported its positions or has a failure row.",
)
def positions_accounted_for(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(POSITIONS)
    if event is None or event.asset_materialization is None:
        return dg.AssetCheckResult(passed=False, metadata={"latest": "not materialized yet"})
    metadata = event.asset_materialization.metadata
    requested = set(metadata["requested_accounts"].value)  # type: ignore[arg-type]
    reported = set(metadata["reported_accounts"].value)  # type: ignore[arg-type]
    failed = set(reads.broker_state_failures(warehouse.warehouse(), event.run_id, "positions")["account_id"])
    missing = sorted(requested - reported - failed)
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "requested": len(requested),
            "reported": len(reported),
            "unaccounted": ", ".join(missing) or "none",
        },
    )


tradier_orders_unique_keys = unique_key_check(
    ORDERS, "tradier_orders", ("run_id", "account_id", "order_id", "leg_index")
)


@dg.asset_check(
    asset=execution_fidelity,
    description="Every leg that filled has a fill price, and a slippage wherever the ticket had a price.",
)
def fills_are_priced(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(execution_fidelity.key)
    if event is None:
        return dg.AssetCheckResult(passed=False, metadata={"latest": "not materialized yet"})
    bad = reads.filled_legs_without_price(warehouse.warehouse(), event.run_id)
    return dg.AssetCheckResult(
        passed=bad.empty, metadata={"run_id": event.run_id, "unpriced_fills": len(bad)}
    )


execution_guardrails_unique_keys = unique_key_check(
    execution_guardrails, "execution_guardrails", ("run_id", "setup_id", "account_id")
)


@dg.asset_check(
    asset=order_placements,
    description=(
        "No leg left 'sending' without an outcome (a crash between the POST and its record): the next "
        "placement run settles it through its tag; this says which."
    ),
)
def no_placement_left_sending(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    left = reads.placements_left_sending(warehouse.warehouse())
    return dg.AssetCheckResult(
        passed=left.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"legs": len(left), "tags": ", ".join(left["tag"].head(10)) or "none"},
    )
