"""Recommendations group: every active setup x every synced account's own risk context.

A cache key without the risk context would serve one account's sizing to another, so each row is
keyed by (as-of, setup, account, risk fingerprint) within its run (every run's rows are kept, so
"why was it blocked at 10:00?" has an answer), and ad-hoc requests go to their own table, never
to this one. Both refuse a chain from another session, judge quote age against the run's
clock, and spend each account's budgets once across its setups
(``domain.contract_selection.recommend``).
"""

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.defs.charts import outcomes_chart
from spx_pipeline.defs.common import table_asset, unique_key_check
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.defs.market_data.assets import spx_option_chain
from spx_pipeline.defs.portfolio.assets import portfolio_snapshots
from spx_pipeline.defs.recommendations.setups import spx_setups
from spx_pipeline.defs.run_config import CheckedConfig, Finite, to_decimal
from spx_pipeline.domain.contract_selection import SelectionConfig
from spx_pipeline.domain.execution import Guardrail
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.domain.money import to_money
from spx_pipeline.domain.risk_context import DEFAULT_MAX_RISK_DOLLARS, RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.zero_dte import ZeroDtePolicy
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.warehouse.execution_reads import latest_guardrails
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.execution import guardrails_from_rows
from spx_pipeline.transformations.portfolio import risk_contexts
from spx_pipeline.transformations.recommendations import (
    BudgetBreachError,
    InvalidSetup,
    LatestChain,
    SessionTrades,
    StaleChainError,
    block_stale,
    chain_for_session,
    domain_setups,
    latest_snapshots,
    recommendation_rows,
    session_trades,
    stale_risk_reasons,
    with_account_limits,
)

PREVIEW_MONEY = ("limit_price",)


# Dollars: a per-account figure above this is a typo (money.MAX_MONEY bounds stored amounts).
MAX_DOLLARS = 1_000_000_000.0
MAX_QUOTE_AGE_SECONDS = 7 * 24 * 3600.0


class RecommendationRunConfig(CheckedConfig):
    """Run config of the recommendation asset and op: sizing and liquidity knobs, money in dollars.

    Field names are what users type in run config YAML; selection_config() turns them into the
    domain's SelectionConfig. Every number is finite and in range (checked when the step starts),
    money becomes an exact Decimal through its decimal spelling.
    """

    max_risk_dollars: Finite = Field(
        default=float(DEFAULT_MAX_RISK_DOLLARS),
        gt=0,
        le=MAX_DOLLARS,
        description="Per-trade max risk for every account (the one default, also the demo's), dollars > 0.",
    )
    max_daily_risk_dollars: Finite | None = Field(
        default=None,
        gt=0,
        le=MAX_DOLLARS,
        description="Optional risk budget per account for the day, shared by its setups in priority order.",
    )
    dtbp_floor: Finite = Field(default=25000.0, ge=0, le=MAX_DOLLARS, description="Dollars >= 0.")
    legacy_pdt_check: bool = True
    max_spread_pct: Finite = Field(
        default=0.10, gt=0, le=10, description="Widest spread as a fraction of mid, (0, 10]."
    )
    min_volume: int = Field(default=100, ge=0, description="Contracts traded today, >= 0.")
    min_open_interest: int = Field(default=0, ge=0, description="Open contracts, >= 0.")
    fee_per_contract: Finite = Field(default=0.65, ge=0, le=100, description="Dollars per contract, 0..100.")
    max_quote_age_seconds: Finite = Field(
        default=300.0,
        gt=0,
        le=MAX_QUOTE_AGE_SECONDS,
        description="Quotes older than this (the staler of bid and ask) are not traded on; (0, 604800].",
    )
    # Long enough for pre-market runs on yesterday's close; a failed latest sync blocks regardless.
    max_snapshot_age_hours: Finite = Field(
        default=18.0,
        gt=0,
        le=24 * 14,
        description="Older account snapshots block the account; (0, 336] hours.",
    )

    def policy(self) -> ZeroDtePolicy:
        return ZeroDtePolicy(dtbp_floor=to_decimal(self.dtbp_floor), legacy_pdt_check=self.legacy_pdt_check)

    def selection_config(self) -> SelectionConfig:
        """Raises ValueError naming the setting when a value is out of range."""
        return SelectionConfig(
            max_spread_pct=self.max_spread_pct,
            min_volume=self.min_volume,
            min_open_interest=self.min_open_interest,
            fee_per_contract=to_decimal(self.fee_per_contract),
            max_quote_age=timedelta(seconds=self.max_quote_age_seconds),
            default_max_risk=self.max_risk(),
        )

    def max_risk(self) -> Decimal | None:
        return to_money(to_decimal(self.max_risk_dollars), "max_risk_dollars")

    def max_daily_risk(self) -> Decimal | None:
        value = self.max_daily_risk_dollars
        return None if value is None else to_money(to_decimal(value), "max_daily_risk_dollars")

    def checked(self) -> tuple[ZeroDtePolicy, SelectionConfig]:
        """Policy and selection, or a ``dg.Failure`` naming the bad setting (never a traceback)."""
        try:
            self.max_daily_risk()
            return self.policy(), self.selection_config()
        except ValueError as exc:
            raise dg.Failure(description=f"Invalid selection config: {exc}") from None


def _session_chain(
    wh: Warehouse, session: date, *, as_of: datetime, prefer_run_id: str | None = None
) -> LatestChain:
    try:
        chain = chain_for_session(wh, session, prefer_run_id=prefer_run_id, as_of=as_of)
    except StaleChainError as exc:
        raise dg.Failure(description=str(exc)) from None
    if chain is None:
        raise dg.Failure(
            description="No option chain in the warehouse yet: materialize spx_option_chain first."
        )
    return chain


def _recommend(
    chain: LatestChain,
    setups: Sequence[Setup],
    contexts: Mapping[str, RiskContext],
    started: datetime,
    policy: ZeroDtePolicy,
    selection: SelectionConfig,
    invalid: Sequence[InvalidSetup],
    *,
    guardrails: Sequence[Guardrail] = (),
    traded: SessionTrades | None = None,
) -> pd.DataFrame:
    """The rows of a scheduled or ad-hoc run, generated and quote-aged at ``started``.

    A budget breach (the sizing found a limit overspent) fails the step with its message.
    """
    try:
        return recommendation_rows(
            chain,
            setups,
            contexts,
            generated_at=started,
            policy=policy,
            config=selection,
            now=started,
            invalid_setups=invalid,
            guardrails=guardrails,
            traded=traded,
        )
    except BudgetBreachError as exc:
        raise dg.Failure(description=str(exc)) from None


def _counts(rows: pd.DataFrame) -> dict[str, dg.IntMetadataValue]:
    """Every row is tradable xor blocked, so the two counts add up to the rows (plotted per run)."""
    blocked = int(rows["blocked"].sum()) if len(rows) else 0
    return {"tradable": dg.MetadataValue.int(len(rows) - blocked), "blocked": dg.MetadataValue.int(blocked)}


@table_asset(
    group="recommendations",
    kinds={"pandas", "duckdb"},
    deps=[portfolio_snapshots, spx_option_chain, spx_setups],
    description=(
        "Every active setup x every synced account's latest risk context (buying power by account type, "
        "PDT/DTBP for the 0DTE policy, max risk) through the domain selector; keyed by (run, as-of, setup, "
        "account, risk fingerprint): every run's rows are kept. Blocked rows are kept with their reason."
    ),
)
def contract_recommendations(
    context: dg.AssetExecutionContext,
    config: RecommendationRunConfig,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    policy, selection = config.checked()
    wh = warehouse.warehouse()
    started = clock.run_time(context)
    chain = _session_chain(wh, trading_day(started), as_of=started, prefer_run_id=context.run.run_id)
    setups, invalid = domain_setups(app_db.setup_store().active())
    for bad in invalid:
        context.log.warning(f"Setup {bad.setup_id} is invalid and is blocked for every account: {bad.reason}")
    active = app_db.credential_listing().active_account_ids()
    snapshots = latest_snapshots(wh, active, as_of=started)
    contexts = with_account_limits(
        risk_contexts(
            snapshots, max_risk_dollars=config.max_risk(), max_daily_risk_dollars=config.max_daily_risk()
        ),
        app_db.limit_store().all(),
        max_risk=config.max_risk(),
        max_daily_risk=config.max_daily_risk(),
    )
    # What realized slippage taught (execution_guardrails); before the first fills, nothing.
    rails = guardrails_from_rows(latest_guardrails(wh))
    # What the session's trades already took: a later run sizes only what is left.
    traded = session_trades(app_db.trade_store(), chain.trading_day, snapshots)
    rows = _recommend(
        chain, setups, contexts, started, policy, selection, invalid, guardrails=rails, traded=traded
    )
    stale = stale_risk_reasons(
        wh, snapshots, now=started, max_age=timedelta(hours=config.max_snapshot_age_hours)
    )
    rows = block_stale(rows, stale)
    for account, reason in stale.items():
        context.log.warning(f"Account {account}: {reason}")
    rows.insert(0, "run_id", context.run.run_id)
    wh.replace_rows("contract_recommendations", rows)
    shown = rows[["setup_id", "account_id", "symbol", "limit_price", "suggested_contracts", "blocked"]]
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "contract_recommendations", len(rows)),
            "as_of_date": chain.trading_day.isoformat(),
            "setups": len(setups),
            "invalid_setups": ", ".join(f"{b.setup_id}: {b.reason}" for b in invalid) or "none",
            "accounts": len(contexts),
            **_counts(rows),
            "slippage_guardrails": dg.MetadataValue.int(len(rails)),
            "already_traded": dg.MetadataValue.int(len(traded.already)),
            "preview": preview_markdown(shown, money=PREVIEW_MONEY),
            **outcomes_chart(wh),
        }
    )


# Per run: the same recommendation key recurs once per run by design (the history).
contract_recommendations_unique_keys = unique_key_check(contract_recommendations, "contract_recommendations")


class AdhocRiskContext(CheckedConfig):
    """An ad-hoc request's risk inputs plus broker-reported state, all optional.

    Without max_risk_dollars the request is sized with selection.max_risk_dollars.
    """

    day_trade_buying_power: Finite | None = Field(default=None, ge=0, le=MAX_DOLLARS)
    max_risk_dollars: Finite | None = Field(default=None, gt=0, le=MAX_DOLLARS)
    max_daily_risk_dollars: Finite | None = Field(default=None, gt=0, le=MAX_DOLLARS)
    pdt_qualified: bool | None = None
    option_buying_power: Finite | None = Field(default=None, ge=0, le=MAX_DOLLARS)
    cash_available: Finite | None = Field(default=None, ge=0, le=MAX_DOLLARS)
    account_type: str | None = None


class AdhocRequest(CheckedConfig):
    risk_context: AdhocRiskContext
    label: str = "adhoc"
    setup_ids: list[str] | None = None
    selection: RecommendationRunConfig = RecommendationRunConfig()


@dg.op(
    pool=WAREHOUSE_POOL,
    description=(
        "Recommendations for a risk context given in run config, written to "
        "adhoc_contract_recommendations; the scheduled table is never touched."
    ),
)
def adhoc_recommendations(
    context: dg.OpExecutionContext,
    config: AdhocRequest,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.Output[int]:
    policy, selection = config.selection.checked()
    try:
        ctx = RiskContext.from_mapping(config.risk_context.model_dump(exclude_none=True))
        if ctx.max_risk_dollars is None:  # the request's own limit wins; else the selection's
            ctx = dataclasses.replace(ctx, max_risk_dollars=selection.default_max_risk)
        if ctx.max_daily_risk_dollars is None:
            ctx = dataclasses.replace(ctx, max_daily_risk_dollars=config.selection.max_daily_risk())
    except ValueError as exc:
        raise dg.Failure(description=f"Ad-hoc request refused: risk_context: {exc}") from None
    wh = warehouse.warehouse()
    started = clock.run_time(context)
    chain = _session_chain(wh, trading_day(started), as_of=started)
    setups, invalid = domain_setups(app_db.setup_store().active())
    if config.setup_ids is not None:
        known = {s.setup_id for s in setups} | {b.setup_id for b in invalid}
        unknown = set(config.setup_ids) - known
        if unknown:
            raise dg.Failure(description=f"setup_ids not active or unknown: {sorted(unknown)}")
        setups = [s for s in setups if s.setup_id in set(config.setup_ids)]
        invalid = [b for b in invalid if b.setup_id in set(config.setup_ids)]
    rows = _recommend(chain, setups, {config.label: ctx}, started, policy, selection, invalid)
    rows.insert(0, "request_run_id", context.run.run_id)
    wh.replace_rows(
        "adhoc_contract_recommendations",
        rows,
        delete_where={"request_run_id": context.run.run_id},
    )
    shown = rows[["setup_id", "symbol", "limit_price", "suggested_contracts", "sizing_reason", "blocked"]]
    return dg.Output(
        len(rows),
        metadata={
            "rows": len(rows),
            **_counts(rows),
            "risk_fingerprint": ctx.fingerprint(),
            "preview": preview_markdown(shown, money=PREVIEW_MONEY),
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
