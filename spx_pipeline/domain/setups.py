"""Setups: the trade ideas recommendations are made for, and the order an account's budgets go to them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from spx_pipeline.domain.money import four_places, to_money
from spx_pipeline.domain.sizing import stop_premium_value
from spx_pipeline.domain.ticks import round_to_tick

Direction = Literal["bullish", "bearish"]
DIRECTIONS: tuple[str, ...] = ("bullish", "bearish")
MAX_T1_GAIN = Decimal(10)  # +1,000%: a T1 target beyond that is a typo, not a plan
MAX_PRIORITY = 1_000_000


def _positive_fraction(value: object, field: str, *, allow_one: bool = False) -> Decimal:
    amount = to_money(value, field)  # type: ignore[arg-type]
    if amount is None or amount <= 0 or amount > 1 or (amount == 1 and not allow_one):
        upper = "1]" if allow_one else "1)"
        raise ValueError(f"{field} must be in (0, {upper}, got {value!r}")
    return four_places(amount, field, value)


@dataclass(frozen=True, slots=True)
class Setup:
    """A trade idea: which way, how much delta, and how the exits are planned.

    Every field is range-checked here, and the setup store validates through this class, so a
    stored setup can always be sized. ``priority`` orders the setups of an account when they share
    its budgets: lower numbers are sized first, ties by ``setup_id``.
    """

    setup_id: str
    direction: Direction
    target_delta: float = 0.40
    stop_premium: Decimal | None = None
    t1_gain_pct: Decimal = Decimal("0.5")
    t1_fraction: Decimal = Decimal("0.5")
    runner_stop_limit_offset: Decimal | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.setup_id, str) or not self.setup_id.strip():
            raise ValueError(f"setup_id must be a non-empty string, got {self.setup_id!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'bullish' or 'bearish', got {self.direction!r}")
        delta = self.target_delta
        if isinstance(delta, bool) or not isinstance(delta, int | float | Decimal | np.floating):
            raise ValueError(f"target_delta must be a number in (0, 1), got {delta!r}")
        delta = float(delta)
        if not math.isfinite(delta) or not 0 < delta < 1:
            raise ValueError(f"target_delta must be in (0, 1), got {self.target_delta!r}")
        object.__setattr__(self, "target_delta", delta)
        object.__setattr__(self, "stop_premium", stop_premium_value(self.stop_premium))
        gain = to_money(self.t1_gain_pct, "t1_gain_pct", maximum=None)
        if gain is None or gain <= 0 or gain > MAX_T1_GAIN:
            raise ValueError(f"t1_gain_pct must be in (0, {MAX_T1_GAIN}], got {self.t1_gain_pct!r}")
        object.__setattr__(self, "t1_gain_pct", four_places(gain, "t1_gain_pct", self.t1_gain_pct))
        object.__setattr__(
            self, "t1_fraction", _positive_fraction(self.t1_fraction, "t1_fraction", allow_one=True)
        )
        offset = stop_premium_value(self.runner_stop_limit_offset, "runner_stop_limit_offset")
        object.__setattr__(self, "runner_stop_limit_offset", offset)
        if self.stop_premium is not None and offset is not None:
            _check_runner_limit(self.stop_premium, offset)
        priority = self.priority
        if isinstance(priority, bool) or not isinstance(priority, int | np.integer):
            raise ValueError(f"priority must be a whole number, got {priority!r}")
        if abs(int(priority)) > MAX_PRIORITY:
            raise ValueError(
                f"priority must be between -{MAX_PRIORITY:,} and {MAX_PRIORITY:,}, got {priority!r}"
            )
        object.__setattr__(self, "priority", int(priority))

    @property
    def option_type(self) -> str:
        return "call" if self.direction == "bullish" else "put"


def _check_runner_limit(stop: Decimal, offset: Decimal) -> None:
    if runner_limit_below(stop, offset) is None:
        trigger = round_to_tick(stop, "buy") if stop > 0 else stop
        raise ValueError(
            f"runner_stop_limit_offset {offset} must leave a positive tick below stop_premium {stop}: "
            f"the runner's stop-limit would be {trigger - offset}"
        )


def runner_limit_below(stop: Decimal, offset: Decimal | None) -> Decimal | None:
    """The runner's stop-limit price for a stop trigger of ``stop`` (a premium, rounded up to its tick as
    the order is), or None when ``offset`` leaves no positive tick below it: such a runner cannot be sent.

    Without an offset the runner is a plain stop, and ``stop`` itself is returned.
    """
    try:
        trigger = round_to_tick(stop, "buy")
        return trigger if offset is None else round_to_tick(trigger - offset, "sell")
    except ValueError:
        return None


def runner_refusal(setup: Setup, entry: Decimal) -> str | None:
    """Why ``setup``'s runner stop cannot be ticketed at ``entry``, or None when it can.

    A breakeven runner (no ``stop_premium``) stops at the entry, so its offset is only known to fit
    once the entry price is: a row that could not be ticketed must not spend the account's budget.
    """
    if setup.stop_premium is not None or setup.runner_stop_limit_offset is None:
        return None
    if runner_limit_below(entry, setup.runner_stop_limit_offset) is not None:
        return None
    return (
        f"runner_stop_limit_offset {setup.runner_stop_limit_offset} leaves no positive limit below the "
        f"breakeven runner stop at the entry {entry}"
    )


def setup_order(setups: Sequence[Setup]) -> list[Setup]:
    """The order an account's budgets are spent in: priority (lower first), then setup id."""
    return sorted(setups, key=lambda setup: (setup.priority, setup.setup_id))
