"""Orders a trade wants sent, as checked Tradier forms: the entry (or entry + stop bracket) and exits.

Every form goes through the wire rules of ``domain.tradier.order_requests``, the ones the broker
client and the local server apply, so a form built here is one the broker can accept. Exit prices
follow the setup's policy from ``domain.orders``: a stop rounds up to the tick (an earlier trigger
loses less than sized), a target down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from spx_pipeline.domain.orders import OrderPayloadError, t1_request
from spx_pipeline.domain.sizing import MULTIPLIER
from spx_pipeline.domain.ticks import round_to_tick
from spx_pipeline.domain.trades.ids import order_tag
from spx_pipeline.domain.trades.records import Leg, LocalStatus, TradeOrder, TradePlan, display_type
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.domain.tradier.order_requests import (
    OptionLeg,
    OptionOrderRequest,
    OrderRequest,
    OtoOrderRequest,
)

DURATION = "day"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order a run may send for a trade: the checked request it would POST, and why.

    The request is the one statement of the order; its class, side, type, prices and form are read
    from it, so what is stored, claimed and sent cannot disagree.
    """

    trade_id: str
    account_id: str
    leg: Leg
    seq: int
    """Which order of its leg this is for the trade: 1 first, then 2, 3... for later orders of that leg."""
    request: OrderRequest
    """The checked Tradier request, as it would be POSTed."""
    reason: str
    """Why this order now (e.g. the T1 slice and what it covers); stored as the claim's message."""

    @property
    def tag(self) -> str:
        """``order_tag`` of the trade, leg and seq: unique, claimed in the app database before sending."""
        return self.request.tag or ""

    @property
    def order_class(self) -> str:  # option | oco | oto
        return self.request.order_class.value

    @property
    def first(self) -> OptionLeg:
        """The leg that names the order: the only one, an OCO's target, an OTO's entry."""
        return self.request.legs[0]

    @property
    def side(self) -> Side:
        return self.first.side

    @property
    def order_type(self) -> OrderType:
        return self.first.type

    @property
    def quantity(self) -> int:
        return self.first.quantity

    @property
    def price(self) -> Decimal | None:
        """The limit (entry limit, T1 target)."""
        return self.first.price

    @property
    def stop_price(self) -> Decimal | None:
        """The protective trigger, on whichever leg carries it."""
        return next((x.stop for x in self.request.legs if x.stop is not None), None)

    @property
    def duration(self) -> str:
        return self.request.duration.value

    @property
    def form(self) -> dict[str, str]:
        """The Tradier form fields exactly as they would be POSTed."""
        return self.request.to_form()

    @property
    def opening(self) -> bool:
        return not self.side.closing

    @property
    def display_type(self) -> str:
        """The type a trader reads (``records.display_type``), as the order's row will show it."""
        return display_type(self.order_class, self.order_type)

    def opening_notional(self) -> Decimal:
        """Dollars an opening order commits: limit x contracts x multiplier (exits commit none)."""
        if not self.opening or self.price is None:
            return Decimal(0)
        return self.price * self.quantity * MULTIPLIER

    def payload_json(self) -> str:
        return json.dumps(self.form, sort_keys=True)

    def named(self, trade_id: str, account_id: str, tag: str) -> OrderIntent:
        """The same order for another trade: its ids and its tag (nothing else of a form names a trade)."""
        request = replace(self.request, tag=tag)
        return OrderIntent(trade_id, account_id, self.leg, self.seq, request, self.reason)

    def claimed(self, *, session: date, run_id: str, now: datetime) -> TradeOrder:
        """The order ``run_id`` owns once it has claimed this intent's tag in ``session``: the row
        ``storage.app.claims`` inserts, with the form it will POST and the reason as its message."""
        return TradeOrder(
            tag=self.tag, trade_id=self.trade_id, account_id=self.account_id, leg=self.leg, seq=self.seq,
            order_class=self.order_class, side=self.side, order_type=self.order_type,
            quantity=self.quantity, price=self.price, stop_price=self.stop_price, duration=self.duration,
            session=session, local_status=LocalStatus.CLAIMED, claimed_at=now,
            payload_json=self.payload_json(), message=self.reason[:500], run_id=run_id, updated_at=now,
        )  # fmt: skip


def brackets(plan: TradePlan) -> bool:
    """The entry carries its protective stop (an OTO): a 1-lot with a stop plan."""
    return plan.planned_quantity == 1 and plan.stop_price is not None


def _intent(plan: TradePlan, leg: Leg, seq: int, request: OrderRequest, *, reason: str) -> OrderIntent:
    return OrderIntent(plan.trade_id, plan.account_id, leg, seq, request, reason)


def runner_limit(plan: TradePlan, trigger: Decimal) -> Decimal | None:
    """A stop-limit's limit below the trigger, or None for a plain stop (no offset)."""
    if plan.runner_stop_limit_offset is None:
        return None
    try:
        return round_to_tick(trigger - plan.runner_stop_limit_offset, "sell")
    except ValueError as exc:
        raise OrderPayloadError(
            "runner_stop_limit_offset",
            plan.runner_stop_limit_offset,
            f"leaves no positive limit below the stop {trigger}",
        ) from exc


def _stop_leg(plan: TradePlan, quantity: int, trigger: Decimal) -> OptionLeg:
    limit = runner_limit(plan, trigger)
    kind = OrderType.STOP if limit is None else OrderType.STOP_LIMIT
    return OptionLeg.build(plan.option_symbol, Side.SELL_TO_CLOSE, quantity, kind, price=limit, stop=trigger)


def entry_intent(plan: TradePlan, seq: int = 1, *, bracket: bool = True) -> OrderIntent:
    """The entry: a ``buy_to_open`` limit, or for a 1-lot with a stop an OTO that carries its stop.

    A bracket protects the fill the moment it happens. It is used only where it can: an OTO's stop
    is sized for the whole entry, so a partial fill would leave it over-covering; with one contract
    there is no partial fill. Larger entries get their exits from what filled (``exits``).
    ``bracket`` False sends the plain limit (a rule holds the same-day stop back).
    """
    tag = order_tag(plan.tag, Leg.ENTRY, seq)
    buy = OptionLeg.build(
        plan.option_symbol, Side.BUY_TO_OPEN, plan.planned_quantity, OrderType.LIMIT, price=plan.limit_price
    )
    if bracket and brackets(plan):
        request: OrderRequest = OtoOrderRequest.build(buy, _stop_leg(plan, 1, plan.stop_price), tag=tag)
        return _intent(plan, Leg.ENTRY, seq, request, reason="entry with its protective stop (OTO)")
    request = OptionOrderRequest.build(buy, duration=DURATION, tag=tag)
    return _intent(plan, Leg.ENTRY, seq, request, reason="entry")


def t1_intent(plan: TradePlan, seq: int, quantity: int, *, reason: str) -> OrderIntent:
    """The T1 slice: an OCO of target and protective stop, or a plain target without a stop plan."""
    if plan.t1_price is None:
        raise OrderPayloadError("t1_price", None, "the plan has no T1 target")
    tag = order_tag(plan.tag, Leg.T1, seq)
    request = t1_request(
        plan.option_symbol, quantity, plan.t1_price, plan.stop_price, duration=DURATION, tag=tag
    )
    return _intent(plan, Leg.T1, seq, request, reason=reason)


def runner_stop_intent(
    plan: TradePlan, seq: int, quantity: int, trigger: Decimal, *, reason: str
) -> OrderIntent:
    tag = order_tag(plan.tag, Leg.RUNNER_STOP, seq)
    request = OptionOrderRequest.build(_stop_leg(plan, quantity, trigger), duration=DURATION, tag=tag)
    return _intent(plan, Leg.RUNNER_STOP, seq, request, reason=reason)
