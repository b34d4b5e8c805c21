"""Execution group: the broker's positions and orders, fill fidelity, reconciliation, guardrails.

All read-only at the broker. Each asset publishes its rows whole (one transaction per stage), and
reads its inputs from published rows, so a run that died is never reconciled against.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
from pydantic import Field

from spx_pipeline.defs.charts import slippage_chart
from spx_pipeline.defs.common import table_asset
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.defs.execution.broker_reads import (
    BROKER_STATE_READ,
    GROUP,
    ORDERS,
    POSITIONS,
)
from spx_pipeline.defs.run_config import CheckedConfig, Finite, to_decimal
from spx_pipeline.defs.shards import AccountsConfig, one_step_asset, read_in_one_step
from spx_pipeline.domain.execution import GuardrailPolicy, ReconciliationStatus, match_fidelity, quantile
from spx_pipeline.domain.execution.guardrails import in_window
from spx_pipeline.domain.market_calendar import sessions_between, trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.storage.app.placements import write_setup_fidelity
from spx_pipeline.storage.warehouse import execution_reads as reads
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.execution import (
    broker_legs,
    fidelity_frame,
    fidelity_tickets,
    filled_quantities,
    guardrail_frame,
    reconciliation_frame,
    reconciliation_rows,
    setup_fidelity,
    slippage_samples,
    trade_order_legs,
)


def run_moment(context: dg.AssetExecutionContext, clock: ClockResource) -> tuple[str, datetime, date]:
    """This run's id, its one instant and the NYSE session that instant falls in (every step here
    stamps its rows with the first two and counts its lookback from the third)."""
    captured_at = clock.run_time(context)
    return context.run.run_id, captured_at, trading_day(captured_at)


@dataclass(frozen=True)
class BrokerReadStep:
    """Where a step measured against the broker's report starts: the warehouse, this run's id,
    instant and session (``run_moment``), and the broker read it measures against. Fidelity and
    reconciliation both start from ``broker_read_step``, so they name the read the same way."""

    wh: Warehouse
    run_id: str
    captured_at: datetime
    session: date
    event: dg.EventLogRecord  # the broker read's materialization (``broker_read_event``)

    @property
    def read(self) -> str:
        """The run whose broker_state the step reads."""
        return self.event.run_id

    @property
    def reported(self) -> frozenset[str]:
        """The accounts the broker answered for in that read (what may be called flat)."""
        materialization = self.event.asset_materialization
        assert materialization is not None  # broker_read_event refuses an event without one
        return frozenset(materialization.metadata["reported_accounts"].value)  # type: ignore[arg-type]


def broker_read_step(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, clock: ClockResource
) -> BrokerReadStep:
    """The warehouse, the run's moment, then the broker read (a step without one fails here)."""
    wh = warehouse.warehouse()
    run_id, captured_at, session = run_moment(context, clock)
    return BrokerReadStep(wh, run_id, captured_at, session, broker_read_event(context))


def sessions_back(day: date, count: int) -> list[date]:
    """The last ``count`` NYSE sessions up to ``day`` (included when it is one), oldest first."""
    return sessions_between(day - timedelta(days=2 * count + 10), day)[-count:]


# About ten years of sessions: a window longer than the calendar has is a typo.
MAX_SESSIONS = 2520


@one_step_asset(BROKER_STATE_READ)
def broker_state(context: dg.AssetExecutionContext, config: AccountsConfig) -> Iterator[dg.MaterializeResult]:
    """Every account in one step (the in-process default); ``broker_reads`` holds both halves."""
    yield from read_in_one_step(BROKER_STATE_READ, context, config)


class FidelityConfig(CheckedConfig):
    """How many sessions of tickets to match the broker's orders against."""

    lookback_sessions: int = Field(
        default=5, ge=1, le=MAX_SESSIONS, description=f"Sessions of tickets to match, 1..{MAX_SESSIONS}."
    )


@table_asset(
    group=GROUP,
    kinds={"duckdb", "sqlite"},
    deps=[ORDERS, dg.AssetKey("order_tickets")],
    description=(
        "One row per ticket leg that reached the broker, matched by tag (or, for an order placed by hand, "
        "by account + symbol + side + session, flagged inferred): intended against filled, slippage in "
        "dollars per contract and in ticks (positive = adverse), time to fill. Fills the execution-fidelity "
        "columns of the app's spx_setup_instances."
    ),
)
def execution_fidelity(
    context: dg.AssetExecutionContext,
    config: FidelityConfig,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    step = broker_read_step(context, warehouse, clock)
    wh, read = step.wh, step.read
    first = sessions_back(step.session, config.lookback_sessions)[0]
    store = app_db.trade_store()
    sent = store.orders_since(first)
    setups = {t.trade_id: t.plan.setup_id for t in store.trades(trade_ids={o.trade_id for o in sent})}
    tickets = fidelity_tickets(trade_order_legs(sent, setups), reads.tickets_since(wh, first))
    rows = match_fidelity(tickets, broker_legs(reads.orders_of_run(wh, read)))
    frame = fidelity_frame(rows, run_id=step.run_id, captured_at=step.captured_at)
    wh.replace_rows("execution_fidelity", frame, delete_where={"run_id": step.run_id})
    updated = write_setup_fidelity(app_db.database(), setup_fidelity(frame))
    filled = frame[frame["filled_quantity"] > 0] if len(frame) else frame
    entry_ticks = [Decimal(str(v)) for v in filled.loc[filled["leg"] == "entry", "slippage_ticks"].dropna()]
    metadata: dict[str, Any] = {
        **row_counts(wh, "execution_fidelity", len(frame)),
        "broker_read_run": read,
        "legs_filled": dg.MetadataValue.int(len(filled)),
        "inferred_matches": dg.MetadataValue.int(
            int((frame["match"] == "inferred").sum()) if len(frame) else 0
        ),
        "setups_updated_in_app_db": dg.MetadataValue.int(updated),
        **slippage_chart(wh),
    }
    if entry_ticks:
        metadata["median_entry_slippage_ticks"] = dg.MetadataValue.float(
            float(quantile(entry_ticks, Decimal("0.5")))
        )
    return dg.MaterializeResult(metadata=metadata)


def broker_read_run(context: dg.AssetExecutionContext) -> str:
    """The run whose broker_state the step reads: this run's when it read the broker, else the latest."""
    return broker_read_event(context).run_id


def broker_read_event(context: dg.AssetExecutionContext) -> dg.EventLogRecord:
    """The materialization of that read, whose metadata says which accounts the broker answered for."""
    event = context.instance.get_latest_materialization_event(POSITIONS)
    if event is None or event.asset_materialization is None:
        raise dg.Failure(
            description="tradier_positions/tradier_orders were never materialized: run reconciliation_job."
        )
    return event


class ReconciliationConfig(CheckedConfig):
    """Whole contracts a position may differ by and still match; how far back our fills count."""

    tolerance_contracts: int = Field(
        default=0, ge=0, le=10_000, description="Whole contracts a position may differ by, 0..10000."
    )
    history_sessions: int = Field(
        default=30, ge=1, le=MAX_SESSIONS, description=f"Sessions of our fills that count, 1..{MAX_SESSIONS}."
    )


@table_asset(
    group=GROUP,
    kinds={"duckdb"},
    deps=[POSITIONS, execution_fidelity],
    description=(
        "Per account x option symbol, the position our filled orders imply against the broker's report: "
        "matched, missing_at_broker, unexpected_at_broker (external or manual), quantity_mismatch, "
        "acknowledged (an operator accepted it as it is), or unknown (a report failed or is missing; "
        "never counted as flat)."
    ),
)
def position_reconciliation(
    context: dg.AssetExecutionContext,
    config: ReconciliationConfig,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    step = broker_read_step(context, warehouse, clock)
    wh, read, session, reported = step.wh, step.read, step.session, step.reported
    active = app_db.credential_listing().active_account_ids()
    errors: dict[str, str] = {}
    for stage, failed in reads.broker_state_failures(wh, read).items():  # orders first
        for account, message in failed.items():
            errors.setdefault(account, f"{stage} not read: {message}")
    first = sessions_back(session, config.history_sessions)[0]
    fills = filled_quantities(reads.fidelity_history(wh, first), session=session)
    rows = reconciliation_rows(
        active,
        fills,
        reads.positions_of_run(wh, read),
        reported,
        errors,
        tolerance=config.tolerance_contracts,
        acknowledged=app_db.acknowledgement_store().by_account(),
    )
    frame = reconciliation_frame(rows, session=session, run_id=step.run_id, captured_at=step.captured_at)
    wh.replace_rows("position_reconciliation", frame, delete_where={"run_id": step.run_id})
    counts = {status.value: int((frame["status"] == status.value).sum()) for status in ReconciliationStatus}
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "position_reconciliation", len(frame)),
            **{f"status_{name}": dg.MetadataValue.int(n) for name, n in counts.items()},
            "broker_read_run": read,
            "differences": preview_markdown(
                frame.loc[frame["status"] != "matched", ["account_id", "option_symbol", "status", "reason"]]
            ),
        }
    )


class GuardrailConfig(CheckedConfig):
    """The window of filled legs the statistics cover, and when they change sizing."""

    window_sessions: int = Field(
        default=20, ge=1, le=MAX_SESSIONS, description=f"Sessions of filled legs, 1..{MAX_SESSIONS}."
    )
    min_fills: int = Field(default=5, ge=1, le=100_000, description="Fills before a p90 counts, >= 1.")
    max_p90_ticks: Finite = Field(
        default=4.0,
        ge=0,
        le=10_000,
        description="Block a setup whose p90 slippage is above this, 0..10000 ticks.",
    )


@table_asset(
    group=GROUP,
    kinds={"duckdb"},
    deps=[execution_fidelity],
    description=(
        "Realized slippage of filled legs (entries and exits) per setup, and per account with enough "
        "fills, over a window: count, median and p90 in ticks and dollars. The recommendations add "
        "the expected slippage to each contract's cost and risk, and block a setup whose p90 is above "
        "the limit."
    ),
)
def execution_guardrails(
    context: dg.AssetExecutionContext,
    config: GuardrailConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    try:
        policy = GuardrailPolicy(
            window_sessions=config.window_sessions,
            min_fills=config.min_fills,
            max_p90_ticks=to_decimal(config.max_p90_ticks),
        )
    except ValueError as exc:
        raise dg.Failure(description=f"Guardrail config refused: {exc}") from None
    wh = warehouse.warehouse()
    run_id, captured_at, session = run_moment(context, clock)
    sessions = sessions_back(session, policy.window_sessions)
    samples = in_window(slippage_samples(reads.fidelity_history(wh, sessions[0])), sessions, policy)
    frame = guardrail_frame(samples, policy, run_id=run_id, captured_at=captured_at)
    with wh.transaction() as tx:
        tx.replace_rows("execution_guardrails", frame, delete_where={"run_id": run_id})
        # Published even with no rows: the newest guardrail run wins, also when it blocks nothing.
        tx.publish(run_id, "execution_guardrails")
    blocked = int(frame["blocked_reason"].notna().sum()) if len(frame) else 0
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "execution_guardrails", len(frame)),
            "filled_legs": dg.MetadataValue.int(len(samples)),
            "setups_blocked": dg.MetadataValue.int(blocked),
            "preview": preview_markdown(frame.drop(columns=["run_id", "captured_at"])),
        }
    )
