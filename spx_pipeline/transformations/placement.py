"""Send chosen order tickets to the broker, once each, and say what became of every leg.

The broker's own record is the idempotency key: before deciding anything, every account's orders
are read with their tags, and a leg whose tag is already there is never sent again. An account
whose orders cannot be read sends nothing (nothing would prove the tag is new). A POST that gets
no answer is resolved by looking the tag up, never by resending; if the lookup cannot tell, the
leg is recorded ``ambiguous`` and the next run's lookup settles it. ``record`` is called before a
leg is sent (``sending``) and after (its outcome), so a crash in between leaves a trace that the
next run resolves through the tag.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from urllib.parse import urlsplit

import pandas as pd

from spx_pipeline.broker.tradier import (
    AmbiguousOrderError,
    Order,
    TradierClient,
    TradierError,
    TradierOrderRejectedError,
)
from spx_pipeline.broker.tradier.hosts import LIVE_HOSTS, normalize_host
from spx_pipeline.domain.execution import (
    Action,
    BrokerOrderLeg,
    PlacementDecision,
    PlacementLimits,
    PlacementRecord,
    PlacementRefused,
    TicketLeg,
    check_environment,
    check_placement,
    expected_confirmation,
    plan_placements,
)
from spx_pipeline.domain.market_calendar import NEW_YORK
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.transformations.execution import ticket_legs

Record = Callable[[PlacementRecord], None]
ClientFor = Callable[[str], TradierClient]  # account id -> a client holding that account's token


def is_live_host(client: TradierClient) -> bool:
    return normalize_host(urlsplit(client.base_url).hostname or "") in LIVE_HOSTS


def orders_by_tag(orders: Sequence[Order], account_id: str) -> dict[str, list[BrokerOrderLeg]]:
    """The broker's orders that carry a tag, as legs (a parent OCO counts under its tag)."""
    found: dict[str, list[BrokerOrderLeg]] = {}
    for order in orders:
        if not order.tag:
            continue
        side, kind = Side.parse(order.side), OrderType.parse(order.type)
        created = order.create_date
        found.setdefault(order.tag, []).append(
            BrokerOrderLeg(
                account_id=account_id,
                order_id=int(order.id or 0),
                leg_index=0,
                tag=order.tag,
                option_symbol=order.option_symbol or order.symbol or "",
                side=side or Side.BUY_TO_OPEN,
                order_type=kind or OrderType.LIMIT,
                status=str(order.status or ""),
                quantity=int(order.quantity or 0),
                exec_quantity=int(order.exec_quantity or 0),
                remaining_quantity=int(order.remaining_quantity or 0),
                avg_fill_price=order.avg_fill_price,
                session=created.astimezone(NEW_YORK).date() if created else date.min,
                created_at=created,
                transaction_at=order.transaction_date,
            )
        )
    return found


def place_tickets(
    tickets: pd.DataFrame,
    client_for: ClientFor,
    *,
    confirm: str | None,
    limits: PlacementLimits,
    allow_live: bool,
    live_accounts: frozenset[str],
    now: Callable[[], datetime],
    record: Record,
    dry_run: bool = False,
) -> list[PlacementRecord]:
    """Plan from the broker's tags, refuse or send, and return one record per ticket leg.

    Raises ``PlacementRefused`` (nothing sent) for a missing or wrong confirmation, a cap, or the
    live host without both the flag and a live credential. ``dry_run`` plans and checks the caps
    only: every leg it would send comes back as ``would_place`` and nothing is sent or recorded.
    """
    legs = ticket_legs(tickets)
    accounts = sorted({leg.account_id for leg in legs})
    clients = {account: client_for(account) for account in accounts}
    try:
        for account, client in clients.items():
            check_environment(
                live_host=is_live_host(client),
                allow_live=allow_live,
                live_credential=account in live_accounts,
            )
        at_broker: dict[str, list[BrokerOrderLeg]] = {}
        unreadable: dict[str, str] = {}
        for account, client in clients.items():
            try:
                at_broker.update(orders_by_tag(client.list_orders(account, include_tags=True), account))
            except TradierError as exc:
                unreadable[account] = f"orders could not be read, so no tag can be proven new ({exc.message})"
        readable = [leg for leg in legs if leg.account_id not in unreadable]
        decisions = plan_placements(readable, at_broker)
        if dry_run:
            check_placement(decisions, expected_confirmation(decisions), limits)
            return [_planned(decision, now()) for decision in decisions]
        to_send = check_placement(decisions, confirm, limits)
        records: list[PlacementRecord] = []

        def keep(item: PlacementRecord) -> None:
            record(item)
            records.append(item)

        for decision in plan_placements([leg for leg in legs if leg.account_id in unreadable], {}):
            keep(
                _record(
                    decision.ticket,
                    decision.action,
                    "error",
                    message=unreadable[decision.ticket.account_id],
                    at=now(),
                )
            )
        payloads = dict(zip(tickets["ticket_id"], tickets["payload_json"], strict=True))
        for decision in decisions:
            if decision in to_send:
                keep(
                    _send(
                        decision,
                        clients[decision.ticket.account_id],
                        payloads[decision.ticket.ticket_id],
                        now,
                        record,
                    )
                )
                continue
            status = "already_at_broker" if decision.action == Action.ALREADY_AT_BROKER else "waiting"
            keep(_record(decision.ticket, decision.action, status, order_id=decision.broker_order_id,
                         message=decision.reason, at=now()))  # fmt: skip
        return records
    finally:
        for client in clients.values():
            client.close()


def _planned(decision: PlacementDecision, at: datetime) -> PlacementRecord:
    status = {Action.PLACE: "would_place", Action.ALREADY_AT_BROKER: "already_at_broker"}.get(
        decision.action, "waiting"
    )
    return _record(
        decision.ticket,
        decision.action,
        status,
        order_id=decision.broker_order_id,
        message=decision.reason,
        at=at,
    )


def _send(
    decision: PlacementDecision,
    client: TradierClient,
    payload: str,
    now: Callable[[], datetime],
    record: Record,
) -> PlacementRecord:
    """POST one leg (recorded as ``sending`` first); an unanswered POST is settled by its tag only."""
    ticket, action = decision.ticket, decision.action
    form = {key: str(value) for key, value in json.loads(payload).items() if key != "preview"}
    if form.get("tag") != ticket.tag:
        return _record(
            ticket,
            action,
            "error",
            message=f"payload tag {form.get('tag')!r} is not {ticket.tag!r}",
            at=now(),
        )
    record(_record(ticket, action, "sending", message="sent to the broker", at=now()))
    try:
        result = client.place_order(ticket.account_id, form, reconcile_by_tag=True)
    except AmbiguousOrderError as exc:
        return _record(ticket, action, "ambiguous", message=exc.message, at=now())
    except TradierOrderRejectedError as exc:
        return _record(ticket, action, "rejected", message=exc.message, at=now())
    except (TradierError, ValueError) as exc:
        return _record(ticket, action, "error", message=str(exc), at=now())
    note = "found by tag after an unanswered POST" if getattr(result, "reconciled", False) else "accepted"
    return _record(ticket, action, "placed", order_id=getattr(result, "id", None), message=note, at=now())


def _record(
    ticket: TicketLeg, action: str, status: str, *, order_id: int | None = None, message: str, at: datetime
) -> PlacementRecord:
    return PlacementRecord(
        ticket_id=ticket.ticket_id,
        account_id=ticket.account_id,
        leg=ticket.leg,
        tag=ticket.tag,
        action=str(action),
        status=status,
        broker_order_id=order_id,
        message=message[:500],
        at=at,
    )


__all__ = ["PlacementRefused", "is_live_host", "orders_by_tag", "place_tickets"]
