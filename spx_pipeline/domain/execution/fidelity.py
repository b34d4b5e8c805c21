"""Which broker order carried which ticket leg, and how well it filled.

Our tag is the key: every leg we send carries ``{recommendation tag}-{entry|t1|stop}``. Orders a
trader placed by hand carry no tag of ours; they are matched to a ticket leg of the same account,
option symbol, side and session that no tagged order claimed, and flagged ``inferred`` so nobody
mistakes a guess for a fact. An OCO reaches the broker as two legs: each gets its own row, priced
against the ticket's limit (limit leg) or stop (stop leg).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from spx_pipeline.domain.execution.slippage import realized_slippage
from spx_pipeline.domain.field_copy import copy_fields
from spx_pipeline.domain.tradier.enums import OrderType, Side


class MatchKind(StrEnum):
    TAG = "tag"
    INFERRED = "inferred"


@dataclass(frozen=True, slots=True)
class TicketLeg:
    """One leg of an order ticket, as the pipeline built it: the yardstick a broker leg is measured by."""

    ticket_id: str
    """The ``order_tickets`` id of the leg; a fidelity row names the ticket by it."""
    account_id: str
    setup_id: str
    """The setup the trade was sized for ('' when the sent order's trade is not known)."""
    leg: str  # entry | t1 | runner_stop
    option_symbol: str
    side: Side
    """With account, symbol and session, what an untagged (hand-placed) order must share to match."""
    order_type: OrderType
    quantity: int
    price: Decimal | None
    """The limit: what a limit leg was meant to fill at (see ``intended_price``)."""
    stop_price: Decimal | None
    """The trigger: what a stop leg, or an OCO's stop leg, was meant to fill at."""
    tag: str
    """The tag the order carries to the broker and back: a tagged match joins on it."""
    session: date
    created_at: datetime
    """When the ticket was written (or the order claimed): time to fill counts from here."""
    order_class: str = "option"  # option | oco: an OCO T1 carries the protective stop itself


@dataclass(frozen=True, slots=True)
class BrokerOrderLeg:
    """One leg of one broker order (a single-leg order is its own leg 0), flattened."""

    account_id: str
    order_id: int
    leg_index: int
    tag: str | None
    option_symbol: str
    side: Side
    order_type: OrderType
    status: str
    quantity: int
    exec_quantity: int
    remaining_quantity: int
    avg_fill_price: Decimal | None
    session: date
    created_at: datetime | None
    transaction_at: datetime | None
    reason: str | None = None  # the broker's reason_description (a rejection's text)


@dataclass(frozen=True, slots=True)
class FidelityRow:
    ticket_id: str
    account_id: str
    setup_id: str
    leg: str
    option_symbol: str
    side: Side
    order_id: int
    broker_leg: int
    match: MatchKind
    status: str
    intended_price: Decimal | None
    fill_price: Decimal | None
    filled_quantity: int
    remaining_quantity: int
    slippage_per_contract: Decimal | None
    slippage_ticks: Decimal | None
    seconds_to_fill: float | None  # analytics only
    session_date: date
    tag: str
    filled_at: datetime | None


def intended_price(ticket: TicketLeg, order_type: OrderType) -> Decimal | None:
    """The price a broker leg was meant to fill at: a stop leg at its stop, anything else at its limit."""
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        return ticket.stop_price
    return ticket.price


def match_fidelity(tickets: Sequence[TicketLeg], orders: Iterable[BrokerOrderLeg]) -> list[FidelityRow]:
    """Fidelity rows for every broker leg that carries one of our ticket legs, tagged or inferred.

    Deterministic: tickets are considered in ``ticket_id`` order and orders in id order, so a re-run
    over the same broker state gives the same rows.
    """
    by_tag = {ticket.tag: ticket for ticket in tickets}
    ordered = sorted(orders, key=lambda o: (o.account_id, o.order_id, o.leg_index))
    claimed: set[str] = set()
    rows: list[FidelityRow] = []
    untagged: list[BrokerOrderLeg] = []
    for order in ordered:
        ticket = by_tag.get(order.tag or "")
        if ticket is None or ticket.account_id != order.account_id:
            untagged.append(order)
            continue
        claimed.add(ticket.ticket_id)
        rows.append(_row(ticket, order, MatchKind.TAG))
    open_tickets = sorted((t for t in tickets if t.ticket_id not in claimed), key=lambda t: t.ticket_id)
    for order in untagged:
        if order.tag and order.tag in by_tag:
            continue  # our tag under another account: never a match, never a guess
        for ticket in open_tickets:
            if (
                ticket.ticket_id not in claimed
                and ticket.account_id == order.account_id
                and ticket.option_symbol == order.option_symbol
                and ticket.side == order.side
                and ticket.session == order.session
            ):
                claimed.add(ticket.ticket_id)
                rows.append(_row(ticket, order, MatchKind.INFERRED))
                break
    return rows


def _row(ticket: TicketLeg, order: BrokerOrderLeg, match: MatchKind) -> FidelityRow:
    intended = intended_price(ticket, order.order_type)
    fill = order.avg_fill_price if order.exec_quantity > 0 else None
    per_contract = ticks = None
    if fill is not None and intended is not None and fill > 0:
        slip = realized_slippage(order.side, intended, fill)
        per_contract, ticks = slip.per_contract, slip.ticks
    seconds = None
    if fill is not None and order.transaction_at is not None:
        seconds = (order.transaction_at - ticket.created_at).total_seconds()
    # The ticket's identity (id, account, setup, leg, tag) as it is; the rest is what the broker did.
    return copy_fields(
        ticket,
        FidelityRow,
        option_symbol=order.option_symbol,
        side=order.side,
        order_id=order.order_id,
        broker_leg=order.leg_index,
        match=match,
        status=order.status,
        intended_price=intended,
        fill_price=fill,
        filled_quantity=order.exec_quantity,
        remaining_quantity=order.remaining_quantity,
        slippage_per_contract=per_contract,
        slippage_ticks=ticks,
        seconds_to_fill=seconds,
        session_date=ticket.session,
        filled_at=order.transaction_at if fill is not None else None,
    )
