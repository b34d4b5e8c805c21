"""``/accounts/{id}/orders``: list, read, place (and preview), modify, cancel.

``class`` option, oco, oto and otoco are placed; with a simulation the fill engine looks at a new or
modified order at once (a marketable order can be filled before the answer goes out), and a
closing order larger than the position is accepted and then shows ``rejected``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from spx_pipeline.domain.tradier.enums import WORKING_STATUSES
from spx_pipeline.domain.tradier.order_requests import (
    OcoOrderRequest,
    OptionLeg,
    OtocoOrderRequest,
    OtoOrderRequest,
)
from spx_pipeline.emulator.ledger import COMMISSION_PER_CONTRACT, MULTIPLIER, short_requirement
from spx_pipeline.emulator.order_forms import parse_modify, parse_order
from spx_pipeline.emulator.response_format import collection
from spx_pipeline.emulator.routing import ROUTES, ApiError, Call, Reply
from spx_pipeline.emulator.stored_order import StoredOrder

if TYPE_CHECKING:
    from spx_pipeline.emulator.core import EmulatorCore

NOT_ENOUGH_BP = "You do not have enough buying power for this trade."


@ROUTES.add("GET", r"^/v1/accounts/([^/]+)/orders$")
def list_orders(emu: EmulatorCore, call: Call) -> Any:
    """The account's orders, ``orders_page_size`` a page (all on page 1 by default); past the end "null"."""
    page = call.param("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise ApiError(400, f"page must be a positive integer, got {page!r}")
    rows = [o.to_wire(include_tags=call.flag("includeTags")) for o in emu.book.orders(call.match.group(1))]
    size = emu.config.orders_page_size or max(len(rows), 1)
    rows = rows[(int(page) - 1) * size : int(page) * size]
    if not rows:
        return {"orders": "null"}
    return {"orders": {"order": collection(rows)}}


@ROUTES.add("GET", r"^/v1/accounts/([^/]+)/orders/([^/]+)$")
def get_order(emu: EmulatorCore, call: Call) -> Any:
    return {"order": _stored(emu, call).to_wire(include_tags=True)}


def _stored(emu: EmulatorCore, call: Call) -> StoredOrder:
    account_id, raw_id = call.match.group(1), call.match.group(2)
    stored = emu.book.order(account_id, int(raw_id)) if raw_id.isdigit() else None
    if stored is None:
        raise ApiError(404, f"Order {raw_id} not found for account {account_id}")
    return stored


@ROUTES.add("POST", r"^/v1/accounts/([^/]+)/orders$")
def place_order(emu: EmulatorCore, call: Call) -> Any:
    account_id = call.match.group(1)
    request = parse_order(call)
    if isinstance(request, OcoOrderRequest | OtoOrderRequest | OtocoOrderRequest):
        if request.preview:
            return _preview_multi(emu, request)
        legs = list(request.legs)
    else:
        legs = [request.leg]
        preview = _preview_single(emu, account_id, request.leg, request.duration, preview=request.preview)
        if preview is not None:
            return preview
    # Only what can work at once reserves: an OCO's larger leg, an OTO/OTOCO's opening order.
    reservations = [_reservation(emu, leg) for leg in legs]
    available = emu.book.available_buying_power(account_id)
    if max(reservations) > 0 and max(reservations) > available:
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    if emu.engine is not None and any(_needs_margin(emu, account_id, leg) > available for leg in legs):
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    now = emu.now()
    closed = emu.engine is not None and emu.hours.session_at(now) is None
    stored = emu.book.place(
        account_id,
        legs,
        duration=request.duration,
        tag=request.tag,
        reservations=reservations,
        now=now,
        status="pending" if closed else "open",
        check_positions=emu.engine is not None,
        order_class=request.order_class.value,
    )
    if stored is None:  # lost a race for the same buying power
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    if emu.engine is not None and stored.working:
        emu.engine.admit(stored, now)
    return {"order": {"id": stored.id, "status": "ok", "partner_id": stored.partner_id}}


def _needs_margin(emu: EmulatorCore, account_id: str, leg: OptionLeg) -> Decimal:
    """The requirement an opening sell adds in a margin account (simulated servers check it)."""
    if leg.side != "sell_to_open" or emu.book.accounts[account_id].account_type == "cash":
        return Decimal("0")
    return _short_requirement(emu, leg) * leg.quantity


def _reservation(emu: EmulatorCore, leg: OptionLeg) -> Decimal:
    """What an open buy holds of buying power: premium at its price and commission (sells: 0)."""
    if not leg.buying:
        return Decimal("0")
    premium = (_unit_price(emu, leg) * leg.quantity * MULTIPLIER).quantize(Decimal("0.01"))
    return premium + COMMISSION_PER_CONTRACT * leg.quantity


def _preview_single(
    emu: EmulatorCore, account_id: str, leg: OptionLeg, duration: str, *, preview: bool
) -> Any | None:
    """The preview document, the buying-power refusal, or None (go on and place)."""
    unit = _unit_price(emu, leg)
    qty = leg.quantity
    commission = COMMISSION_PER_CONTRACT * qty
    premium = (unit * qty * MULTIPLIER).quantize(Decimal("0.01"))
    requirement = Decimal("0.00") if leg.buying else _short_requirement(emu, leg) * qty
    cost = premium + commission if leg.buying else requirement
    if leg.buying and cost > emu.book.available_buying_power(account_id):
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    if not preview:
        return None
    return {
        "order": {
            "status": "ok",
            "result": True,
            "commission": commission,
            "cost": premium + commission,
            "fees": Decimal("0.00"),
            "symbol": leg.symbol,
            "quantity": qty,
            "side": leg.side,
            "type": leg.type,
            "duration": duration,
            "price": unit,
            "order_cost": premium if leg.buying else -premium,
            "margin_change": requirement,
            "option_requirement": requirement,
            "request_date": _request_date(emu),
            "extended_hours": False,
            "class": "option",
            "strategy": "option",
            "day_trades": 0,
        }
    }


def _request_date(emu: EmulatorCore) -> str:
    return emu.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _preview_multi(emu: EmulatorCore, request: OcoOrderRequest | OtoOrderRequest | OtocoOrderRequest) -> Any:
    """Price an OCO (at most one leg executes) or an OTO/OTOCO (its first order, then one exit)."""
    first = request.legs[0]
    qty = max(leg.quantity for leg in request.legs)
    commission = COMMISSION_PER_CONTRACT * qty
    if not isinstance(request, OcoOrderRequest):
        premium = (_unit_price(emu, first) * first.quantity * MULTIPLIER).quantize(Decimal("0.01"))
        return {
            "order": {
                "status": "ok", "result": True, "commission": commission * 2,
                "cost": premium + commission * 2,
                "fees": Decimal("0.00"), "symbol": first.symbol, "quantity": qty, "side": first.side,
                "type": request.order_class.value, "duration": request.duration, "order_cost": premium,
                "margin_change": Decimal("0.00"), "request_date": _request_date(emu), "extended_hours": False,
                "class": request.order_class.value, "strategy": request.order_class.value, "day_trades": 0,
            }
        }  # fmt: skip
    return {
        "order": {
            "status": "ok",
            "result": True,
            "commission": commission,
            "cost": commission,
            "fees": Decimal("0.00"),
            "symbol": first.symbol,
            "quantity": qty,
            "side": first.side,
            "type": request.order_class.value,
            "duration": request.duration,
            "order_cost": Decimal("0.00"),
            "margin_change": Decimal("0.00"),
            "request_date": _request_date(emu),
            "extended_hours": False,
            "class": request.order_class.value,
            "strategy": request.order_class.value,
            "day_trades": 0,
        }
    }


def _unit_price(emu: EmulatorCore, leg: OptionLeg) -> Decimal:
    if leg.type in ("limit", "stop_limit") and leg.price is not None:
        return leg.price
    if leg.type == "stop" and leg.stop is not None:
        return leg.stop
    quote = emu.market.option_quote(leg.contract, greeks=False)
    if quote is None:
        raise ApiError(400, f"option_symbol {leg.option_symbol!r} has no market")
    side_price = quote["ask"] if leg.buying else quote["bid"]
    return Decimal(str(side_price or quote["ask"]))


def _short_requirement(emu: EmulatorCore, leg: OptionLeg) -> Decimal:
    """Per-contract requirement of an opening sell at the index's current level (others: 0)."""
    if leg.side != "sell_to_open":
        return Decimal("0.00")
    market = emu.market
    spot = market.spot if market.path is None else round(market.spot_at(emu.now()), 2)
    return short_requirement(
        strike=leg.contract.strike,
        is_call=leg.contract.right == "C",
        spot=Decimal(str(spot)),
        premium=_unit_price(emu, leg),
    )


@ROUTES.add("PUT", r"^/v1/accounts/([^/]+)/orders/([^/]+)$")
def modify_order(emu: EmulatorCore, call: Call) -> Any:
    account_id = call.match.group(1)
    stored = _stored(emu, call)
    if stored.legs:
        raise ApiError(
            400,
            f"Order {stored.id} is a {stored.order_class} order: cancel it and place a new one to change it",
        )
    request = parse_modify(
        call,
        current_type=stored.type,
        current_price=stored.price,
        current_stop=stored.stop,
        current_duration=stored.duration,
    )
    if stored.status not in WORKING_STATUSES:
        return Reply(
            200,
            document={"errors": {"error": f"Order {stored.id} is {stored.status} and cannot be modified"}},
        )
    final_type = request.type or stored.type
    final_price = request.price if request.price is not None else stored.price
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("type", request.type),
            ("duration", request.duration),
            ("price", request.price),
            ("stop", request.stop),
        )
        if value is not None
    }
    if stored.buying and final_price is not None and final_type in ("limit", "stop_limit"):
        changes["reserved"] = (
            final_price * stored.quantity * MULTIPLIER + COMMISSION_PER_CONTRACT * stored.quantity
        )
    now = emu.now()
    updated = emu.book.modify(account_id, stored.id, changes, now=now)
    if emu.engine is not None:
        emu.engine.admit(updated, now)
    return {"order": {"id": updated.id, "status": "ok", "partner_id": updated.partner_id}}


@ROUTES.add("DELETE", r"^/v1/accounts/([^/]+)/orders/([^/]+)$")
def cancel_order(emu: EmulatorCore, call: Call) -> Any:
    stored = _stored(emu, call)
    if stored.status not in WORKING_STATUSES:
        return Reply(
            200,
            document={"errors": {"error": f"Order {stored.id} is {stored.status} and cannot be canceled"}},
        )
    canceled = emu.book.cancel(call.match.group(1), stored.id, now=emu.now())
    return {"order": {"id": canceled.id, "status": "ok"}}
