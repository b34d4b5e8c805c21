"""Recommendations from the warehouse's latest chain and snapshots, through the domain selector.

Fail closed on the inputs a trader cannot see: a chain from another session (its contracts may have
expired) stops the run naming the chain's date; a setup that cannot be built is kept as blocked
rows naming the problem, never allowed to sink the other setups; and before rows leave, every
account's tradable rows are checked against its buying power once more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import pandas as pd

from spx_pipeline.domain.contract_selection import SelectionConfig, recommend
from spx_pipeline.domain.execution import Guardrail
from spx_pipeline.domain.market_calendar import sessions_from
from spx_pipeline.domain.money import to_units
from spx_pipeline.domain.recommendation import RECOMMENDATION_COLUMNS
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.sizing import Committed
from spx_pipeline.domain.trades import FROZEN, commitments
from spx_pipeline.domain.zero_dte import ZeroDtePolicy
from spx_pipeline.storage.app.limits import AccountLimits, effective
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse import reads
from spx_pipeline.storage.warehouse.store import Warehouse

# What a recommendation is for (tickets carry it too); every run's rows are kept, so the table's
# primary key (its DDL) is this key with the run id in front.
RECOMMENDATION_KEY = ("as_of_date", "setup_id", "account_id", "risk_fingerprint")
INVALID_SETUP = "invalid_setup"


class StaleChainError(ValueError):
    """The stored chain is not for the session the recommendations are for."""


class BudgetBreachError(RuntimeError):
    """Tradable rows would spend more than an account has: a defect, so nothing is written."""


@dataclass(frozen=True)
class LatestChain:
    trading_day: date
    run_id: str
    frame: pd.DataFrame
    captured_at: datetime | None = None

    @property
    def session(self) -> date:
        """The session the chain serves (a holiday as-of asks for the next one)."""
        return sessions_from(self.trading_day, 1)[0]


def latest_chain(
    warehouse: Warehouse, *, prefer_run_id: str | None = None, as_of: datetime | None = None
) -> LatestChain | None:
    """The chain fetched by ``prefer_run_id`` when it fetched one, else the newest fetch by ``as_of``.

    Only published chains count (``published.*`` views): rows of a run that died are never read.
    """
    frame = pd.DataFrame()
    if prefer_run_id:
        frame = reads.published_chain_of_run(warehouse, prefer_run_id)
    if frame.empty:
        frame = reads.latest_published_chain(warehouse, as_of)
    if frame.empty:
        return None
    day = pd.Timestamp(frame["trading_day"].iloc[0]).date()
    captured = pd.Timestamp(frame["captured_at"].iloc[0]).to_pydatetime() if "captured_at" in frame else None
    return LatestChain(
        trading_day=day, run_id=str(frame["run_id"].iloc[0]), frame=frame, captured_at=captured
    )


def chain_for_session(
    warehouse: Warehouse, session: date, *, prefer_run_id: str | None = None, as_of: datetime | None = None
) -> LatestChain | None:
    """``latest_chain``, refused unless it serves ``session``: recommendations come only from a chain
    of the session they are for, so a stale chain can never recommend an expired contract.
    """
    chain = latest_chain(warehouse, prefer_run_id=prefer_run_id, as_of=as_of)
    if chain is None or chain.session == session:
        return chain
    captured = f", captured {chain.captured_at:%Y-%m-%d %H:%M} UTC" if chain.captured_at else ""
    raise StaleChainError(
        f"The newest option chain in the warehouse is for {chain.trading_day.isoformat()} (run "
        f"{chain.run_id}{captured}), not the {session.isoformat()} session these recommendations are "
        f"for: its contracts may have expired. Materialize spx_option_chain for {session.isoformat()} first."
    )


def latest_snapshots(
    warehouse: Warehouse, account_ids: Sequence[str] | None = None, *, as_of: datetime | None = None
) -> pd.DataFrame:
    """Each account's newest validated snapshot taken by ``as_of`` (optionally only the given accounts).

    A clock pinned to an instant reads as of that instant: a snapshot taken after it does not exist yet.
    """
    frame = reads.latest_snapshot_per_account(warehouse, as_of)
    if account_ids is not None:
        frame = frame[frame["account_id"].isin(list(account_ids))]
    for column in ("total_equity", "cash", "option_buying_power", "day_trade_buying_power", "pending_cash"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["captured_at"] = pd.to_datetime(frame["captured_at"], utc=True)
    return frame.reset_index(drop=True)


class SetupLike(Protocol):
    """What an invalid stored setup still tells us (``storage.setups.SetupRecord`` fits)."""

    id: str
    direction: str
    target_delta: float

    def to_domain(self) -> Setup: ...


@dataclass(frozen=True)
class InvalidSetup:
    setup_id: str
    direction: str
    target_delta: float
    reason: str


def domain_setups(records: Iterable[SetupLike]) -> tuple[list[Setup], list[InvalidSetup]]:
    """Each stored setup as a domain ``Setup``; one that fails validation is set aside with why."""
    setups: list[Setup] = []
    invalid: list[InvalidSetup] = []
    for record in records:
        try:
            setups.append(record.to_domain())
        except ValueError as exc:
            invalid.append(InvalidSetup(record.id, record.direction, float(record.target_delta), str(exc)))
    return setups, invalid


def recommendation_rows(
    chain: LatestChain,
    setups: Sequence[Setup],
    contexts: Mapping[str, RiskContext],
    *,
    generated_at: datetime,
    policy: ZeroDtePolicy,
    config: SelectionConfig,
    now: datetime | None = None,
    invalid_setups: Sequence[InvalidSetup] = (),
    guardrails: Sequence[Guardrail] = (),
    traded: SessionTrades | None = None,
) -> pd.DataFrame:
    """Every setup x every context, as warehouse rows (blocked rows kept with their reason).

    ``now`` turns the quote-age filter on (``config.max_quote_age``); invalid setups become blocked
    rows for every account. ``traded``: what the session's trades already took and which account x
    setup pairs already have one. Raises ``BudgetBreachError`` rather than return rows that overspend.
    """
    frame = recommend(
        chain.frame,
        list(setups),
        dict(contexts),
        chain.trading_day,
        policy=policy,
        config=config,
        now=now,
        guardrails=guardrails,
        committed=None if traded is None else traded.committed,
        already_traded=None if traded is None else traded.already,
    )
    if invalid_setups and contexts:
        extra = pd.DataFrame(_invalid_rows(invalid_setups, contexts, chain.trading_day))
        frame = pd.concat([frame, extra[list(RECOMMENDATION_COLUMNS)]], ignore_index=True)
    check_budgets(frame, contexts)
    frame.insert(0, "generated_at", generated_at)
    return frame


def _invalid_rows(
    invalid: Sequence[InvalidSetup], contexts: Mapping[str, RiskContext], as_of: date
) -> list[dict[str, Any]]:
    rows = []
    for setup in invalid:
        reason = f"Setup {setup.setup_id} is invalid and was not sized: {setup.reason}."
        for account_id, ctx in contexts.items():
            rows.append(
                {
                    **dict.fromkeys(RECOMMENDATION_COLUMNS),
                    **dict.fromkeys(("bid", "ask", "mid", "delta"), float("nan")),
                    "as_of_date": as_of,
                    "setup_id": setup.setup_id,
                    "account_id": account_id,
                    "risk_fingerprint": ctx.fingerprint(),
                    "direction": setup.direction,
                    "target_delta": setup.target_delta,
                    "suggested_contracts": 0,
                    "suggested_cost": Decimal("0.0000"),
                    "binding_constraint": INVALID_SETUP,
                    "sizing_reason": reason,
                    "blocked": True,
                    "blocked_reason": reason,
                }
            )
    return rows


def check_budgets(rows: pd.DataFrame, contexts: Mapping[str, RiskContext]) -> None:
    """Every row tradable xor blocked (with a reason), and no account's tradable rows costing more
    than its buying power (same-day rows: than its day-trade buying power). The domain guarantees
    both; this guard keeps a defect from ever reaching tickets.

    Costs are summed per account in integer 1/10,000 dollars (rounded up, so never under-counted)
    in one group-by; only an account that breaches is summed again in Decimal for the message.
    """
    if rows.empty:
        return
    problems: list[str] = []
    tradable = ~rows["blocked"].astype(bool)
    if (tradable & ~(rows["suggested_contracts"] >= 1)).any():
        problems.append("an unblocked row has no contracts")
    if (~tradable & rows["blocked_reason"].isna()).any():
        problems.append("a blocked row has no reason")
    spend = rows.loc[tradable, ["account_id", "as_of_date", "expiration_date", "suggested_cost"]]
    if len(spend):
        accounts = spend["account_id"].astype(str)
        as_of = spend.groupby(accounts, sort=False)["as_of_date"].transform("first")
        same_day = pd.to_datetime(spend["expiration_date"]).dt.date.to_numpy() == as_of.to_numpy()
        cost = pd.Series([_cost_units(c) for c in spend["suggested_cost"]], index=spend.index, dtype="int64")
        totals = (
            pd.DataFrame({"all": cost, "same_day": cost.where(same_day, 0)})
            .groupby(accounts, sort=True)
            .sum()
        )
        for account_id, spent_u, day_u in zip(totals.index, totals["all"], totals["same_day"], strict=True):
            ctx = contexts.get(account_id)
            if ctx is None:
                continue
            bp, dtbp = ctx.buying_power(), ctx.day_trade_buying_power
            over_bp = bp is not None and spent_u > to_units(bp)
            over_dtbp = dtbp is not None and day_u > to_units(dtbp)
            if not (over_bp or over_dtbp):
                continue
            mine = (accounts == account_id).to_numpy()
            if over_bp:
                spent = _decimal_sum(spend.loc[mine, "suggested_cost"])
                problems.append(f"account {account_id} would spend {spent} of buying power {bp}")
            if over_dtbp:
                day_spent = _decimal_sum(spend.loc[mine & same_day, "suggested_cost"])
                problems.append(
                    f"account {account_id} would spend {day_spent} of day-trade buying power {dtbp}"
                )
    if problems:
        raise BudgetBreachError("Recommendations refused, nothing written: " + "; ".join(problems))


def _decimal_sum(costs: pd.Series) -> Decimal:
    return sum((Decimal(str(c)) for c in costs), Decimal(0))


def _cost_units(value: object) -> int:
    """A cost as 1/10,000-dollar units, rounded up (a cost off the grid is never under-counted)."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return -to_units(-amount)


@dataclass(frozen=True)
class SessionTrades:
    """The session's trades as sizing sees them: budgets already taken, pairs already traded."""

    committed: dict[str, Committed]
    already: dict[tuple[str, str], str]


def session_trades(store: TradeStore, session: date, snapshots: pd.DataFrame) -> SessionTrades:
    """What every trade of ``session`` that was sent (frozen) commits, and the pairs it blocks.

    A pair (account, setup) gets one trade per session, whatever became of it; planned trades
    commit nothing (this run re-plans them).
    """
    frozen = store.trades(session=session, states=FROZEN)
    orders = store.orders([t.trade_id for t in frozen])
    seen_at: dict[str, datetime] = {}
    if len(snapshots):
        for account, stamp in zip(snapshots["account_id"], snapshots["captured_at"], strict=True):
            seen_at[str(account)] = pd.Timestamp(stamp).to_pydatetime()
    taken = commitments(frozen, orders, seen_at)
    return SessionTrades(
        committed={
            a: Committed(cost=c.cost, same_day_cost=c.same_day_cost, risk=c.risk) for a, c in taken.items()
        },
        already={
            (
                t.account_id,
                t.plan.setup_id,
            ): f"Already traded this session (trade {t.trade_id}, state {t.state})."
            for t in frozen
        },
    )


def with_account_limits(
    contexts: Mapping[str, RiskContext],
    limits: Mapping[str, AccountLimits],
    *,
    max_risk: Decimal | None,
    max_daily_risk: Decimal | None,
) -> dict[str, RiskContext]:
    """Each context with the account's stored limits; run config may lower them, never raise them."""
    out = {}
    for account, ctx in contexts.items():
        stored = limits.get(account)
        if stored is None:
            out[account] = ctx
            continue
        out[account] = dataclasses.replace(
            ctx,
            max_risk_dollars=effective(stored.max_trade_risk, max_risk),
            max_daily_risk_dollars=effective(stored.max_daily_risk, max_daily_risk),
        )
    return out


STALE_CONSTRAINT = "stale_risk_context"


def stale_risk_reasons(
    warehouse: Warehouse, snapshots: pd.DataFrame, *, now: datetime, max_age: timedelta
) -> dict[str, str]:
    """Accounts whose latest snapshot must not size a trade, with the reason a person reads.

    A sync that failed after the last good snapshot means the broker state is unknown now (the
    account may have been restricted, or the token revoked); a snapshot older than ``max_age``
    predates whatever happened since. Either way the account is kept, blocked, never sized.
    """
    if snapshots.empty:
        return {}
    failures = reads.latest_sync_failure_per_account(warehouse, now)
    failed = {row.account_id: row for row in failures.itertuples()}
    reasons: dict[str, str] = {}
    for snap in snapshots.itertuples():
        taken = pd.Timestamp(snap.captured_at)
        failure = failed.get(snap.account_id)
        if failure is not None and pd.Timestamp(failure.failed_at) > taken:
            reasons[snap.account_id] = (
                f"Blocked: the latest sync failed ({failure.error_class} at "
                f"{pd.Timestamp(failure.failed_at):%Y-%m-%d %H:%M} UTC) after the last good snapshot "
                f"({taken:%Y-%m-%d %H:%M} UTC); re-sync before sizing."
            )
        elif pd.Timestamp(now) - taken > max_age:
            hours = (pd.Timestamp(now) - taken) / pd.Timedelta(hours=1)
            limit = max_age / timedelta(hours=1)
            reasons[snap.account_id] = (
                f"Blocked: the latest snapshot is {hours:.1f} h old (limit {limit:g} h); "
                "re-sync before sizing."
            )
    return reasons


def block_stale(rows: pd.DataFrame, reasons: Mapping[str, str]) -> pd.DataFrame:
    """Mark the rows of the given accounts blocked and unsized, keeping the contract for context."""
    if rows.empty or not reasons:
        return rows
    out = rows.copy()
    stale = out["account_id"].isin(list(reasons))
    why = out.loc[stale, "account_id"].map(reasons)
    out.loc[stale, "blocked"] = True
    out.loc[stale, "blocked_reason"] = why
    out.loc[stale, "sizing_reason"] = why
    out.loc[stale, "binding_constraint"] = STALE_CONSTRAINT
    out.loc[stale, "suggested_contracts"] = 0
    out.loc[stale, "suggested_cost"] = Decimal("0")
    return out
