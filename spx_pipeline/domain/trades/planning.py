"""What a placement run would do for each trade: place, wait, skip, or leave what the broker has.

Entries go only for trades planned for the current session and not blocked; exits come from what
filled (``exits``); orders already at the broker (or claimed by a run that has not finished) are
listed, never sent again. Caps count opening orders only, so they can stop new entries but never a
protective exit: when the entries exceed a cap, all of them are skipped with the reason and the
exits still go. The confirmation names the number of orders the run will send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from spx_pipeline.domain.trades.exits import DayTradeGuard, exits_needed
from spx_pipeline.domain.trades.intents import OrderIntent, brackets, entry_intent
from spx_pipeline.domain.trades.lifecycle import progress
from spx_pipeline.domain.trades.records import IN_FLIGHT, Leg, Trade, TradeOrder
from spx_pipeline.domain.trades.states import TERMINAL, TradeState
from spx_pipeline.domain.tradier.order_rules import OrderPayloadError


class Action(StrEnum):
    PLACE = "place"
    WAIT = "wait"
    SKIP = "skip"
    ALREADY_AT_BROKER = "already_at_broker"


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One order of the plan, in the fields a trader reads (``spx-pipeline place --dry-run``)."""

    trade_id: str
    account_id: str
    leg: str
    option_symbol: str
    side: str
    quantity: int
    order_type: str
    """limit/stop/stop_limit, or the class of a multi-order (oco, oto); '' for an exit not built yet."""
    price: Decimal | None
    stop_price: Decimal | None
    opening_notional: Decimal
    """Dollars an opening order commits, as the run's cap counts them (0: an exit, or no intent)."""
    action: Action
    reason: str
    tag: str | None = None
    """The order's tag: the one it would be claimed under, or the one already at the broker."""
    broker_order_id: int | None = None
    intent: OrderIntent | None = None
    """The order that would be sent: only on rows built from an intent (place, or skipped by a cap)."""

    @property
    def opening(self) -> bool:
        return self.intent is not None and self.intent.opening


@dataclass(frozen=True, slots=True)
class PlacementCaps:
    """Caps on one run's opening orders (exits never count)."""

    max_orders: int = 10
    max_opening_notional: Decimal = Decimal(25_000)

    def __post_init__(self) -> None:
        if isinstance(self.max_orders, bool) or not isinstance(self.max_orders, int) or self.max_orders < 1:
            raise ValueError(f"max_orders must be a whole number >= 1, got {self.max_orders!r}")
        cap = self.max_opening_notional
        if not isinstance(cap, Decimal) or not cap.is_finite() or cap <= 0:
            raise ValueError(
                f"max_opening_notional must be a positive, finite number of dollars, got {cap!r}"
            )


def _row(intent: OrderIntent, action: Action, reason: str) -> PlanRow:
    return PlanRow(
        trade_id=intent.trade_id, account_id=intent.account_id, leg=str(intent.leg),
        option_symbol=intent.first.option_symbol,
        side=str(intent.side), quantity=intent.quantity, order_type=intent.display_type, price=intent.price,
        stop_price=intent.stop_price, opening_notional=intent.opening_notional(), action=action,
        reason=reason, tag=intent.tag, intent=intent,
    )  # fmt: skip


def _existing(order: TradeOrder, trade: Trade) -> PlanRow:
    if order.local_status in IN_FLIGHT and order.broker is None:
        action, why = (
            Action.WAIT,
            f"claimed by run {order.run_id} ({order.local_status}); its outcome is not known yet",
        )
    else:
        status = order.broker.status if order.broker is not None else str(order.local_status)
        action, why = Action.ALREADY_AT_BROKER, f"tag {order.tag} is at the broker ({status})"
    return PlanRow(
        trade_id=trade.trade_id, account_id=trade.account_id, leg=str(order.leg),
        option_symbol=trade.plan.option_symbol, side=str(order.side), quantity=order.quantity,
        order_type=order.display_type, price=order.price, stop_price=order.stop_price,
        opening_notional=Decimal(0), action=action, reason=why, tag=order.tag,
        broker_order_id=order.broker_order_id,
    )  # fmt: skip


def note_row(trade: Trade, leg: str, action: Action, reason: str, *, quantity: int | None = None) -> PlanRow:
    """A row for an order that is not sent now (an entry skipped, exits waiting), with the reason."""
    plan, entry = trade.plan, leg == "entry"
    return PlanRow(
        trade_id=trade.trade_id, account_id=trade.account_id, leg=leg, option_symbol=plan.option_symbol,
        side="buy_to_open" if entry else "sell_to_close",
        quantity=plan.planned_quantity if quantity is None else quantity,
        order_type="limit" if entry else "", price=plan.limit_price if entry else None,
        stop_price=None, opening_notional=Decimal(0), action=action, reason=reason,
    )  # fmt: skip


def plan_trade(
    trade: Trade,
    orders: Sequence[TradeOrder],
    *,
    session: date,
    expired: bool,
    guard: DayTradeGuard,
    entries: bool = True,
) -> tuple[list[PlanRow], int]:
    """The rows of one trade and the day trades its exits would add; ``entries`` False: exits only."""
    if trade.state in TERMINAL:
        return [], 0
    if trade.state == TradeState.PLANNED:
        if not entries:
            return [], 0
        plan = trade.plan
        if plan.session != session:
            return [
                note_row(
                    trade, "entry", Action.SKIP, f"planned for the {plan.session} session, not {session}"
                )
            ], 0
        if trade.blocked_reason:
            return [note_row(trade, "entry", Action.SKIP, f"blocked: {trade.blocked_reason}")], 0
        # An OTO's stop can fill today: for an account that is not PDT-qualified it is a day trade.
        bracket, added, held_back = brackets(plan), 0, ""
        if bracket and guard.applies(plan, session):
            if guard.used + 1 > guard.allowance:
                bracket, held_back = False, f"; {guard.refusal(plan, session, 1, 'its stop waits')}"
            else:
                added = 1
        try:
            intent = entry_intent(plan, bracket=bracket)
        except OrderPayloadError as exc:
            return [note_row(trade, "entry", Action.SKIP, f"the entry cannot be built: {exc}")], 0
        why = f"{intent.reason}: {plan.planned_quantity} @ {plan.limit_price}{held_back}"
        return [_row(intent, Action.PLACE, why)], added
    rows = [_existing(order, trade) for order in orders if not order.dead and _still_relevant(order)]
    decision = exits_needed(trade.plan, orders, session=session, expired=expired, guard=guard)
    rows += [_row(intent, Action.PLACE, intent.reason) for intent in decision.intents]
    if decision.waiting:
        action = Action.SKIP if decision.refused else Action.WAIT
        rows.append(
            note_row(trade, "exits", action, decision.waiting, quantity=max(progress(orders).position, 0))
        )
    return rows, decision.day_trades


def _still_relevant(order: TradeOrder) -> bool:
    """Orders worth listing: in flight, working, or filled (the broker's record of what it did)."""
    facts = order.expected()
    return bool(
        order.local_status in IN_FLIGHT
        or facts.working_open or facts.working_target or facts.working_stop
        or facts.open_filled or facts.target_filled or facts.stop_filled
    )  # fmt: skip


def apply_caps(rows: Sequence[PlanRow], caps: PlacementCaps) -> list[PlanRow]:
    """Skip every opening order when the run's openings exceed a cap (exits are never capped)."""
    opening = [r for r in rows if r.action == Action.PLACE and r.opening]
    notional = sum((r.opening_notional for r in opening), Decimal(0))
    why = None
    if len(opening) > caps.max_orders:
        why = f"{len(opening)} opening orders exceed max_orders={caps.max_orders}"
    elif notional > caps.max_opening_notional:
        cap = caps.max_opening_notional
        why = f"opening notional ${notional:,.2f} exceeds max_opening_notional=${cap:,.2f}"
    if why is None:
        return list(rows)
    return [
        replace(r, action=Action.SKIP, reason=f"{why}: no entry is sent (exits still are)")
        if r in opening
        else r
        for r in rows
    ]


def confirm_phrase(rows: Sequence[PlanRow]) -> str:
    return f"PLACE {sum(r.action == Action.PLACE for r in rows)}"


def opening_total(rows: Sequence[PlanRow]) -> Decimal:
    return sum((r.opening_notional for r in rows if r.action == Action.PLACE), Decimal(0))


def leg_order(leg: str) -> int:
    return {Leg.ENTRY: 0, Leg.T1: 1, Leg.RUNNER_STOP: 2}.get(leg, 3)  # type: ignore[call-overload]
