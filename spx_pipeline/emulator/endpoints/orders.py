"""``/accounts/{id}/orders``: list, read, place (and preview), modify, cancel."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from spx_pipeline.emulator.order_forms import LegRequest, OcoRequest, parse_modify, parse_order
from spx_pipeline.emulator.routing import ApiError, Call, Reply, Route, route
from spx_pipeline.emulator.state import COMMISSION_PER_CONTRACT, MULTIPLIER, OPEN_STATUSES, StoredOrder
from spx_pipeline.emulator.wire import collection

if TYPE_CHECKING:
    from spx_pipeline.emulator.server import TradierEmulator

NOT_ENOUGH_BP = "You do not have enough buying power for this trade."


def list_orders(emu: TradierEmulator, call: Call) -> Any:
    """All orders fit on page 1; later pages are "null", as Tradier pages past the end."""
    page = call.param("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise ApiError(400, f"page must be a positive integer, got {page!r}")
    rows = [o.to_wire(include_tags=call.flag("includeTags")) for o in emu.book.orders(call.match.group(1))]
    if not rows or int(page) > 1:
        return {"orders": "null"}
    return {"orders": {"order": collection(rows)}}


def get_order(emu: TradierEmulator, call: Call) -> Any:
    return {"order": _stored(emu, call).to_wire(include_tags=True)}


def _stored(emu: TradierEmulator, call: Call) -> StoredOrder:
    account_id, raw_id = call.match.group(1), call.match.group(2)
    stored = emu.book.order(account_id, int(raw_id)) if raw_id.isdigit() else None
    if stored is None:
        raise ApiError(404, f"Order {raw_id} not found for account {account_id}")
    return stored


def place_order(emu: TradierEmulator, call: Call) -> Any:
    account_id = call.match.group(1)
    request = parse_order(call)
    if isinstance(request, OcoRequest):
        return _preview_oco(emu, request)
    leg = request.leg
    unit = _unit_price(emu, leg)
    qty = leg.quantity
    commission = COMMISSION_PER_CONTRACT * qty
    premium = (unit * qty * MULTIPLIER).quantize(Decimal("0.01"))
    requirement = Decimal("0.00") if leg.buying else _short_requirement(emu, leg) * qty
    cost = premium + commission if leg.buying else requirement
    if leg.buying and cost > emu.book.available_buying_power(account_id):
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    if request.preview:
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
                "duration": request.duration,
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
    stored = emu.book.place(
        account_id,
        symbol=leg.symbol,
        option_symbol=leg.option_symbol,
        side=leg.side,
        quantity=qty,
        order_type=leg.type,
        duration=request.duration,
        price=leg.price,
        stop=leg.stop,
        tag=request.tag,
        cost=cost if leg.buying else Decimal("0"),
        now=emu.now(),
    )
    if stored is None:  # lost a race for the same buying power
        return Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
    return {"order": {"id": stored.id, "status": "ok", "partner_id": stored.partner_id}}


def _request_date(emu: TradierEmulator) -> str:
    return emu.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _preview_oco(emu: TradierEmulator, request: OcoRequest) -> Any:
    """Price an OCO: at most one leg executes, so the commission is the larger leg's.

    Only previews are served: the emulator's book holds single-leg orders, and placing a
    linked pair it could not cancel as one would misrepresent Tradier.
    """
    if not request.preview:
        raise ApiError(400, "the emulator previews class=oco (preview=true) but does not place it")
    first = request.legs[0]
    qty = max(leg.quantity for leg in request.legs)
    commission = COMMISSION_PER_CONTRACT * qty
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
            "type": "oco",
            "duration": request.duration,
            "order_cost": Decimal("0.00"),
            "margin_change": Decimal("0.00"),
            "request_date": _request_date(emu),
            "extended_hours": False,
            "class": "oco",
            "strategy": "oco",
            "day_trades": 0,
        }
    }


def _unit_price(emu: TradierEmulator, leg: LegRequest) -> Decimal:
    if leg.type in ("limit", "stop_limit") and leg.price is not None:
        return leg.price
    if leg.type == "stop" and leg.stop is not None:
        return leg.stop
    quote = emu.market.option_quote(leg.contract, greeks=False)
    if quote is None:
        raise ApiError(400, f"option_symbol {leg.option_symbol!r} has no market")
    side_price = quote["ask"] if leg.buying else quote["bid"]
    return Decimal(str(side_price or quote["ask"]))


def _short_requirement(emu: TradierEmulator, leg: LegRequest) -> Decimal:
    """Per-contract requirement for a short index option, a Reg-T-like simplification.

    premium + max(15% of the index - out-of-the-money amount, 10% of the strike/index), x100.
    Real house requirements differ; only opening sells carry it.
    """
    if leg.side != "sell_to_open":
        return Decimal("0.00")
    contract = leg.contract
    spot = Decimal(str(emu.market.spot))
    strike = contract.strike
    otm = max(strike - spot, Decimal(0)) if contract.right == "C" else max(spot - strike, Decimal(0))
    floor = Decimal("0.10") * (spot if contract.right == "C" else strike)
    per = _unit_price(emu, leg) + max(Decimal("0.15") * spot - otm, floor)
    return (per * MULTIPLIER).quantize(Decimal("0.01"))


def modify_order(emu: TradierEmulator, call: Call) -> Any:
    account_id = call.match.group(1)
    stored = _stored(emu, call)
    request = parse_modify(call, current_duration=stored.duration)
    if stored.status not in OPEN_STATUSES:
        return Reply(
            200,
            document={"errors": {"error": f"Order {stored.id} is {stored.status} and cannot be modified"}},
        )
    final_type = request.type or stored.type
    final_price = request.price if request.price is not None else stored.price
    final_stop = request.stop if request.stop is not None else stored.stop
    if final_type in ("limit", "stop_limit") and final_price is None:
        raise ApiError(400, f"price is required for type {final_type}")
    if final_type in ("stop", "stop_limit") and final_stop is None:
        raise ApiError(400, f"stop is required for type {final_type}")
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
    updated = emu.book.modify(account_id, stored.id, changes, now=emu.now())
    return {"order": {"id": updated.id, "status": "ok", "partner_id": updated.partner_id}}


def cancel_order(emu: TradierEmulator, call: Call) -> Any:
    stored = _stored(emu, call)
    if stored.status not in OPEN_STATUSES:
        return Reply(
            200,
            document={"errors": {"error": f"Order {stored.id} is {stored.status} and cannot be canceled"}},
        )
    canceled = emu.book.cancel(call.match.group(1), stored.id, now=emu.now())
    return {"order": {"id": canceled.id, "status": "ok"}}


ROUTES: list[Route] = [
    route("GET", r"^/v1/accounts/([^/]+)/orders$", list_orders),
    route("POST", r"^/v1/accounts/([^/]+)/orders$", place_order),
    route("GET", r"^/v1/accounts/([^/]+)/orders/([^/]+)$", get_order),
    route("PUT", r"^/v1/accounts/([^/]+)/orders/([^/]+)$", modify_order),
    route("DELETE", r"^/v1/accounts/([^/]+)/orders/([^/]+)$", cancel_order),
]
