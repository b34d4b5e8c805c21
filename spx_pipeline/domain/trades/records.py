"""The records a trade is made of: its frozen plan, its orders (one unique tag each), its events.

Plain frozen dataclasses, so the app database, the warehouse mirror, the planners and the tests
share one shape. Money is Decimal; quantities are whole contracts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from spx_pipeline.domain.sizing import MULTIPLIER
from spx_pipeline.domain.trades.states import CloseReason, TradeState
from spx_pipeline.domain.tradier.enums import OrderType, Side


class Leg(StrEnum):
    """What an order does for its trade (the ``order_tickets.leg`` vocabulary)."""

    ENTRY = "entry"  # buy_to_open limit (an OTO carries the protective stop of a 1-lot with it)
    T1 = "t1"  # the T1 target: an OCO with the protective stop, or a plain limit without a stop plan
    RUNNER_STOP = "runner_stop"  # sell_to_close stop or stop_limit for what T1 does not cover


class LocalStatus(StrEnum):
    """Our side of an order: the claim and the POST. The broker's side is ``BrokerFacts``."""

    CLAIMED = "claimed"  # the tag is ours (unique row committed); nothing sent yet
    SENDING = "sending"  # about to POST / POSTed without an answer yet
    SENT = "sent"  # the broker accepted it (or it was found by its tag)
    AMBIGUOUS = "ambiguous"  # POST unanswered and the tag lookup could not tell
    REJECTED = "rejected"  # the broker refused it: never working
    VOID = "void"  # claimed but never reached the broker (settled by tag lookup after the lease)


def display_type(order_class: str, order_type: str) -> str:
    """What a trader reads as an order's type: the class of a multi-order (``oco``, ``oto``), else
    the type of its one leg (``limit``, ``stop``, ``stop_limit``)."""
    return order_class if order_class != "option" else str(order_type)


IN_FLIGHT = frozenset({LocalStatus.CLAIMED, LocalStatus.SENDING, LocalStatus.AMBIGUOUS})
DEAD = frozenset({LocalStatus.REJECTED, LocalStatus.VOID})


@dataclass(frozen=True, slots=True)
class TradePlan:
    """What a trade was born with: contract, size, prices, risk. Frozen once its entry is claimed.

    ``stop_price`` is the protective sell-stop trigger (the setup's stop premium on the tick grid);
    None means the setup has no stop: its risk is the premium, and the runner gets a breakeven stop
    after the T1 fill. ``risk_per_contract`` and ``cost_per_contract`` are what sizing counted
    (fee and expected slippage included).
    """

    trade_id: str
    account_id: str
    setup_id: str
    session: date
    tag: str
    option_symbol: str
    expiration: date
    planned_quantity: int
    limit_price: Decimal
    stop_price: Decimal | None
    t1_price: Decimal | None
    t1_fraction: Decimal
    runner_stop_limit_offset: Decimal | None
    risk_per_contract: Decimal
    cost_per_contract: Decimal
    pdt_qualified: bool | None
    risk_fingerprint: str
    recommendation_run_id: str

    @property
    def same_day(self) -> bool:
        """Holds the session's own expiry: a position closed before expiry is a day trade."""
        return self.expiration == self.session

    @property
    def breakeven_runner(self) -> bool:
        return self.stop_price is None


@dataclass(frozen=True, slots=True)
class BrokerFacts:
    """What the broker last reported for one of our orders, summed by what each leg does.

    ``open_*`` are buy_to_open legs, ``target_*`` sell_to_close limit legs, ``stop_*`` sell_to_close
    stop/stop_limit legs; ``working_*`` the remaining quantity of legs still working (an OTO's stop
    is working once its entry filled; an OCO's two legs each show the same remaining quantity).
    """

    status: str
    open_filled: int = 0
    open_avg: Decimal | None = None
    target_filled: int = 0
    target_avg: Decimal | None = None
    stop_filled: int = 0
    stop_avg: Decimal | None = None
    working_open: int = 0
    working_target: int = 0
    working_stop: int = 0
    reason: str | None = None
    reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TradeOrder:
    """One order we send for a trade; its ``tag`` is unique in the app database (the claim)."""

    tag: str
    trade_id: str
    account_id: str
    leg: Leg
    seq: int
    order_class: str  # option | oco | oto
    side: Side
    order_type: OrderType
    quantity: int
    price: Decimal | None
    stop_price: Decimal | None
    duration: str
    session: date  # the session it was claimed in
    local_status: LocalStatus
    claimed_at: datetime
    payload_json: str = ""
    broker_order_id: int | None = None
    broker: BrokerFacts | None = None
    message: str = ""
    run_id: str = ""
    updated_at: datetime | None = None
    version: int = 1

    def with_broker(self, facts: BrokerFacts, order_id: int | None) -> TradeOrder:
        status = LocalStatus.SENT if self.local_status != LocalStatus.REJECTED else self.local_status
        if facts.status == "rejected":
            status = LocalStatus.REJECTED
        return replace(
            self, broker=facts, broker_order_id=order_id or self.broker_order_id, local_status=status
        )

    @property
    def display_type(self) -> str:
        return display_type(self.order_class, self.order_type)

    @property
    def dead(self) -> bool:
        """Can never fill: refused, voided, or the broker says so and nothing filled."""
        if self.local_status in DEAD:
            return True
        return (
            self.broker is not None
            and self.broker.status in ("canceled", "expired", "rejected")
            and not (self.broker.open_filled or self.broker.target_filled or self.broker.stop_filled)
        )

    def expected(self) -> BrokerFacts:
        """What to count for an order the broker has not reported yet: all of it still working.

        A claim in flight must count as covering its contracts, or a second run would cover them again.
        """
        if self.broker is not None:
            return self.broker
        if self.dead:
            return BrokerFacts(status=str(self.local_status))
        q = self.quantity
        if self.leg == Leg.ENTRY:  # an OTO's stop is listed (pending) with its entry
            return BrokerFacts(
                status="pending", working_open=q, working_stop=q if self.order_class == "oto" else 0
            )
        if self.order_class == "oco":
            return BrokerFacts(status="pending", working_target=q, working_stop=q)
        if self.order_type == OrderType.LIMIT:
            return BrokerFacts(status="pending", working_target=q)
        return BrokerFacts(status="pending", working_stop=q)


@dataclass(frozen=True, slots=True)
class Progress:
    """A trade's fills and cover, summed over its orders (broker facts, or in-flight claims)."""

    filled: int  # contracts the entry bought
    entry_avg: Decimal | None
    target_filled: int
    stop_filled: int
    exit_value: Decimal  # sum of exit price x contracts (per share of premium)
    entry_working: int  # entry contracts still able to fill
    working_target: int
    working_stop: int
    t1_done: int  # contracts the T1 slice already took care of (target or its stop filled, or working)
    t1_target_filled: int
    entry_sent: bool
    entry_dead: bool  # the entry can no longer fill (canceled, expired, rejected, voided)

    @property
    def exited(self) -> int:
        return self.target_filled + self.stop_filled

    @property
    def position(self) -> int:
        return self.filled - self.exited

    def realized_pnl(self, fee_per_contract: Decimal) -> Decimal | None:
        """Dollars made on the contracts closed so far by our own exits, fees included."""
        if not self.exited or self.entry_avg is None:
            return None
        gross = (self.exit_value - self.entry_avg * self.exited) * MULTIPLIER
        return (gross - fee_per_contract * (self.exited * 2)).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class Trade:
    """A plan, its state and what its orders did so far."""

    plan: TradePlan
    state: TradeState
    version: int = 1
    blocked_reason: str | None = None  # planned only: why it cannot be placed now
    close_reason: CloseReason | None = None
    filled_quantity: int = 0
    exited_quantity: int = 0
    entry_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    risk_committed: Decimal = Decimal(0)
    entry_sent_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def trade_id(self) -> str:
        return self.plan.trade_id

    @property
    def account_id(self) -> str:
        return self.plan.account_id


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One step of a trade's history: a transition (or a fact worth keeping), with its reason."""

    trade_id: str
    seq: int
    occurred_at: datetime
    from_state: TradeState | None
    to_state: TradeState
    reason: str
    filled_quantity: int = 0
    position: int = 0
    realized_pnl: Decimal | None = None
    run_id: str = ""
