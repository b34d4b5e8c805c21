"""The execution group's jobs: reconciliation (scheduled when the gate is on) and placement (never)."""

import dagster as dg

from spx_pipeline.defs.execution.assets import (
    broker_state,
    execution_fidelity,
    execution_guardrails,
    position_reconciliation,
)
from spx_pipeline.defs.execution.placement import order_placements

reconciliation_job = dg.define_asset_job(
    "reconciliation_job",
    selection=dg.AssetSelection.assets(
        broker_state, execution_fidelity, position_reconciliation, execution_guardrails
    ),
    description="Broker positions and orders → fill fidelity → reconciliation → slippage guardrails.",
    tags={"spx/job": "reconciliation"},
)

place_order_tickets_job = dg.define_asset_job(
    "place_order_tickets_job",
    selection=dg.AssetSelection.assets(order_placements),
    description=(
        "Places chosen order tickets (run config: ticket_ids or account_id, and confirm: 'PLACE <n>'). "
        "Never scheduled."
    ),
    tags={"spx/job": "placement"},
)
