"""Recommendations group: every active setup x every synced account's own risk context.

The seed cached recommendations under a key without the risk context, so one account's sizing
could be served to another. Here each row is keyed by (as-of, setup, account, risk fingerprint),
and ad-hoc requests go to their own table, never to this one.
"""

from datetime import timedelta
from decimal import Decimal

import dagster as dg

from spx_pipeline.defs.common import OWNERS, preview_markdown, table_schema_metadata
from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.defs.portfolio.assets import portfolio_snapshots
from spx_pipeline.defs.portfolio.checks import unique_key_check
from spx_pipeline.domain.contracts import SelectionConfig
from spx_pipeline.domain.sizing import RiskContext, ZeroDtePolicy
from spx_pipeline.pipeline.portfolio import risk_contexts
from spx_pipeline.pipeline.recommendations import (
    RECOMMENDATION_KEY,
    block_stale,
    latest_chain,
    latest_snapshots,
    recommendation_rows,
    stale_risk_reasons,
)
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL


class SelectionSettings(dg.Config):
    """Sizing and liquidity knobs (defaults follow options-domain.md §3)."""

    max_risk_dollars: float = 500.0
    dtbp_floor: float = 25000.0
    legacy_pdt_check: bool = True
    max_spread_pct: float = 0.10
    min_volume: int = 100
    min_open_interest: int = 0
    fee_per_contract: float = 0.65
    # Long enough for pre-market runs on yesterday's close; a failed latest sync blocks regardless.
    max_snapshot_age_hours: float = 18.0

    def policy(self) -> ZeroDtePolicy:
        return ZeroDtePolicy(dtbp_floor=Decimal(str(self.dtbp_floor)), legacy_pdt_check=self.legacy_pdt_check)

    def selection(self) -> SelectionConfig:
        return SelectionConfig(
            max_spread_pct=self.max_spread_pct,
            min_volume=self.min_volume,
            min_open_interest=self.min_open_interest,
            fee_per_contract=Decimal(str(self.fee_per_contract)),
            # Quotes in the warehouse are as old as the chain fetch; freshness is the chain's job.
            max_quote_age=None,
        )


@dg.asset(
    group_name="recommendations",
    owners=OWNERS,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[portfolio_snapshots, spx_option_chain],
    description=(
        "Every active setup x every synced account's latest risk context (buying power by account type, "
        "PDT/DTBP for the 0DTE policy, max risk) through the domain selector; keyed by (as-of, setup, "
        "account, risk fingerprint). Blocked rows are kept with their reason."
    ),
    metadata=table_schema_metadata("contract_recommendations"),
)
def contract_recommendations(
    context: dg.AssetExecutionContext,
    config: SelectionSettings,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    chain = latest_chain(wh, prefer_run_id=context.run.run_id)
    if chain is None:
        raise dg.Failure(
            description="No option chain in the warehouse yet: materialize spx_option_chain first."
        )
    setups = [record.to_domain() for record in app_db.setup_store().active()]
    active = [c.account_id for c in app_db.credential_listing().list() if c.is_active]
    snapshots = latest_snapshots(wh, active)
    contexts = risk_contexts(snapshots, max_risk_dollars=Decimal(str(config.max_risk_dollars)))
    started = clock.run_time(context)
    rows = recommendation_rows(
        chain,
        setups,
        contexts,
        generated_at=started,
        policy=config.policy(),
        config=config.selection(),
    )
    stale = stale_risk_reasons(
        wh, snapshots, now=started, max_age=timedelta(hours=config.max_snapshot_age_hours)
    )
    rows = block_stale(rows, stale)
    for account, reason in stale.items():
        context.log.warning(f"Account {account}: {reason}")
    rows.insert(0, "run_id", context.run.run_id)
    wh.replace_rows("contract_recommendations", rows, key_columns=list(RECOMMENDATION_KEY))
    blocked = int(rows["blocked"].sum()) if len(rows) else 0
    tradable = int((~rows["blocked"] & rows["suggested_contracts"].gt(0)).sum()) if len(rows) else 0
    shown = rows[["setup_id", "account_id", "symbol", "limit_price", "suggested_contracts", "blocked"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "as_of_date": chain.trading_day.isoformat(),
            "setups": len(setups),
            "accounts": len(contexts),
            "tradable": tradable,
            "blocked": blocked,
            "preview": preview_markdown(shown),
        }
    )


contract_recommendations_unique_keys = unique_key_check(
    contract_recommendations, "contract_recommendations", RECOMMENDATION_KEY
)


class AdhocRiskContext(dg.Config):
    """The seed's optional request inputs plus broker-reported state, all optional."""

    day_trade_buying_power: float | None = None
    max_risk_dollars: float | None = None
    pdt_qualified: bool | None = None
    option_buying_power: float | None = None
    cash_available: float | None = None
    account_type: str | None = None


class AdhocRequest(dg.Config):
    risk_context: AdhocRiskContext
    label: str = "adhoc"
    setup_ids: list[str] | None = None
    selection: SelectionSettings = SelectionSettings()


@dg.op(
    pool=WAREHOUSE_POOL,
    description=(
        "Recommendations for a risk context given in run config, written to "
        "adhoc_contract_recommendations; the scheduled table is never touched (the seed's cache bypass)."
    ),
)
def adhoc_recommendations(
    context: dg.OpExecutionContext,
    config: AdhocRequest,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.Output[int]:
    ctx = RiskContext.from_mapping(config.risk_context.model_dump(exclude_none=True))
    wh = warehouse.warehouse()
    chain = latest_chain(wh)
    if chain is None:
        raise dg.Failure(
            description="No option chain in the warehouse yet: materialize spx_option_chain first."
        )
    setups = [record.to_domain() for record in app_db.setup_store().active()]
    if config.setup_ids is not None:
        unknown = set(config.setup_ids) - {s.setup_id for s in setups}
        if unknown:
            raise dg.Failure(description=f"setup_ids not active or unknown: {sorted(unknown)}")
        setups = [s for s in setups if s.setup_id in set(config.setup_ids)]
    rows = recommendation_rows(
        chain,
        setups,
        {config.label: ctx},
        generated_at=clock.run_time(context),
        policy=config.selection.policy(),
        config=config.selection.selection(),
    )
    rows.insert(0, "request_run_id", context.run.run_id)
    wh.replace_rows(
        "adhoc_contract_recommendations",
        rows,
        key_columns=["request_run_id", "setup_id", "account_id"],
        delete_where={"request_run_id": context.run.run_id},
    )
    shown = rows[["setup_id", "symbol", "limit_price", "suggested_contracts", "sizing_reason", "blocked"]]
    return dg.Output(
        len(rows),
        metadata={
            "rows": len(rows),
            "risk_fingerprint": ctx.fingerprint(),
            "preview": preview_markdown(shown),
        },
    )


@dg.job(
    description=(
        "Ad-hoc recommendations: run config carries a risk context (DTBP, max risk, PDT, buying power); "
        "results land in adhoc_contract_recommendations and never overwrite the scheduled table."
    ),
    tags={"spx/kind": "adhoc"},
)
def adhoc_recommendation_job() -> None:
    adhoc_recommendations()
