"""Checks on the option chain the recommendations trade on."""

import dagster as dg

from spx_pipeline.defs.common import latest_run_rows, not_materialized, verdict_result
from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import ClockResource, WarehouseResource
from spx_pipeline.transformations.quality import chain_quality


@dg.asset_check(
    asset=spx_option_chain,
    description=(
        "The latest chain holds today's NYSE session, every two-sided quote (bid and ask above zero) "
        "has its greeks (delta, gamma, theta, vega, mid IV), and no quote is crossed (bid above ask)."
    ),
)
def spx_option_chain_session_greeks_quotes(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, clock: ClockResource
) -> dg.AssetCheckResult:
    chain = latest_run_rows(context, warehouse, spx_option_chain.key, "spx_option_chain")
    if chain is None:
        return not_materialized()
    return verdict_result(chain_quality(chain, trading_day(clock.clock().now())))
