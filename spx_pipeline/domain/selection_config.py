"""The chain filters' thresholds (``SelectionConfig``), checked once when the config is made.

Both the filters (``chain_filter``) and the selection loop (``contract_selection``) read them, so
they live below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from spx_pipeline.domain.money import floor_units, four_places, to_money
from spx_pipeline.domain.sizing import DEFAULT_FEE, MAX_PREMIUM


def spread_basis_points(max_spread_pct: float) -> int:
    """``max_spread_pct`` in whole basis points, so the spread test is exact integer arithmetic."""
    if isinstance(max_spread_pct, bool) or not isinstance(max_spread_pct, int | float | Decimal):
        raise ValueError(f"max_spread_pct must be a number, got {max_spread_pct!r}")
    value = Decimal(str(max_spread_pct))
    if not value.is_finite() or value <= 0 or value > 100:
        raise ValueError(
            f"max_spread_pct must be a positive fraction of mid (0.10 = 10%), got {max_spread_pct!r}"
        )
    points = value * 10_000
    if points != points.to_integral_value():
        raise ValueError(f"max_spread_pct {max_spread_pct!r} is finer than a basis point (0.0001)")
    return int(points)


@dataclass(frozen=True, slots=True)
class SelectionConfig:
    """Liquidity thresholds (spread at most 5-10% of mid, a bid, volume of 100-500 are usual).

    Open interest defaults to 0 because intraday OI is yesterday's figure; for 0DTE, volume and
    spread are the live signals. ``max_quote_age`` applies only when a ``now`` is passed.
    """

    max_spread_pct: float = 0.10
    min_volume: int = 100
    min_open_interest: int = 0
    require_bid: bool = True
    max_quote_age: timedelta | None = timedelta(minutes=5)
    max_delta_distance: float | None = 0.15
    roots: tuple[str, ...] = ("SPXW",)
    fee_per_contract: Decimal = DEFAULT_FEE
    default_max_risk: Decimal | None = None

    def __post_init__(self) -> None:
        spread_basis_points(self.max_spread_pct)
        for name in ("min_volume", "min_open_interest"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_quote_age is not None and self.max_quote_age <= timedelta(0):
            raise ValueError(f"max_quote_age must be positive or None, got {self.max_quote_age!r}")
        if self.max_delta_distance is not None and not 0 < self.max_delta_distance <= 1:
            raise ValueError(f"max_delta_distance must be in (0, 1] or None, got {self.max_delta_distance!r}")
        if not self.roots or not all(isinstance(r, str) and r for r in self.roots):
            raise ValueError(f"roots must be a non-empty tuple of root symbols, got {self.roots!r}")
        object.__setattr__(self, "roots", tuple(self.roots))
        fee = to_money(self.fee_per_contract, "fee_per_contract", maximum=MAX_PREMIUM)
        fee = DEFAULT_FEE if fee is None else four_places(fee, "fee_per_contract", self.fee_per_contract)
        object.__setattr__(self, "fee_per_contract", fee)
        object.__setattr__(
            self, "default_max_risk", floor_units(to_money(self.default_max_risk, "default_max_risk"))
        )
