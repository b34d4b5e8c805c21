"""Realized slippage, signed so that positive is adverse.

A buy that fills above its intended price and a sell that fills below it cost the trader money:
both count as positive slippage, so one sign means "worse" whatever the side. Ticks are the grid
steps between the intended and the filled price, across the $3.00 boundary (a stop at 3.20 filled
at 2.80 is 2 steps of $0.10 and 4 of $0.05: 6 ticks), because that is how far down the book it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spx_pipeline.domain.sizing import MULTIPLIER
from spx_pipeline.domain.ticks import ticks_between
from spx_pipeline.domain.tradier.enums import Side


@dataclass(frozen=True, slots=True)
class Slippage:
    """Adverse slippage of one fill: per share of premium, per contract in dollars, and in ticks."""

    per_share: Decimal
    per_contract: Decimal
    ticks: Decimal


def realized_slippage(side: Side | str, intended: Decimal, fill: Decimal) -> Slippage:
    """Slippage of a fill at ``fill`` against ``intended``; positive is adverse for either side.

    Raises ValueError naming the field when a price is not positive or the side is not Tradier's.
    """
    member = Side.parse(side)
    if member is None:
        raise ValueError(f"side must be one of {', '.join(Side.values())}, got {side!r}")
    for field, price in (("intended_price", intended), ("fill_price", fill)):
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise ValueError(f"{field} must be a positive Decimal, got {price!r}")
    per_share = fill - intended if member.buying else intended - fill
    return Slippage(
        per_share=per_share,
        per_contract=per_share * MULTIPLIER,
        ticks=ticks_between(intended, fill) if member.buying else ticks_between(fill, intended),
    )
