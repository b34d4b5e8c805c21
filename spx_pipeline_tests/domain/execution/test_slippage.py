from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.execution import realized_slippage
from spx_pipeline.domain.ticks import ticks_between


@pytest.mark.parametrize(
    ("side", "intended", "fill", "per_contract", "ticks"),
    [
        ("buy_to_open", "2.50", "2.55", "5", "1"),  # paid a tick more: adverse
        ("buy_to_open", "2.50", "2.45", "-5", "-1"),  # paid less: favourable
        ("sell_to_close", "2.50", "2.45", "5", "1"),  # received less: adverse
        ("sell_to_close", "2.50", "2.60", "-10", "-2"),  # received more: favourable
        ("buy_to_open", "3.00", "3.20", "20", "2"),  # the $0.10 grid from $3.00 up
        ("sell_to_close", "2.95", "2.90", "5", "1"),  # the $0.05 grid below $3.00
    ],
)
def test_positive_is_adverse_for_buys_and_sells(side, intended, fill, per_contract, ticks):
    slip = realized_slippage(side, Decimal(intended), Decimal(fill))
    assert slip.per_contract == Decimal(per_contract)
    assert slip.ticks == Decimal(ticks)


def test_average_fill_between_ticks_gives_fractional_ticks():
    assert realized_slippage("buy_to_open", Decimal("2.50"), Decimal("2.525")).ticks == Decimal("0.5")


@pytest.mark.parametrize(
    ("side", "intended", "fill", "needle"),
    [
        ("buy", Decimal("1"), Decimal("1"), "side must be one of"),
        ("buy_to_open", Decimal("0"), Decimal("1"), "intended_price"),
        ("buy_to_open", Decimal("1"), Decimal("NaN"), "fill_price"),
        ("buy_to_open", 1.0, Decimal("1"), "intended_price"),
    ],
)
def test_bad_input_names_the_field(side, intended, fill, needle):
    with pytest.raises(ValueError, match=needle):
        realized_slippage(side, intended, fill)


@pytest.mark.parametrize(
    ("side", "intended", "fill", "ticks"),
    [
        ("sell_to_close", "3.20", "2.80", "6"),  # 3.20->3.00: 2 of $0.10; 3.00->2.80: 4 of $0.05
        ("buy_to_open", "2.95", "3.10", "2"),  # 2.95->3.00: 1 of $0.05; 3.00->3.10: 1 of $0.10
        ("buy_to_open", "3.10", "2.90", "-3"),  # favourable, across the boundary downwards
        ("sell_to_close", "2.90", "3.05", "-2.5"),  # an average fill between ticks: a fraction
    ],
)
def test_ticks_are_counted_across_the_3_dollar_boundary(side, intended, fill, ticks):
    assert realized_slippage(side, Decimal(intended), Decimal(fill)).ticks == Decimal(ticks)


# The SPX grid as a list: every $0.05 below $3.00, every $0.10 from $3.00 up to $20.
GRID = [Decimal(i) * Decimal("0.05") for i in range(1, 60)] + [
    Decimal("3.00") + Decimal(i) * Decimal("0.10") for i in range(171)
]


@settings(deadline=None)  # behaviour, not speed: a loaded machine must not fail it
@given(st.integers(0, len(GRID) - 1), st.integers(0, len(GRID) - 1))
def test_ticks_between_two_grid_prices_is_the_number_of_grid_steps(i: int, j: int) -> None:
    assert ticks_between(GRID[i], GRID[j]) == j - i
    slip = realized_slippage("sell_to_close", GRID[i], GRID[j])
    assert slip.ticks == i - j and slip.per_share == GRID[i] - GRID[j]
