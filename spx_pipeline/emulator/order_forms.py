"""Reading order forms the way Tradier checks them: the one place the local server parses orders.

Every refusal is a 400 naming the field and the value. Keeping the vocabulary and the checks here
(and nowhere in the handlers) is what lets shared request models replace this module later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from spx_pipeline.domain.occ import OptionContract, parse_option_symbol
from spx_pipeline.emulator.routing import ApiError, Call, positive_decimal, required

TAG_RE = re.compile(r"^[A-Za-z0-9-]{1,255}$")
SIDES = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
BUY_SIDES = frozenset({"buy_to_open", "buy_to_close"})
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
DURATIONS = ("day", "gtc", "pre", "post")


@dataclass(frozen=True, slots=True)
class LegRequest:
    """One single-leg option order (the whole of ``class=option``, one half of ``class=oco``)."""

    symbol: str
    option_symbol: str
    contract: OptionContract
    side: str
    quantity: int
    type: str
    price: Decimal | None
    stop: Decimal | None

    @property
    def buying(self) -> bool:
        return self.side in BUY_SIDES


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """``class=option``."""

    leg: LegRequest
    duration: str
    tag: str | None
    preview: bool


@dataclass(frozen=True, slots=True)
class OcoRequest:
    """``class=oco``: two legs on one contract that differ in type; one duration and tag."""

    legs: tuple[LegRequest, LegRequest]
    duration: str
    tag: str | None
    preview: bool


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    """``PUT .../orders/{id}``: only what changes (None keeps the order's value)."""

    type: str | None = None
    duration: str | None = None
    price: Decimal | None = None
    stop: Decimal | None = None


def parse_order(call: Call) -> OrderRequest | OcoRequest:
    """A placement form, ``class=option`` or ``class=oco``; anything else is refused."""
    if call.param("class") == "oco":
        return _parse_oco(call)
    klass = required(call, "class")
    if klass != "option":
        raise ApiError(400, f"class is invalid: {klass!r} (the emulator accepts class=option or oco)")
    leg = _parse_leg(call, "")
    duration, tag, preview = _parse_common(call)
    return OrderRequest(leg, duration, tag, preview)


def _parse_oco(call: Call) -> OcoRequest:
    """Keys ``side[0]``, ``stop[1]``... (i from 0). Legs differ in type and share option_symbol."""
    duration, tag, preview = _parse_common(call)
    first, second = _parse_leg(call, "[0]"), _parse_leg(call, "[1]")
    if first.type == second.type:
        raise ApiError(400, f"OCO legs must differ in type, both are {first.type!r}")
    if first.option_symbol != second.option_symbol:
        raise ApiError(
            400,
            f"OCO legs must share option_symbol, got {first.option_symbol!r} and {second.option_symbol!r}",
        )
    return OcoRequest((first, second), duration, tag, preview)


def _parse_leg(call: Call, suffix: str) -> LegRequest:
    symbol = required(call, f"symbol{suffix}").upper()
    option_symbol = required(call, f"option_symbol{suffix}")
    try:
        contract = parse_option_symbol(option_symbol)
    except ValueError as exc:
        raise ApiError(400, f"option_symbol{suffix} is invalid: {option_symbol!r} ({exc})") from exc
    if symbol not in (contract.underlying, contract.root):
        raise ApiError(400, f"symbol{suffix} {symbol!r} does not match option_symbol {option_symbol!r}")
    side = required(call, f"side{suffix}")
    if side not in SIDES:
        raise ApiError(400, f"side{suffix} is invalid: {side!r} (one of {', '.join(SIDES)})")
    raw_qty = required(call, f"quantity{suffix}")
    if not raw_qty.isdigit() or int(raw_qty) < 1:
        raise ApiError(400, f"quantity{suffix} must be a positive integer, got {raw_qty!r}")
    order_type = required(call, f"type{suffix}")
    if order_type not in ORDER_TYPES:
        raise ApiError(400, f"type{suffix} is invalid for class option: {order_type!r}")
    price = stop = None
    if order_type in ("limit", "stop_limit"):
        price = positive_decimal(f"price{suffix}", required(call, f"price{suffix}"))
    if order_type in ("stop", "stop_limit"):
        stop = positive_decimal(f"stop{suffix}", required(call, f"stop{suffix}"))
    return LegRequest(symbol, contract.tradier, contract, side, int(raw_qty), order_type, price, stop)


def _parse_common(call: Call) -> tuple[str, str | None, bool]:
    duration = required(call, "duration")
    if duration not in DURATIONS:
        raise ApiError(400, f"duration is invalid: {duration!r} (one of {', '.join(DURATIONS)})")
    tag = call.param("tag")
    if tag is not None and not TAG_RE.match(tag):
        raise ApiError(400, f"tag is invalid: {tag!r} (1-255 letters, digits or '-')")
    preview = (call.param("preview") or "false").strip().lower()
    if preview not in ("true", "false"):
        raise ApiError(400, f"preview must be true or false, got {preview!r}")
    return duration, tag, preview == "true"


def parse_modify(call: Call, *, current_duration: str) -> ModifyRequest:
    """What a modify form changes; quantity never, a pre/post order's session never."""
    if "quantity" in call.form:
        raise ApiError(400, "quantity cannot be modified; cancel and place a new order")
    new_type = call.form.get("type", [None])[0]
    if new_type is not None and new_type not in ORDER_TYPES:
        raise ApiError(400, f"type is invalid: {new_type!r} (one of {', '.join(ORDER_TYPES)})")
    duration = call.form.get("duration", [None])[0]
    if duration is not None:
        if duration not in DURATIONS:
            raise ApiError(400, f"duration is invalid: {duration!r} (one of {', '.join(DURATIONS)})")
        if current_duration in ("pre", "post") or duration in ("pre", "post"):
            raise ApiError(400, "the session of a pre/post order cannot be changed")
    prices: dict[str, Decimal] = {}
    for name in ("price", "stop"):
        raw = call.form.get(name, [None])[0]
        if raw is not None:
            prices[name] = positive_decimal(name, raw)
    changes = ModifyRequest(new_type, duration, prices.get("price"), prices.get("stop"))
    if changes == ModifyRequest():
        raise ApiError(400, "nothing to modify: send type, duration, price or stop")
    return changes
