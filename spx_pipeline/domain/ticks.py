"""SPX/SPXW single-leg price increments.

Cboe rejects off-increment single-leg SPX orders: $0.05 below $3.00 and $0.10 at or above. Buys
round *up* (pay at least what we computed, so the order is marketable) and sells round *down*;
2.975 rounds up to 3.00, which is itself on the 0.10 grid.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

TICK_SMALL = Decimal("0.05")
TICK_LARGE = Decimal("0.10")
TICK_BREAK = Decimal("3.00")
# No SPX option trades anywhere near this; the bound keeps Decimal arithmetic (``%``, ``quantize``)
# inside its precision, so absurd input is refused as a ValueError instead of ``InvalidOperation``.
MAX_PRICE = Decimal("100000")

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


def tick_size(price: PriceLike) -> Decimal:
    """The increment that applies at ``price``."""
    return TICK_SMALL if _as_decimal(price) < TICK_BREAK else TICK_LARGE


def is_on_tick(price: PriceLike) -> bool:
    """Whether ``price`` is a valid single-leg SPX price (positive, below ``MAX_PRICE``, on its increment)."""
    price = _as_decimal(price)
    if not price.is_finite() or price <= 0 or price >= MAX_PRICE:
        return False
    try:
        return price % tick_size(price) == 0
    except ArithmeticError:
        return False


def round_to_tick(price: PriceLike, side: Side) -> Decimal:
    """Round to a valid tick: buys up, sells down. Result is quantized to cents."""
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    price = _as_decimal(price)
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price must be a positive finite number, got {price}")
    if price >= MAX_PRICE:
        raise ValueError(f"price must be below {MAX_PRICE}, got {price}")
    rounding = ROUND_CEILING if side == "buy" else ROUND_FLOOR
    small = (price / TICK_SMALL).to_integral_value(rounding) * TICK_SMALL
    if small < TICK_BREAK:
        if side == "sell" and small <= 0:
            raise ValueError(f"price {price} rounds down to zero")
        return small.quantize(Decimal("0.01"))
    large = (price / TICK_LARGE).to_integral_value(rounding) * TICK_LARGE
    if side == "sell" and large < TICK_BREAK:
        # Below 3.00 after rounding down on the coarse grid: use the fine grid instead.
        large = small if small < TICK_BREAK else TICK_BREAK - TICK_SMALL
    return large.quantize(Decimal("0.01"))


def round_to_tick_array(prices: npt.ArrayLike, side: Side) -> npt.NDArray[np.float64]:
    """Vectorised ``round_to_tick`` on float prices, exact to the cent (works in integer cents).

    Unlike the scalar version it does not raise: NaN, infinite, non-positive prices, prices at or
    above ``MAX_PRICE`` (they would overflow int64 units) and sells that round down to nothing come
    back as 0.0, which callers treat as "no valid price" (a chain row
    without a quote must not abort a whole batch).
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    p = np.asarray(prices, dtype=np.float64)
    valid = np.isfinite(p) & (p > 0) & (p < float(MAX_PRICE))
    # Work in hundredths of a cent to absorb float noise such as 1.1500000000000001.
    units = np.rint(np.where(valid, p, 0.0) * 10_000).astype(np.int64)
    small_u, large_u, brk = 500, 1000, 30_000
    if side == "buy":
        small = -((-units) // small_u) * small_u
        large = -((-units) // large_u) * large_u
        out = np.where(small < brk, small, large)
    else:
        small = (units // small_u) * small_u
        large = (units // large_u) * large_u
        out = np.where(units < brk, small, large)
    out = np.where(valid, out, 0)
    return out / 10_000.0
