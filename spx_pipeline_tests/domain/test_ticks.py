"""SPX tick grid: Cboe rejects off-increment prices, so every rounding edge matters."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spx_pipeline.domain.ticks import MAX_PRICE, is_on_tick, round_to_tick, round_to_tick_array, tick_size

D = Decimal


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        ("1.13", "buy", "1.15"),
        ("1.13", "sell", "1.10"),
        ("1.15", "buy", "1.15"),
        ("1.15", "sell", "1.15"),
        ("2.96", "buy", "3.00"),
        ("2.975", "buy", "3.00"),
        ("2.975", "sell", "2.95"),
        ("2.999", "sell", "2.95"),
        ("3.00", "buy", "3.00"),
        ("3.00", "sell", "3.00"),
        ("3.01", "buy", "3.10"),
        ("3.04", "sell", "3.00"),
        ("3.05", "buy", "3.10"),
        ("3.05", "sell", "3.00"),
        ("4.20", "buy", "4.20"),
        ("0.01", "buy", "0.05"),
        ("12.34", "sell", "12.30"),
    ],
)
def test_round_to_tick_worked_cases(price: str, side: str, expected: str) -> None:
    result = round_to_tick(D(price), side)  # type: ignore[arg-type]
    assert result == D(expected)
    assert str(result) == expected  # quantized to cents: "3.00", not "3.0"


def test_tick_size_switches_at_three_dollars() -> None:
    assert tick_size(D("2.95")) == D("0.05")
    assert tick_size(D("3.00")) == D("0.10")


@pytest.mark.parametrize(
    ("price", "ok"),
    [("1.15", True), ("3.10", True), ("3.05", False), ("1.13", False), ("0", False), ("-0.05", False)],
)
def test_is_on_tick(price: str, ok: bool) -> None:
    assert is_on_tick(D(price)) is ok


def test_is_on_tick_rejects_non_finite() -> None:
    assert not is_on_tick(D("NaN"))
    assert not is_on_tick(D("Infinity"))


def test_scalar_accepts_float_via_str_and_int() -> None:
    assert round_to_tick(1.15, "buy") == D("1.15")
    assert round_to_tick(3, "sell") == D("3.00")
    assert is_on_tick("3.10")


@pytest.mark.parametrize("bad", [True, None, [1.0]])
def test_scalar_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="price must be"):
        round_to_tick(bad, "buy")  # type: ignore[arg-type]


def test_unparseable_string_named() -> None:
    with pytest.raises(ValueError, match="'abc'"):
        round_to_tick("abc", "buy")


@pytest.mark.parametrize("bad", ["0", "-1", "NaN", "Infinity"])
def test_round_refuses_non_positive_or_non_finite(bad: str) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        round_to_tick(D(bad), "buy")


def test_sell_rounding_to_zero_refused() -> None:
    with pytest.raises(ValueError, match="rounds down to zero"):
        round_to_tick(D("0.03"), "sell")


def test_bad_side_refused() -> None:
    with pytest.raises(ValueError, match="'hold'"):
        round_to_tick(D("1"), "hold")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'hold'"):
        round_to_tick_array([1.0], "hold")  # type: ignore[arg-type]


def test_array_absorbs_float_noise_and_invalid_values() -> None:
    prices = [1.1500000000000001, 1.15 - 1e-12, 2.975, float("nan"), float("inf"), -1.0, 0.0, 0.03]
    assert round_to_tick_array(prices, "buy").tolist() == [1.15, 1.15, 3.0, 0.0, 0.0, 0.0, 0.0, 0.05]
    assert round_to_tick_array(prices, "sell").tolist() == [1.15, 1.15, 2.95, 0.0, 0.0, 0.0, 0.0, 0.0]


cents = st.integers(min_value=1, max_value=200_000).map(lambda c: D(c) / 100)


@given(price=cents, side=st.sampled_from(["buy", "sell"]))
def test_round_is_on_tick_directional_and_minimal(price: Decimal, side: str) -> None:
    if side == "sell" and price < D("0.05"):
        return
    result = round_to_tick(price, side)  # type: ignore[arg-type]
    assert is_on_tick(result)
    if side == "buy":
        assert result >= price
        # No valid tick strictly between price and result.
        assert result - price < tick_size(result)
    else:
        assert result <= price
        assert price - result < tick_size(price)


@given(prices=st.lists(cents, min_size=1, max_size=50), side=st.sampled_from(["buy", "sell"]))
def test_array_matches_scalar(prices: list[Decimal], side: str) -> None:
    array = round_to_tick_array(np.array([float(p) for p in prices]), side)  # type: ignore[arg-type]
    for price, got in zip(prices, array, strict=True):
        if side == "sell" and price < D("0.05"):
            assert got == 0.0
        else:
            assert D(str(got)) == round_to_tick(price, side)  # type: ignore[arg-type]


# --- brute-force oracle -------------------------------------------------------------------------
# Independent of the implementation's tick_size: list every valid tick and search it. A mutant that
# rounds 2.91-2.95 up to 3.00 (or uses the coarse grid just below the break) cannot hide here.

_VALID_TICKS: list[Decimal] = [D(c) / 100 for c in range(5, 300, 5)] + [
    D(c) / 100 for c in range(300, 2020, 10)
]
_ORACLE_PRICES: list[Decimal] = [D(c) / 100 for c in range(1, 2001)] + [
    D(text)
    for text in (
        "0.001",
        "0.049",
        "0.0501",
        "0.051",
        "1.149",
        "1.1501",
        "2.901",
        "2.949",
        "2.9501",
        "2.975",
        "2.999",
        "3.0001",
        "3.001",
        "3.099",
        "9.999",
        "19.999",
    )
]


def _oracle(price: Decimal, side: str) -> Decimal | None:
    if side == "buy":
        return min(t for t in _VALID_TICKS if t >= price)
    below = [t for t in _VALID_TICKS if t <= price]
    return max(below) if below else None


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_scalar_matches_brute_force_oracle(side: str) -> None:
    for price in _ORACLE_PRICES:
        expected = _oracle(price, side)
        if expected is None:
            with pytest.raises(ValueError, match="rounds down to zero"):
                round_to_tick(price, side)  # type: ignore[arg-type]
            continue
        assert round_to_tick(price, side) == expected, (price, side)  # type: ignore[arg-type]


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_vectorized_matches_brute_force_oracle(side: str) -> None:
    got = round_to_tick_array(np.array([float(p) for p in _ORACLE_PRICES]), side)  # type: ignore[arg-type]
    for price, value in zip(_ORACLE_PRICES, got.tolist(), strict=True):
        expected = _oracle(price, side)
        assert D(str(value)) == (D(0) if expected is None else expected), (price, side)


def test_oracle_grid_is_the_documented_one() -> None:
    """Guard the oracle itself: 2.95 then 3.00 then 3.10, and nothing off those grids."""
    assert D("2.95") in _VALID_TICKS and D("3.00") in _VALID_TICKS and D("3.05") not in _VALID_TICKS
    assert all(is_on_tick(t) for t in _VALID_TICKS)


# --- absurd magnitudes --------------------------------------------------------------------------


@pytest.mark.parametrize("price", ["1E+30", "100000", "1E+999999"])
def test_is_on_tick_is_false_for_absurd_prices_instead_of_raising(price: str) -> None:
    assert is_on_tick(price) is False
    assert is_on_tick(D(price)) is False


@pytest.mark.parametrize("price", ["1E+30", "100000", "1E+999999"])
def test_round_to_tick_refuses_absurd_prices_with_value_error(price: str) -> None:
    with pytest.raises(ValueError, match=rf"below {MAX_PRICE}.*{re.escape(price)}"):
        round_to_tick(D(price), "buy")


def test_largest_price_below_the_bound_still_works() -> None:
    assert is_on_tick("99999.90")
    assert round_to_tick("99999.93", "sell") == D("99999.90")


def test_array_treats_absurd_prices_as_no_price() -> None:
    got = round_to_tick_array([1e30, 100_000.0, 99_999.93], "sell")
    assert got.tolist() == [0.0, 0.0, 99_999.9]


# --- float noise: a value within a tiny epsilon of a tick is that tick ----------------------------


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_float_noise_next_to_a_tick_is_that_tick_in_both_paths(side: str) -> None:
    for noisy, tick in [(1.7000000000000002, "1.70"), (0.1 + 0.2, "0.30"), (2.9999999999999996, "3.00")]:
        assert round_to_tick(noisy, side) == D(tick)  # type: ignore[arg-type]
        assert round_to_tick_array([noisy], side).tolist() == [float(tick)]  # type: ignore[arg-type]
        assert is_on_tick(noisy)


def _agree(price: float, side: str) -> None:
    vector = float(round_to_tick_array([price], side)[0])  # type: ignore[arg-type]
    try:
        scalar = round_to_tick(price, side)  # type: ignore[arg-type]
    except ValueError:
        assert vector == 0.0, (price, side, vector)
        return
    assert D(str(vector)) == scalar, (price, side, vector, scalar)


def test_scalar_and_vectorized_agree_on_float_arithmetic_inputs() -> None:
    """The issue's 40,000 float-arithmetic inputs: mids and sums of tick prices, all sides."""
    rng = np.random.default_rng(9)
    ticks = np.array([float(t) for t in _VALID_TICKS])
    a, b = rng.choice(ticks, 20_000), rng.choice(ticks, 20_000)
    inputs = np.concatenate([(a + b) / 2.0, a * 1.1 + b * 0.3])
    for side in ("buy", "sell"):
        vector = round_to_tick_array(inputs, side)  # type: ignore[arg-type]
        for price, got in zip(inputs.tolist(), vector.tolist(), strict=True):
            assert D(str(got)) == round_to_tick(price, side), (price, side)  # type: ignore[arg-type]


@given(
    price=st.one_of(
        st.floats(min_value=-10.0, max_value=150_000.0),
        st.floats(min_value=0.0, max_value=10.0),
        st.sampled_from([float("nan"), float("inf"), -float("inf"), 99_999.9999999, 1e-7]),
    ),
    side=st.sampled_from(["buy", "sell"]),
)
def test_scalar_and_vectorized_agree_on_every_float(price: float, side: str) -> None:
    _agree(price, side)


@given(
    cents_=st.integers(min_value=1, max_value=9_999_000),
    noise=st.floats(min_value=-4e-7, max_value=4e-7),
    side=st.sampled_from(["buy", "sell"]),
)
def test_within_the_epsilon_of_a_tick_snaps_to_it(cents_: int, noise: float, side: str) -> None:
    tick = round_to_tick(D(cents_) / 100, "buy")
    price = float(tick) + noise
    assert round_to_tick(price, side) == tick  # type: ignore[arg-type]
    _agree(price, side)
