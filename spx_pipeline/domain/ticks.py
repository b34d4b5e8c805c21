"""SPX/SPXW single-leg price increments.

Cboe rejects off-increment single-leg SPX orders: $0.05 below $3.00 and $0.10 at or above. Buys
round *up* (pay at least what we computed, so the order is marketable) and sells round *down*;
2.975 rounds up to 3.00, which is itself on the 0.10 grid.

Both paths first snap a price to whole micro-dollars (1/1,000,000 $, half-even), so a value within
half a micro-dollar of a tick *is* that tick: float noise such as 1.7000000000000002 must not buy
at 1.75. A float is snapped with the float product ``price * 1e6`` in both the scalar and the
vectorized path, which is what makes the two agree on every float input; Decimal, int and str
prices are snapped exactly. The rest is integer arithmetic on micro-dollars.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Literal

import numpy as np
import numpy.typing as npt

TICK_SMALL = Decimal("0.05")
TICK_LARGE = Decimal("0.10")
TICK_BREAK = Decimal("3.00")
# No SPX option trades anywhere near this; the bound keeps Decimal arithmetic (``%``, ``quantize``)
# inside its precision, so absurd input is refused as a ValueError instead of ``InvalidOperation``.
MAX_PRICE = Decimal("100000")

MICRO = 1_000_000  # snapping resolution: micro-dollars per dollar
_SMALL_U, _LARGE_U, _BREAK_U = 50_000, 100_000, 3_000_000
_MAX_U = int(MAX_PRICE) * MICRO
_CENT = Decimal("0.01")

Side = Literal["buy", "sell"]


PriceLike = Decimal | int | str | float


def _as_decimal(price: PriceLike) -> Decimal:
    """Floats go through ``str`` so 1.15 stays 1.15 rather than 1.149999...; bools are not prices."""
    if isinstance(price, Decimal):
        return price
    if isinstance(price, bool) or not isinstance(price, int | str | float):
        raise TypeError(f"price must be a Decimal, int, str or float, got {type(price).__name__} {price!r}")
    try:
        return Decimal(str(price).strip())
    except ArithmeticError as exc:
        raise ValueError(f"price is not a number: {price!r}") from exc


def price_units(price: PriceLike) -> int | None:
    """``price`` snapped to whole micro-dollars, or None when it is not finite.

    Floats use the float product (as ``round_to_tick_array`` does); everything else is exact.
    Magnitudes at or above ``MAX_PRICE`` are returned as ``MAX_PRICE`` in units so callers refuse
    them without overflowing Decimal precision.
    """
    if isinstance(price, float | np.floating) and not isinstance(price, bool):
        value = float(price)
        if not math.isfinite(value):
            return None
        if abs(value) >= float(MAX_PRICE):
            return _MAX_U if value > 0 else -_MAX_U
        return int(np.rint(value * MICRO))
    amount = _as_decimal(price)
    if not amount.is_finite():
        return None
    if abs(amount) >= MAX_PRICE:
        return _MAX_U if amount > 0 else -_MAX_U
    try:
        return int((amount * MICRO).to_integral_value(ROUND_HALF_EVEN))
    except InvalidOperation:  # pragma: no cover - bounded above, kept for exotic contexts
        return None


def _units_to_price(units: int) -> Decimal:
    return (Decimal(units) / MICRO).quantize(_CENT)


def _round_units(units: int, side: Side) -> int:
    """Integer tick rounding on micro-dollars; the vectorized path does the same with numpy."""
    if side == "buy":
        small = -((-units) // _SMALL_U) * _SMALL_U
        return small if small < _BREAK_U else -((-units) // _LARGE_U) * _LARGE_U
    if units < _BREAK_U:
        return (units // _SMALL_U) * _SMALL_U
    return (units // _LARGE_U) * _LARGE_U


def tick_size(price: PriceLike) -> Decimal:
    """The increment that applies at ``price``."""
    return TICK_SMALL if _as_decimal(price) < TICK_BREAK else TICK_LARGE


def grid_position(price: Decimal) -> Decimal:
    """Where ``price`` sits on the SPX grid, in ticks from zero: 20 per dollar below $3.00, 10 above.

    Piecewise linear and exact, so a price between two ticks sits between their positions (an
    average fill of 2.525 is at 50.5) and $3.00 is at 60 from both sides.
    """
    if price < TICK_BREAK:
        return price / TICK_SMALL
    return TICK_BREAK / TICK_SMALL + (price - TICK_BREAK) / TICK_LARGE


def ticks_between(start: Decimal, end: Decimal) -> Decimal:
    """Signed grid steps from ``start`` to ``end``, counted across the $3.00 boundary.

    3.20 -> 2.80 is -6: two $0.10 steps down to 3.00, then four $0.05 steps; dividing by the
    increment at either end would say 4 or 8.
    """
    return grid_position(end) - grid_position(start)


def is_on_tick(price: PriceLike) -> bool:
    """Whether ``price`` is a valid single-leg SPX price (positive, below ``MAX_PRICE``, on its increment).

    Within half a micro-dollar of a tick counts as on it (see the module docstring).
    """
    units = price_units(price)
    if units is None or units <= 0 or units >= _MAX_U:
        return False
    return _round_units(units, "buy") == units


def round_to_tick(price: PriceLike, side: Side) -> Decimal:
    """Round to a valid tick: buys up, sells down. Result is quantized to cents."""
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    units = price_units(price)
    if units is None or units <= 0:
        raise ValueError(f"price must be a positive finite number, got {price}")
    if units >= _MAX_U:
        raise ValueError(f"price must be below {MAX_PRICE}, got {price}")
    rounded = _round_units(units, side)
    if rounded <= 0:
        raise ValueError(f"price {price} rounds down to zero")
    return _units_to_price(rounded)


def on_tick_price(price: PriceLike) -> Decimal | None:
    """The tick ``price`` stands for (snapped, quantized to cents), or None when it is off the grid."""
    units = price_units(price)
    if units is None or units <= 0 or units >= _MAX_U or _round_units(units, "buy") != units:
        return None
    return _units_to_price(units)


def round_to_tick_array(prices: npt.ArrayLike, side: Side) -> npt.NDArray[np.float64]:
    """Vectorised ``round_to_tick`` on float prices: the same snapping and integer rounding.

    Unlike the scalar version it does not raise: NaN, infinite, non-positive prices, prices at or
    above ``MAX_PRICE`` and prices that snap or round down to nothing come back as 0.0, which
    callers treat as "no valid price" (a chain row without a quote must not abort a whole batch).
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    p = np.asarray(prices, dtype=np.float64)
    finite = np.isfinite(p) & (np.abs(np.where(np.isfinite(p), p, 0.0)) < float(MAX_PRICE))
    units = np.rint(np.where(finite, p, 0.0) * MICRO).astype(np.int64)
    valid = finite & (units > 0) & (units < _MAX_U)
    if side == "buy":
        small = -((-units) // _SMALL_U) * _SMALL_U
        large = -((-units) // _LARGE_U) * _LARGE_U
        out = np.where(small < _BREAK_U, small, large)
    else:
        small = (units // _SMALL_U) * _SMALL_U
        large = (units // _LARGE_U) * _LARGE_U
        out = np.where(units < _BREAK_U, small, large)
    out = np.where(valid, out, 0)
    # Whole cents divided by 100 give the float a cents string round-trips to (1.15, not 1.1500001).
    return (out // 10_000) / 100.0
