"""Setups are range-checked at entry, naming the field, so a stored setup can always be sized."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.domain.setups import Setup, setup_order

D = Decimal


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"direction": "sideways"}, "'sideways'"),
        ({"target_delta": 0}, "target_delta"),
        ({"target_delta": 1.0}, "target_delta"),
        ({"target_delta": float("nan")}, "target_delta"),
        ({"target_delta": "0.4"}, "target_delta"),
        ({"setup_id": " "}, "setup_id"),
        ({"stop_premium": D("-1")}, "stop_premium"),
        ({"t1_gain_pct": D("0")}, "t1_gain_pct"),
        ({"t1_fraction": D("1.5")}, "t1_fraction"),
        ({"runner_stop_limit_offset": D("-0.05")}, "runner_stop_limit_offset"),
    ],
)
def test_setup_validation(kwargs: dict[str, object], match: str) -> None:
    args = {"setup_id": "s", "direction": "bullish"} | kwargs
    with pytest.raises(ValueError, match=match):
        Setup(**args)  # type: ignore[arg-type]


def test_setup_normalises_money() -> None:
    setup = Setup("s", "bearish", stop_premium="0.60", t1_fraction=1)  # type: ignore[arg-type]
    assert setup.stop_premium == D("0.60")
    assert setup.t1_fraction == D(1)
    assert setup.option_type == "put"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stop_premium": "1.00005"}, "stop_premium '1.00005' has more than 4 decimal places"),
        ({"stop_premium": "1e30"}, "stop_premium must be below 100000"),
        ({"runner_stop_limit_offset": "0.123456"}, "runner_stop_limit_offset '0.123456' has more than 4"),
        ({"t1_gain_pct": "1e30"}, r"t1_gain_pct must be in \(0, 10\]"),
        ({"priority": True}, "priority must be a whole number"),
    ],
)
def test_setup_ranges_are_checked_at_entry_naming_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Setup("s", "bullish", **kwargs)  # type: ignore[arg-type]


def test_setup_order_is_priority_then_id() -> None:
    setups = [Setup("b", "bullish"), Setup("a", "bullish", priority=1), Setup("c", "bearish", priority=-1)]
    assert [s.setup_id for s in setup_order(setups)] == ["c", "b", "a"]
