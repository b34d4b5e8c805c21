"""What a placement run may send, in what order, and what it must refuse.

Placement is the one step that spends real money, so it fails closed. A leg whose tag the broker
already knows is never sent again, whatever happened to an earlier attempt. Exits wait for their
entry: T1 and the runner stop are sized for the whole position, so they go only once the entry
has filled completely (a plain T1 scale's breakeven runner stop waits for the T1 fill as well, or it
would trigger at once). A run is refused unless its confirmation names the number of orders it will
send, and above its caps on orders and on opening notional; exits never count against the
notional cap, so a cap can never stop a protective stop from going out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from spx_pipeline.domain.execution.fidelity import BrokerOrderLeg, TicketLeg
from spx_pipeline.domain.sizing import MULTIPLIER
from spx_pipeline.domain.tradier.enums import OrderStatus

LEG_ORDER = {"entry": 0, "t1": 1, "runner_stop": 2}


class PlacementRefused(ValueError):
    """A placement run that must not send anything; the message is one line for the operator."""


class Action(StrEnum):
    PLACE = "place"
    ALREADY_AT_BROKER = "already_at_broker"
    WAIT_FOR_ENTRY_FILL = "wait_for_entry_fill"
    WAIT_FOR_T1_FILL = "wait_for_t1_fill"


@dataclass(frozen=True, slots=True)
class PlacementLimits:
    max_orders: int = 10
    max_opening_notional: Decimal = Decimal(25_000)

    def __post_init__(self) -> None:
        if not isinstance(self.max_orders, int) or self.max_orders < 1:
            raise ValueError(f"max_orders must be a whole number >= 1, got {self.max_orders!r}")
        if not isinstance(self.max_opening_notional, Decimal) or self.max_opening_notional <= 0:
            raise ValueError(
                f"max_opening_notional must be a positive Decimal, got {self.max_opening_notional!r}"
            )


@dataclass(frozen=True, slots=True)
class PlacementDecision:
    ticket: TicketLeg
    action: Action
    reason: str
    broker_order_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlacementRecord:
    """One ticket leg's fate in one placement run (``order_placements``)."""

    ticket_id: str
    account_id: str
    leg: str
    tag: str
    action: str  # the plan's decision
    status: str  # sending | placed | already_at_broker | waiting | ambiguous | rejected | error | refused
    broker_order_id: int | None
    message: str
    at: datetime


def base_tag(tag: str) -> str:
    """The recommendation's tag a leg tag was made from (``{tag}-entry`` → ``{tag}``)."""
    return tag.rsplit("-", 1)[0]


def fully_filled(legs: Sequence[BrokerOrderLeg], quantity: int) -> bool:
    return any(leg.status == OrderStatus.FILLED and leg.exec_quantity >= quantity for leg in legs)


def plan_placements(
    tickets: Sequence[TicketLeg], at_broker: Mapping[str, Sequence[BrokerOrderLeg]]
) -> list[PlacementDecision]:
    """A decision for every ticket leg, given what the broker holds under each leg's tag.

    ``at_broker`` maps a leg tag to the broker's orders carrying it (looked up just before the
    run decides); a tag absent from it has not reached the broker.
    """
    groups: dict[tuple[str, str], dict[str, TicketLeg]] = defaultdict(dict)
    for ticket in tickets:
        groups[(ticket.account_id, base_tag(ticket.tag))][ticket.leg] = ticket
    decisions = []
    for key in sorted(groups):
        legs = groups[key]
        for name in sorted(legs, key=lambda leg: LEG_ORDER.get(leg, 9)):
            decisions.append(_decide(legs[name], legs, at_broker))
    return decisions


def _decide(
    ticket: TicketLeg, legs: Mapping[str, TicketLeg], at_broker: Mapping[str, Sequence[BrokerOrderLeg]]
) -> PlacementDecision:
    known = at_broker.get(ticket.tag, ())
    if known:
        first = min(known, key=lambda leg: leg.order_id)
        return PlacementDecision(
            ticket,
            Action.ALREADY_AT_BROKER,
            f"tag {ticket.tag} is at the broker as order {first.order_id} ({first.status})",
            first.order_id,
        )
    if ticket.leg == "entry":
        return PlacementDecision(ticket, Action.PLACE, "entry not at the broker yet")
    entry = legs.get("entry")
    if entry is None:
        return PlacementDecision(ticket, Action.WAIT_FOR_ENTRY_FILL, "no entry leg among the chosen tickets")
    entry_orders = at_broker.get(entry.tag, ())
    if not fully_filled(entry_orders, entry.quantity):
        done = max((leg.exec_quantity for leg in entry_orders), default=0)
        return PlacementDecision(
            ticket,
            Action.WAIT_FOR_ENTRY_FILL,
            f"entry filled {done} of {entry.quantity}; exits are sized for the whole position",
        )
    t1 = legs.get("t1")
    waits_for_t1 = ticket.leg == "runner_stop" and t1 is not None and t1.order_class != "oco"
    if waits_for_t1 and t1 is not None and not fully_filled(at_broker.get(t1.tag, ()), t1.quantity):
        return PlacementDecision(
            ticket, Action.WAIT_FOR_T1_FILL, "the breakeven runner stop goes after the T1 scale-out fills"
        )
    return PlacementDecision(ticket, Action.PLACE, "entry filled")


def opening_notional(decisions: Sequence[PlacementDecision]) -> Decimal:
    """Dollars the run's opening orders commit: limit × contracts × multiplier."""
    total = Decimal(0)
    for decision in decisions:
        ticket = decision.ticket
        if decision.action == Action.PLACE and not ticket.side.closing:
            price = ticket.price if ticket.price is not None else ticket.stop_price
            if price is None:
                raise PlacementRefused(
                    f"ticket {ticket.ticket_id}: an opening order without a price cannot be capped"
                )
            total += price * ticket.quantity * MULTIPLIER
    return total


def expected_confirmation(decisions: Sequence[PlacementDecision]) -> str:
    """The phrase an operator types to allow this run: it names how many orders will go out."""
    return f"PLACE {sum(d.action == Action.PLACE for d in decisions)}"


def check_placement(
    decisions: Sequence[PlacementDecision], confirm: str | None, limits: PlacementLimits
) -> list[PlacementDecision]:
    """The decisions to send, or PlacementRefused naming the confirmation or the cap that failed."""
    to_place = [d for d in decisions if d.action == Action.PLACE]
    if not to_place:
        return []  # nothing leaves: a re-run that only confirms what the broker has needs no phrase
    notional = opening_notional(decisions)
    wanted = expected_confirmation(decisions)
    if (confirm or "").strip() != wanted:
        raise PlacementRefused(
            f"confirm must be {wanted!r} to send {len(to_place)} order(s) "
            f"(opening notional ${notional:,.2f}); got {confirm!r}"
        )
    if len(to_place) > limits.max_orders:
        raise PlacementRefused(
            f"{len(to_place)} orders exceed max_orders={limits.max_orders}; nothing was sent"
        )
    if notional > limits.max_opening_notional:
        raise PlacementRefused(
            f"opening notional ${notional:,.2f} exceeds "
            f"max_opening_notional=${limits.max_opening_notional:,.2f}; nothing was sent"
        )
    return to_place


def check_environment(*, live_host: bool, allow_live: bool, live_credential: bool) -> None:
    """Live placement needs both the TRADIER_ALLOW_LIVE flag and a credential marked live."""
    if live_host and not (allow_live and live_credential):
        missing = [
            name
            for name, ok in (("TRADIER_ALLOW_LIVE=true", allow_live), ("a live credential", live_credential))
            if not ok
        ]
        raise PlacementRefused(f"placement on the live host needs {' and '.join(missing)}; nothing was sent")
