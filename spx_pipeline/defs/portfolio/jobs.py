"""The portfolio group's job: what the schedule, the sensor and an operator run to sync balances."""

import dagster as dg

from spx_pipeline.defs.portfolio.assets import broker_credentials, portfolio_snapshots, tradier_balances

portfolio_sync_job = dg.define_asset_job(
    "portfolio_sync_job",
    selection=dg.AssetSelection.assets(broker_credentials, tradier_balances, portfolio_snapshots),
    description="Credentials → Tradier balances (and sync_failures) → validated portfolio snapshots.",
    tags={"spx/job": "portfolio_sync"},
)
