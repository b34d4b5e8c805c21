"""The one job that spans every group: what `spx-pipeline demo` and "Materialize all" run."""

import dagster as dg

full_pipeline_job = dg.define_asset_job(
    "full_pipeline_job",
    selection=dg.AssetSelection.all(),
    description="Every asset in order: sync, chains, recommendations, order tickets.",
)
