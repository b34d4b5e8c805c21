"""How fills move one account's cash, positions, realized P/L and margin."""

from __future__ import annotations

from decimal import Decimal

from spx_pipeline.emulator import EmulatedAccount, EmulatedPosition
from spx_pipeline.emulator.ledger import AccountLedger, short_requirement

SYMBOL = "SPXW261124C06000000"


def ledger(*positions: EmulatedPosition) -> AccountLedger:
    return AccountLedger(
        EmulatedAccount(
            "VA55500001",
            "tok",
            "margin",
            Decimal("50000"),
            Decimal("40000"),
            Decimal("30000"),
            positions=positions,
        )
    )


def test_buying_adds_to_a_position_and_selling_part_releases_its_share_of_cost() -> None:
    book = ledger()
    book.apply_fill(SYMBOL, 2, Decimal("2.35"), at="t1", requirement_per_contract=Decimal(0))
    book.apply_fill(SYMBOL, 1, Decimal("2.60"), at="t2", requirement_per_contract=Decimal(0))
    (row,) = book.positions()
    assert (row["quantity"], row["cost_basis"], row["date_acquired"]) == (3, Decimal("730.00"), "t1")
    book.apply_fill(SYMBOL, -2, Decimal("3.00"), at="t3", requirement_per_contract=Decimal(0))
    (row,) = book.positions()
    assert (row["quantity"], row["cost_basis"]) == (1, Decimal("243.33"))
    assert book.close_pl == Decimal("600.00") - Decimal("486.67")
    assert book.cash_delta == -Decimal("470") - Decimal("260") + Decimal("600") - Decimal("0.35") * 5
    book.apply_fill(SYMBOL, -1, Decimal("1.00"), at="t4", requirement_per_contract=Decimal(0))
    assert book.positions() == []


def test_crossing_through_flat_opens_the_other_side_at_the_fill() -> None:
    book = ledger(EmulatedPosition(SYMBOL, Decimal("1.00000000"), Decimal("200.00")))
    book.apply_fill(SYMBOL, -3, Decimal("2.50"), at="t9", requirement_per_contract=Decimal("9000"))
    (row,) = book.positions()
    assert (row["quantity"], row["cost_basis"], row["date_acquired"]) == (-2, Decimal("-500.00"), "t9")
    assert book.close_pl == Decimal("50.00")
    assert book.requirement == Decimal("18000")
    assert book.option_buying_power(Decimal(0)) == Decimal("30000") + book.cash_delta - Decimal("18000")
    book.apply_fill(SYMBOL, 1, Decimal("2.00"), at="t10", requirement_per_contract=Decimal(0))
    assert book.requirement == Decimal("9000.00")


def test_balances_without_fills_are_the_configured_ones() -> None:
    body = ledger(EmulatedPosition(SYMBOL, Decimal("-2"), Decimal("-4130.00"))).balances(
        reserved=Decimal(0), open_orders=0
    )
    assert body["total_cash"] == Decimal("40000") and body["total_equity"] == Decimal("50000")
    assert body["margin"]["option_buying_power"] == Decimal("30000")
    assert body["option_short_value"] == Decimal("-4130.00") and body["close_pl"] == 0


def test_short_requirement_is_premium_plus_the_larger_of_two_floors() -> None:
    per = short_requirement(
        strike=Decimal("5950"), is_call=False, spot=Decimal("6000"), premium=Decimal("2.35")
    )
    assert per == Decimal("85235.00")  # (2.35 + 900 - 50) x 100
    far = short_requirement(
        strike=Decimal("5000"), is_call=False, spot=Decimal("6000"), premium=Decimal("0.05")
    )
    assert far == Decimal("50005.00")  # 10% of the strike beats 900 - 1000
