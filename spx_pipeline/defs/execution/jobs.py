"""The execution group's jobs: reconciliation (scheduled when the gate is on); placement is an op job
of its own (``placement.place_order_tickets_job``), never scheduled."""

import dagster as dg

from spx_pipeline.defs.execution.assets import (
    broker_state,
    execution_fidelity,
    execution_guardrails,
    position_reconciliation,
)
from spx_pipeline.defs.execution.trades import trades

reconciliation_job = dg.define_asset_job(
    "reconciliation_job",
    selection=dg.AssetSelection.assets(
        broker_state, trades, execution_fidelity, position_reconciliation, execution_guardrails
    ),
    description=(
        "Broker positions and orders → trades (brought up to the reports; protective exits for what "
        "filled) → fill fidelity → reconciliation → slippage guardrails."
    ),
    tags={"spx/job": "reconciliation"},
)
