"""Exits from what filled, not from the plan: the orders that cover exactly the contracts held.

As soon as any entry quantity fills, the held contracts get their exits: with a stop plan every
contract is covered by a stop (the T1 slice by an OCO of target and stop, the rest by the runner
stop), split by the quantity that filled, not the quantity planned; a 1-lot gets a stop for the
whole. Without a stop plan the T1 slice gets its target and the runner a breakeven stop once T1
filled. An unfilled remainder that was canceled or expired is not waited for.

Exits never cancel or resize a working order (a canceled protective stop is a position without
one): a new fill, or a stop that expired at the close, only adds orders for what is uncovered, each
with a new tag (``-stop-2``...). Exits are day orders; a position held overnight gets them again from
the next session's first run, which the schedule places before the open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from spx_pipeline.domain.orders import OrderPayloadError, t1_quantity_for
from spx_pipeline.domain.ticks import round_to_tick
from spx_pipeline.domain.trades.intents import OrderIntent, runner_stop_intent, t1_intent
from spx_pipeline.domain.trades.lifecycle import progress
from spx_pipeline.domain.trades.records import Leg, LocalStatus, TradeOrder, TradePlan

DAY_TRADE_ALLOWANCE = 3  # day trades in any five sessions; a fourth marks a pattern day trader
DAY_TRADE_WINDOW = 5


@dataclass(frozen=True, slots=True)
class DayTradeGuard:
    """The legacy PDT rule's allowance, for accounts that are not PDT-qualified.

    Brokers may keep the legacy rule until 2027-10-20, so the guard stays on by default; a broker's
    rejection is authoritative either way. ``used`` counts the account's day trades in the window,
    including exits already working on their entry's session (each could fill today).
    """

    enabled: bool = True
    used: int = 0
    allowance: int = DAY_TRADE_ALLOWANCE

    def applies(self, plan: TradePlan, session: date) -> bool:
        return self.enabled and plan.pdt_qualified is False and session == plan.session

    def refusal(self, plan: TradePlan, session: date, orders: int, what: str) -> str:
        """Why ``orders`` same-day exits of ``plan`` are not sent: ``what`` waits for the next session."""
        last = self.used + orders
        trades = f"day trade {last}" if orders == 1 else f"day trades {self.used + 1}-{last}"
        return (
            f"closing {plan.option_symbol} on {session} (its entry's session) would be {trades} in "
            f"{DAY_TRADE_WINDOW} sessions for an account that is not PDT-qualified (allowance "
            f"{self.allowance}, legacy PDT guard on): {what} for the next session"
        )


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """The exits to send now, and why nothing (more) is sent when that is so."""

    intents: list[OrderIntent]
    waiting: str | None  # why an exit the plan wants is not sent now (None: nothing missing)
    day_trades: int = 0  # day trades the intents would add (for the account's running count)
    refused: bool = False  # a rule refuses it (day trades, a rejection this session), not just "not yet"


def _next_seq(orders: Iterable[TradeOrder | OrderIntent], leg: Leg) -> int:
    """The leg's next sequence number past every order sent and every intent chosen in this pass."""
    return 1 + max((o.seq for o in orders if o.leg == leg), default=0)


# Exits the broker may reject in one session before the trade stops asking until the next one: a
# second attempt survives a passing refusal (a fill racing the exit), a third would be spam.
MAX_REJECTED_EXITS = 2


def rejected_this_session(orders: Sequence[TradeOrder], session: date) -> list[TradeOrder]:
    """The trade's exits the broker rejected in ``session``, oldest first."""
    return [
        o
        for o in orders
        if o.leg != Leg.ENTRY and o.session == session and o.local_status == LocalStatus.REJECTED
    ]


def exits_needed(
    plan: TradePlan,
    orders: Sequence[TradeOrder],
    *,
    session: date,
    expired: bool,
    guard: DayTradeGuard = DayTradeGuard(enabled=False),
) -> ExitDecision:
    """The exit orders that make the held contracts covered again, or why they wait."""
    p = progress(orders)
    if p.filled == 0:
        return ExitDecision([], None if not p.entry_working else "exits go once the entry fills")
    if p.position <= 0:
        return ExitDecision([], None)
    if expired:
        return ExitDecision([], f"{plan.option_symbol} expired: nothing can be sent for it", refused=True)
    t1_goal = t1_quantity_for(p.filled, plan.t1_fraction) if p.filled >= 2 else 0
    t1_add = max(0, t1_goal - p.t1_done)
    plans: list[tuple[Leg, int]] = []
    if plan.stop_price is not None:
        uncovered = p.position - p.working_stop
        if uncovered <= 0:
            return ExitDecision([], None)
        t1_add = min(t1_add, uncovered)
        plans = [(Leg.T1, t1_add), (Leg.RUNNER_STOP, uncovered - t1_add)]
        trigger = plan.stop_price
    else:
        free = p.position - p.working_stop - p.working_target
        t1_add = min(t1_add, max(free, 0))
        plans = [(Leg.T1, t1_add)]
        runner = free - t1_add
        if runner > 0 and p.t1_target_filled > 0:
            plans.append((Leg.RUNNER_STOP, runner))
        # Breakeven: the average entry fill, rounded up to the tick (a sell stop never below it).
        trigger = round_to_tick(p.entry_avg, "buy") if p.entry_avg is not None else plan.limit_price
        if not any(q > 0 for _, q in plans):
            why = "the runner's breakeven stop goes after the T1 fill" if runner > 0 else None
            return ExitDecision([], why)
    plans = [(leg, q) for leg, q in plans if q > 0]
    rejected = rejected_this_session(orders, session)
    if len(rejected) >= MAX_REJECTED_EXITS:
        last = rejected[-1]
        return ExitDecision(
            [],
            f"the broker rejected {len(rejected)} exits this session, last {last.tag} "
            f"({last.message or 'no reason given'}); the next attempt comes at the next session",
            refused=True,
        )
    if guard.applies(plan, session) and guard.used + len(plans) > guard.allowance:
        return ExitDecision([], guard.refusal(plan, session, len(plans), "exits wait"), refused=True)
    intents: list[OrderIntent] = []
    try:
        for leg, quantity in plans:
            seq = _next_seq([*orders, *intents], leg)
            held = f"{p.position} held of {p.filled} filled"
            if leg == Leg.T1:
                intents.append(t1_intent(plan, seq, quantity, reason=f"T1 slice of {quantity} ({held})"))
            else:
                intents.append(
                    runner_stop_intent(plan, seq, quantity, trigger, reason=f"stop for {quantity} ({held})")
                )
    except OrderPayloadError as exc:
        return ExitDecision([], f"no exit can be built: {exc}", refused=True)
    added = len(intents) if guard.applies(plan, session) else 0
    return ExitDecision(intents, None, added)


def day_trades_used(
    orders: Iterable[TradeOrder], entry_sessions: dict[str, date], window: Sequence[date]
) -> int:
    """Day trades (or exits that could still become one) of an account over ``window`` sessions.

    An exit counts when it was sent on its entry's session and it filled or still works: a trade
    that closes contracts it opened the same day. An OTO entry carries such an exit, its stop.
    ``entry_sessions`` maps trade id to its session.
    """
    days = set(window)
    count = 0
    for order in orders:
        if order.local_status in (LocalStatus.VOID, LocalStatus.REJECTED):
            continue
        if order.leg == Leg.ENTRY and order.order_class != "oto":
            continue
        if order.session not in days or entry_sessions.get(order.trade_id) != order.session:
            continue
        facts = order.expected()
        if facts.target_filled or facts.stop_filled or facts.working_target or facts.working_stop:
            count += 1
    return count
