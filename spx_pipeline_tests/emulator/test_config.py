"""Emulator configuration values: demo accounts, synthetic accounts, validation messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from spx_pipeline.demo import SMALL_MARGIN_ACCOUNT
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.emulator import (
    EmulatedAccount,
    EmulatorConfig,
    account_from_row,
    demo_accounts,
    make_accounts,
)


def test_demo_accounts_one_of_each_type_with_fixed_tokens():
    accounts = demo_accounts()
    assert [(a.account_id, a.account_type, a.token) for a in accounts] == [
        ("VA00000001", "margin", "demo-margin-token-0001"),
        ("VA00000002", "cash", "demo-cash-token-0002"),
        ("VA00000003", "pdt", "demo-pdt-token-0003"),
    ]
    assert accounts == demo_accounts()  # deterministic


def test_account_rows_read_in_field_order_with_the_rest_by_keyword():
    """The table's columns land in the fields they name (a swapped column would show here)."""
    margin, cash, pdt = demo_accounts()
    figures = [
        (a.total_equity, a.cash, a.option_buying_power, a.day_trade_buying_power) for a in (margin, pdt)
    ]
    assert figures == [
        (Decimal("52480.55"), Decimal("31210.40"), Decimal("17798.36"), None),
        (Decimal("101250.40"), Decimal("100820.40"), Decimal("95820.40"), Decimal("383281.60")),
    ]
    assert str(margin.cash) == "31210.40"  # exact text, trailing zero kept
    assert (margin.name, margin.pending_orders_count, [p.symbol for p in margin.positions]) == (
        "Demo Margin",
        1,
        ["SPY", "SPXW261218C06200000"],
    )
    assert (cash.name, cash.classification, cash.option_level, cash.positions) == (
        "Demo Cash",
        "individual_cash",
        2,
        (),
    )
    assert cash.effective_option_buying_power == Decimal("8125.75")
    assert (pdt.name, pdt.option_level, len(pdt.positions)) == ("Demo PDT", 4, 1)
    small = SMALL_MARGIN_ACCOUNT
    assert (small.account_id, small.token, small.account_type, small.name) == (
        "VA00000004",
        "demo-small-margin-token-0004",
        "margin",
        "Demo Small Margin",
    )
    assert (small.total_equity, small.cash, small.option_buying_power) == (
        Decimal("12450.00"),
        Decimal("12450.00"),
        Decimal("6225.00"),
    )
    assert small.effective_day_trade_buying_power == Decimal("24900.00")
    assert account_from_row(("VA9", "t", "cash", "1", "1", None, None)).name == "Emulated Trader"


def test_make_accounts_one_token_each_or_shared():
    own = make_accounts(5, seed=3)
    assert len({a.token for a in own}) == 5
    assert len({a.account_id for a in own}) == 5
    assert [a.account_type for a in own] == ["margin", "cash", "pdt", "margin", "cash"]
    assert own == make_accounts(5, seed=3)
    assert own != make_accounts(5, seed=4)
    shared = make_accounts(4, shared_token="one")
    assert {a.token for a in shared} == {"one"}
    assert not {a.account_id for a in own} & {a.account_id for a in demo_accounts()}
    assert make_accounts(0) == []


def test_synthetic_balances_are_consistent():
    for account in make_accounts(30, seed=9):
        assert 0 < account.cash <= account.total_equity
        if account.account_type == "cash":
            assert account.option_buying_power is None
            assert account.effective_option_buying_power == account.cash
        else:
            assert account.effective_option_buying_power == account.option_buying_power
        if account.account_type == "pdt":
            assert account.day_trade_buying_power == account.option_buying_power * 4


def test_account_coerces_numbers_to_decimal_and_derives_defaults():
    account = EmulatedAccount("VA1", "t", "margin", 1000, "250.5")  # type: ignore[arg-type]
    assert account.total_equity == Decimal("1000")
    assert account.cash == Decimal("250.5")
    assert account.effective_option_buying_power == Decimal("250.5")
    assert account.effective_day_trade_buying_power == Decimal("1002.0")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"account_id": "VA-1"}, "account_id"),
        ({"token": " "}, "token"),
        ({"account_type": "ira"}, "account_type"),
        ({"pending_orders_count": -1}, "pending_orders_count"),
    ],
)
def test_account_validation_names_the_field(kwargs, fragment):
    base = {"account_id": "VA1", "token": "t", "account_type": "cash", "total_equity": 1, "cash": 1}
    with pytest.raises(ValueError, match=fragment):
        EmulatedAccount(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"spot": 0}, "spot"),
        ({"expirations": 0}, "expirations"),
        ({"strike_step": 0}, "strike_step"),
        ({"rate_limit_window_seconds": 0}, "rate_limit_window_seconds"),
        ({"now": datetime(2026, 11, 24, 10, 0)}, "timezone-aware"),
        ({"accounts": demo_accounts() + demo_accounts()[:1]}, "duplicate account_id"),
    ],
)
def test_config_validation_names_the_field(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        EmulatorConfig(**kwargs)


def test_rate_limits_sandbox_and_production():
    assert EmulatorConfig().rate_limits == {"standard": 60, "market_data": 60, "trading": 60}
    assert EmulatorConfig(sandbox=False).rate_limits == {"standard": 120, "market_data": 120, "trading": 60}


def test_a_demo_account_holds_an_spx_option_opened_by_hand() -> None:
    """Reconciliation needs a broker row no ticket of ours explains: an SPXW option the OCC parser reads."""
    held = [p.symbol for a in demo_accounts() for p in a.positions if p.symbol.startswith(("SPX", "SPXW"))]
    contracts = [parse_option_symbol(symbol) for symbol in held if len(symbol) > 15]
    assert contracts and {c.underlying for c in contracts} == {"SPX"}
