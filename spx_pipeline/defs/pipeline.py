"""The one job that spans every group: what `spx-pipeline demo` and "Materialize all" run."""

import dagster as dg

full_pipeline_job = dg.define_asset_job(
    "full_pipeline_job",
    # Execution reads the broker's orders and places nothing: it has jobs of its own
    # (reconciliation_job, and place_order_tickets_job, which only a confirmed manual run starts).
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("execution"),
    description="Every asset in order: sync, chains, recommendations, order tickets.",
)
