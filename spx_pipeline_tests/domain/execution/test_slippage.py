from decimal import Decimal

import pytest

from spx_pipeline.domain.execution import realized_slippage


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
