"""Where a trade stands, derived from its orders as the broker reported them: the state machine's input.

The broker's reports are authoritative. Fills come only from its order reports; a position report
is used for one thing, to see that contracts we still think are held are gone (closed by hand, or
settled at expiry), and only when that report arrived: a missing report never means flat, and
while our own exits still work it waits for their report (they may have filled since). Orders
we claimed that the broker has not reported yet count as working in full, so a second run never
covers the same contracts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from spx_pipeline.domain.orders import t1_quantity_for
from spx_pipeline.domain.trades.records import Leg, LocalStatus, Progress, Trade, TradeOrder, TradePlan
from spx_pipeline.domain.trades.states import HOLDING, CloseReason, TradeState, allowed


def progress(orders: Sequence[TradeOrder]) -> Progress:
    """Fills and cover of a trade's orders (broker facts, or what an in-flight claim will do)."""
    filled = target = stop = entry_working = working_target = working_stop = 0
    t1_done = t1_target = 0
    entry_value = exit_value = Decimal(0)
    entry_sent = False
    entry_claimed = False
    entry_live = False
    for order in orders:
        facts = order.expected()
        if order.leg == Leg.ENTRY:
            entry_claimed = True
            entry_sent = entry_sent or order.local_status != LocalStatus.VOID
            if not order.dead and (facts.working_open > 0 or order.broker is None):
                entry_live = True
        filled += facts.open_filled
        entry_value += (facts.open_avg or Decimal(0)) * facts.open_filled
        target += facts.target_filled
        stop += facts.stop_filled
        exit_value += (facts.target_avg or Decimal(0)) * facts.target_filled
        exit_value += (facts.stop_avg or Decimal(0)) * facts.stop_filled
        entry_working += facts.working_open
        working_target += facts.working_target
        working_stop += facts.working_stop
        if order.leg == Leg.T1:
            t1_target += facts.target_filled
            t1_done += facts.target_filled + facts.stop_filled + facts.working_target
    return Progress(
        filled=filled,
        entry_avg=(entry_value / filled).quantize(Decimal("0.0001")) if filled else None,
        target_filled=target,
        stop_filled=stop,
        exit_value=exit_value,
        entry_working=entry_working,
        working_target=working_target,
        working_stop=working_stop,
        t1_done=t1_done,
        t1_target_filled=t1_target,
        entry_sent=entry_sent,
        # A voided claim never reached the broker: the entry is as dead as a canceled one.
        entry_dead=entry_claimed and not entry_live,
    )


@dataclass(frozen=True, slots=True)
class PositionReport:
    """The broker's position in the trade's contract: None = the report did not arrive.

    Several trades of an account may hold the same contract, so only "none at all" closes a trade;
    a smaller position than our fills imply is a difference reconciliation reports, not a guess
    about which trade was closed.
    """

    quantity: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The state a trade's facts put it in, and why."""

    state: TradeState
    reason: str
    close_reason: CloseReason | None = None


def covered(plan: TradePlan, p: Progress) -> bool:
    """Nothing the plan wants working for the contracts held is missing.

    With a stop plan every contract held needs a working stop. Without one (the risk is the
    premium) the T1 slice of what filled needs its target, and once T1 filled the runner its
    breakeven stop; before that the runner has no exit by plan.
    """
    if p.position <= 0:
        return True
    if plan.stop_price is not None:
        return p.working_stop >= p.position
    t1_goal = t1_quantity_for(p.filled, plan.t1_fraction) if p.filled >= 2 else 0
    if p.t1_done < t1_goal:
        return False
    return p.t1_target_filled == 0 or p.working_stop + p.working_target >= p.position


def judge(
    trade: Trade,
    orders: Sequence[TradeOrder],
    *,
    session: date,
    position: PositionReport,
    expired: bool,
) -> Verdict:
    """The state the trade's orders and the broker's position report put it in.

    ``expired``: the contract's last session has closed (it settled; nothing is held any more).
    ``session``: the session the judgement is made in.
    """
    plan, p = trade.plan, progress(orders)
    if trade.state == TradeState.CLOSED:
        return Verdict(TradeState.CLOSED, "closed", trade.close_reason)
    if p.filled == 0:
        if not orders:
            if session > plan.session:
                return Verdict(TradeState.ABANDONED, f"the {plan.session} session ended with nothing sent")
            return Verdict(TradeState.PLANNED, "planned")
        if p.entry_dead:
            return Verdict(TradeState.ABANDONED, _why_dead(orders))
        return Verdict(TradeState.ENTRY_WORKING, f"entry working for {plan.planned_quantity} contract(s)")
    if p.position <= 0:
        why = CloseReason.STOP if _last_exit_was_stop(orders) else CloseReason.TARGET
        return Verdict(TradeState.CLOSED, f"all {p.filled} contract(s) closed by our exits ({why})", why)
    working = p.working_stop + p.working_target
    note = ""
    if position.quantity is not None and position.quantity <= 0:
        if expired:
            return Verdict(
                TradeState.CLOSED,
                f"{p.position} contract(s) settled at expiry ({plan.expiration})",
                CloseReason.EXPIRED,
            )
        if not working:
            return Verdict(
                TradeState.CLOSED,
                f"the broker reports no position while our fills leave {p.position}: "
                "closed outside our orders",
                CloseReason.MANUAL,
            )
        # Orders are read before positions: an exit that filled in between still shows working.
        note = "; no position at the broker while our exits still work (one may have filled since)"
    done = covered(plan, p)
    if p.t1_target_filled > 0:
        if done and working:
            return Verdict(TradeState.RUNNER, f"T1 filled; runner of {p.position} covered{note}")
        return Verdict(TradeState.T1_FILLED, f"T1 filled; runner of {p.position} not covered yet{note}")
    if done and working:
        return Verdict(
            TradeState.EXITS_WORKING, f"{p.position} contract(s) held, covered by working exits{note}"
        )
    return Verdict(
        TradeState.OPEN,
        f"{p.position} contract(s) held; {p.working_stop} stopped, {p.working_target} with a working target"
        f"{note}",
    )


def _why_dead(orders: Sequence[TradeOrder]) -> str:
    entries = [o for o in orders if o.leg == Leg.ENTRY]
    last = entries[-1] if entries else None
    if last is None:
        return "no entry"
    if last.local_status == LocalStatus.VOID:
        return f"entry {last.tag} never reached the broker (claim voided)"
    if last.local_status == LocalStatus.REJECTED:
        why = last.message or (last.broker.reason if last.broker else "") or "no reason given"
        return f"entry {last.tag} rejected: {why}"
    status = last.broker.status if last.broker is not None else "dead"
    return f"entry {last.tag} {status} with nothing filled"


def _last_exit_was_stop(orders: Sequence[TradeOrder]) -> bool:
    stops = [o for o in orders if o.broker is not None and o.broker.stop_filled]
    targets = [o for o in orders if o.broker is not None and o.broker.target_filled]
    if not stops:
        return False
    if not targets:
        return True
    latest_stop = max(o.broker.reported_at or o.claimed_at for o in stops)  # type: ignore[union-attr]
    latest_target = max(o.broker.reported_at or o.claimed_at for o in targets)  # type: ignore[union-attr]
    return latest_stop >= latest_target


def next_state(current: TradeState, verdict: Verdict) -> TradeState:
    """The verdict's state when the table allows the move, else the current state (kept, reported)."""
    return verdict.state if allowed(current, verdict.state) else current


def is_holding(state: TradeState) -> bool:
    return state in HOLDING


def when_closed(previous: datetime | None, state: TradeState, at: datetime) -> datetime | None:
    if state in (TradeState.CLOSED, TradeState.ABANDONED):
        return previous or at
    return None
