"""The order rules, one per wire field: what a value must be for Tradier to take it.

Each rule takes a loose Python value (text from a form, a float from a calculation, a numpy number
from a frame) and either returns the checked value or raises ``OrderPayloadError`` naming the wire
field (``price``, ``stop[1]``...) and the value. ``order_requests`` composes them into requests.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

import numpy as np

from spx_pipeline.domain.occ import OptionContract, OptionSymbolError, parse_option_symbol
from spx_pipeline.domain.ticks import MAX_PRICE, on_tick_price
from spx_pipeline.domain.tradier.enums import OrderType, _WireEnum

TAG_PATTERN: Final = re.compile(r"^[A-Za-z0-9-]{1,255}$")
CENT: Final = Decimal("0.01")

E = TypeVar("E", bound=_WireEnum)


class OrderPayloadError(ValueError):
    """A payload field Tradier would reject (or that would place the wrong order); names the field."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field}={value!r}: {problem}")
        self.field = field
        self.value = value
        self.problem = problem


def choice(kind: type[E], field: str, value: object) -> E:
    """``value`` as a member of the vocabulary ``kind``; anything else is refused, naming the choices."""
    member = kind.parse(value) if isinstance(value, str) else None
    if member is None:
        raise OrderPayloadError(field, value, f"must be one of {', '.join(kind.values())}")
    return member


def whole_contracts(value: object, field: str = "quantity") -> int:
    """A positive whole number of contracts (an int, or a float/Decimal with no fraction)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | np.integer | np.floating):
        raise OrderPayloadError(field, value, "must be a whole number of contracts")
    try:
        exact = Decimal(str(value))
    except InvalidOperation as exc:
        raise OrderPayloadError(field, value, "must be a whole number of contracts") from exc
    if not exact.is_finite() or exact != exact.to_integral_value():
        raise OrderPayloadError(field, value, "must be a whole number of contracts")
    if exact < 1:
        raise OrderPayloadError(field, value, "must be at least 1")
    return int(exact)


def tick_price(value: object, field: str) -> Decimal:
    """A positive price on the SPX tick grid, as that tick (float noise next to it snaps to it)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal | np.floating):
        raise OrderPayloadError(field, value, "must be a price")
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise OrderPayloadError(field, value, "must be a price") from exc
    if not price.is_finite() or price <= 0:
        raise OrderPayloadError(field, value, "must be a positive price")
    if price >= MAX_PRICE:
        raise OrderPayloadError(field, value, f"must be below {MAX_PRICE}")
    tick = on_tick_price(value if isinstance(value, float | np.floating) else price)
    if tick is None:
        raise OrderPayloadError(
            field, value, "is off the SPX tick grid ($0.05 below $3.00, $0.10 at or above)"
        )
    return tick


def fixed(price: Decimal) -> str:
    """A price as Tradier's forms carry it: fixed-point with cents ("1.15", "3.10")."""
    return str(price.quantize(CENT))


def check_tag(tag: object, field: str = "tag") -> str:
    if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
        raise OrderPayloadError(field, tag, "must be 1-255 letters, digits or '-'")
    return tag


def check_preview(preview: object) -> bool:
    if not isinstance(preview, bool):
        raise OrderPayloadError("preview", preview, "must be True or False")
    return preview


def option_contract(option_symbol: object, field: str = "option_symbol") -> OptionContract:
    """The contract of any accepted spelling (OSI, Tradier, Massive)."""
    if not isinstance(option_symbol, str):
        raise OrderPayloadError(field, option_symbol, "must be an option symbol string")
    try:
        return parse_option_symbol(option_symbol)
    except OptionSymbolError as exc:
        raise OrderPayloadError(field, option_symbol, str(exc)) from exc


def check_prices(
    kind: OrderType, price: object, stop: object, *, suffix: str = "", changing: bool = False
) -> None:
    """A price exactly when ``kind`` uses one, a stop exactly when it uses one."""
    when = f"when changing to a {kind} order" if changing else f"for a {kind} order"
    if kind.uses_price and price is None:
        raise OrderPayloadError(f"price{suffix}", price, f"is required {when}")
    if not kind.uses_price and price is not None:
        raise OrderPayloadError(f"price{suffix}", price, f"does not apply to a {kind} order")
    if kind.uses_stop and stop is None:
        raise OrderPayloadError(f"stop{suffix}", stop, f"is required {when}")
    if not kind.uses_stop and stop is not None:
        raise OrderPayloadError(f"stop{suffix}", stop, f"does not apply to a {kind} order")
