"""The recommendations group's job: chains, then a contract for every setup x account."""

import dagster as dg

from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.defs.recommendations.assets import contract_recommendations
from spx_pipeline.defs.recommendations.setups import spx_setups

recommendations_job = dg.define_asset_job(
    "recommendations_job",
    selection=dg.AssetSelection.assets(spx_option_chain, spx_setups, contract_recommendations),
    description=(
        "Fetch SPX/SPXW chains, copy the setups, and recommend a contract for every setup x account."
    ),
)
