"""The ``spx_pipeline`` code location: assets, checks, jobs, schedule and sensor."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from spx_pipeline.defs.automation import build_broker_credentials_sensor, build_portfolio_sync_schedule
from spx_pipeline.defs.maintenance import dead_run_reaper
from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.defs.orders.assets import order_tickets
from spx_pipeline.defs.portfolio.assets import broker_credentials, portfolio_snapshots, tradier_balances
from spx_pipeline.defs.portfolio.checks import (
    every_active_account_synced,
    portfolio_snapshots_fresh,
    portfolio_snapshots_schema,
    portfolio_snapshots_unique_keys,
)
from spx_pipeline.defs.recommendations.assets import (
    adhoc_recommendation_job,
    contract_recommendations,
    contract_recommendations_unique_keys,
)
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource

portfolio_sync_job = dg.define_asset_job(
    "portfolio_sync_job",
    selection=dg.AssetSelection.assets(broker_credentials, tradier_balances, portfolio_snapshots),
    description="Credentials → Tradier balances → validated portfolio snapshots.",
    tags={"spx/job": "portfolio_sync"},
)
recommendations_job = dg.define_asset_job(
    "recommendations_job",
    selection=dg.AssetSelection.assets(spx_option_chain, contract_recommendations),
    description="Fetch SPX/SPXW chains and recommend a contract for every setup x account.",
)
order_tickets_job = dg.define_asset_job(
    "order_tickets_job",
    selection=dg.AssetSelection.assets(order_tickets),
    description="Build (and optionally preview) order tickets for today's unblocked recommendations.",
)
full_pipeline_job = dg.define_asset_job(
    "full_pipeline_job",
    selection=dg.AssetSelection.all(),
    description="Every asset in order: sync, chains, recommendations, order tickets.",
)


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources that read the environment (SPX_APP_DB_URL, SPX_WAREHOUSE_PATH, TRADIER_BASE_URL, SPX_NOW)."""
    return {
        "app_db": AppDatabaseResource(),
        "warehouse": WarehouseResource(),
        "tradier": TradierResource(),
        "clock": ClockResource(),
    }


def build_definitions(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The code location; tests and scripts pass their own resources (a temp warehouse, a local server)."""
    return dg.Definitions(
        assets=[
            broker_credentials,
            tradier_balances,
            portfolio_snapshots,
            spx_option_chain,
            contract_recommendations,
            order_tickets,
        ],
        asset_checks=[
            portfolio_snapshots_schema,
            portfolio_snapshots_fresh,
            every_active_account_synced,
            portfolio_snapshots_unique_keys,
            contract_recommendations_unique_keys,
        ],
        jobs=[
            portfolio_sync_job,
            recommendations_job,
            order_tickets_job,
            full_pipeline_job,
            adhoc_recommendation_job,
        ],
        schedules=[build_portfolio_sync_schedule(portfolio_sync_job)],
        sensors=[build_broker_credentials_sensor(portfolio_sync_job), dead_run_reaper],
        resources={**default_resources(), **(resources or {})},
        # One process per run: every step shares the warehouse file, and the per-account
        # concurrency lives inside tradier_balances' thread pool.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
