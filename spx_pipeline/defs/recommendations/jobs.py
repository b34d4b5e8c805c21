"""The recommendations group's job: chains, then a contract for every setup x account."""

import dagster as dg

from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.defs.recommendations.assets import contract_recommendations

recommendations_job = dg.define_asset_job(
    "recommendations_job",
    selection=dg.AssetSelection.assets(spx_option_chain, contract_recommendations),
    description="Fetch SPX/SPXW chains and recommend a contract for every setup x account.",
)
