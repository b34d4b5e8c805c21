"""Typed records from hand-written payloads: margin, cash and pdt balances, orders, profile, clock."""

from __future__ import annotations

import dataclasses
from datetime import date, time
from decimal import Decimal

import pytest

from spx_pipeline.broker.tradier import normalize
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.broker.tradier.models import (
    Balances,
    CalendarDay,
    Clock,
    Order,
    OrderPreview,
    OrderResult,
    Position,
    Profile,
)

MARGIN = """{"balances": {"account_number": "VA00000001", "account_type": "margin",
  "total_equity": 17798.360000000000000000000000, "total_cash": 11000.5, "market_value": 6797.86,
  "option_short_value": -780.0, "pending_orders_count": 2, "pending_cash": 0, "uncleared_funds": 0,
  "current_requirement": 5000.0, "option_requirement": 5000.0, "equity": 0,
  "margin": {"fed_call": 0, "maintenance_call": 0, "option_buying_power": 6363.860000000000000000000000,
             "stock_buying_power": 12727.72, "stock_short_value": 0, "sweep": 0}}}"""

CASH = """{"balances": {"account_number": "VA00000002", "account_type": "cash",
  "total_equity": 2500.10, "total_cash": 2500.10,
  "cash": {"cash_available": 2100.55, "sweep": 0, "unsettled_funds": 399.55}}}"""

PDT = """{"balances": {"account_number": "VA00000003", "account_type": "pdt",
  "total_equity": 101250.40, "total_cash": 100820.40, "pending_orders_count": 1,
  "pdt": {"fed_call": 0, "maintenance_call": 0, "option_buying_power": 95820.40,
          "stock_buying_power": 191640.80, "stock_short_value": 0, "day_trade_buying_power": 383281.60}}}"""


def parse(text: str) -> Balances:
    return Balances.from_json(normalize.member(normalize.loads(text), "balances"))


def test_margin_balances() -> None:
    b = parse(MARGIN)
    assert b.account_type == "margin"
    assert b.total_equity == Decimal("17798.36")
    assert b.margin is not None and b.cash is None and b.pdt is None
    assert b.effective_option_buying_power == Decimal("6363.86")
    assert b.day_trade_buying_power is None
    assert b.pdt_qualified is False
    assert b.pending_orders_count == 2
    assert b.raw["margin"]["stock_buying_power"] == Decimal("12727.72")


def test_cash_balances_use_cash_available() -> None:
    b = parse(CASH)
    assert b.account_type == "cash"
    assert b.option_buying_power is None
    assert b.effective_option_buying_power == Decimal("2100.55")
    assert b.cash is not None and b.cash.unsettled_funds == Decimal("399.55")
    assert b.pdt_qualified is None  # cash accounts are outside the PDT rule


def test_pdt_balances_report_day_trade_buying_power() -> None:
    b = parse(PDT)
    assert b.effective_option_buying_power == Decimal("95820.40")
    assert b.day_trade_buying_power == Decimal("383281.60")
    assert b.pdt_qualified is True


def test_pdt_without_day_trade_bp_is_optional() -> None:
    b = Balances.from_json({"account_number": "A1", "account_type": "pdt", "pdt": {"option_buying_power": 5}})
    assert b.day_trade_buying_power is None
    assert b.effective_option_buying_power == Decimal(5)


def test_account_type_disagreeing_with_sub_object_is_probed() -> None:
    # Declared pdt but only a margin block: still report the buying power it carries, not None/0.
    b = Balances.from_json(
        {"account_number": "A1", "account_type": "pdt", "margin": {"option_buying_power": "1234.5"}}
    )
    assert b.effective_option_buying_power == Decimal("1234.5")
    cash = Balances.from_json(
        {"account_number": "A2", "account_type": "cash", "margin": {"option_buying_power": 7}}
    )
    assert cash.effective_option_buying_power == Decimal(7)


def test_missing_account_type_inferred_from_single_sub_object() -> None:
    b = Balances.from_json({"account_number": "A1", "cash": {"cash_available": 10}})
    assert b.account_type == "cash"
    with pytest.raises(TradierMalformedResponseError, match="account_type is missing"):
        Balances.from_json({"account_number": "A1"})


def test_unknown_account_type_names_the_value() -> None:
    with pytest.raises(TradierMalformedResponseError, match="'portfolio_margin'"):
        Balances.from_json({"account_number": "A1", "account_type": "portfolio_margin"})


def test_null_sub_objects_and_fields_are_none() -> None:
    b = Balances.from_json(
        {
            "account_number": "A1",
            "account_type": "margin",
            "margin": "null",
            "total_equity": None,
            "total_cash": "null",
        }
    )
    assert b.margin is None and b.total_equity is None and b.total_cash is None
    assert b.effective_option_buying_power is None


def test_account_number_filled_from_caller() -> None:
    b = Balances.from_json({"account_type": "cash", "cash": {}}, account_number="VA9")
    assert b.account_number == "VA9"


def test_balances_are_frozen_and_compare_without_raw() -> None:
    a = parse(PDT)
    b = Balances.from_json({**a.raw, "extra_field": 1})
    assert a == b
    assert "raw" not in repr(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.account_type = "cash"  # type: ignore[misc]


def test_profile_single_account_collapse() -> None:
    body = normalize.loads(
        '{"profile": {"id": "id-x", "name": "X", "account": {"account_number": "VA1", "type": "margin",'
        ' "option_level": 4, "day_trader": false, "date_created": "2021-03-01T14:02:11.000Z"}}}'
    )
    profile = Profile.from_json(body)
    assert [a.account_number for a in profile.accounts] == ["VA1"]
    assert profile.accounts[0].option_level == 4
    assert profile.accounts[0].day_trader is False


def test_orders_single_none_and_multileg() -> None:
    single = normalize.collection(
        normalize.loads(
            '{"orders": {"order": {"id": 7, "status": "open", "class": "option", "quantity": 1.00000000,'
            ' "price": 2.35, "tag": "bot-1", "create_date": "2026-11-24T14:31:02.112Z"}}}'
        ),
        "orders",
        "order",
    )
    order = Order.from_json(single[0])
    assert order.id == 7 and order.order_class == "option" and order.quantity == Decimal(1)
    assert order.price == Decimal("2.35") and order.tag == "bot-1"
    assert normalize.collection(normalize.loads('{"orders": "null"}'), "orders", "order") == []
    multileg = Order.from_json(
        {
            "id": 8,
            "status": "filled",
            "class": "multileg",
            "num_legs": 2,
            "leg": [
                {"id": 81, "option_symbol": "SPXW261124C06000000"},
                {"id": 82, "option_symbol": "SPXW261124C06010000"},
            ],
        }
    )
    assert [leg.id for leg in multileg.legs] == [81, 82]
    one_leg = Order.from_json({"id": 9, "status": "open", "leg": {"id": 91}})
    assert [leg.id for leg in one_leg.legs] == [91]


def test_position_requires_symbol_and_quantity() -> None:
    pos = Position.from_json(
        {"id": 1, "symbol": "SPXW261124C06000000", "quantity": -2.0, "cost_basis": -470.0}
    )
    assert pos.quantity == Decimal(-2)
    with pytest.raises(TradierMalformedResponseError, match=r"position\.symbol is missing"):
        Position.from_json({"id": 1, "quantity": 1})


def test_order_result_and_preview() -> None:
    result = OrderResult.from_json({"order": {"id": 1086137, "status": "ok", "partner_id": "p"}})
    assert result.id == 1086137 and result.status == "ok" and not result.reconciled
    preview = OrderPreview.from_json(
        normalize.loads(
            '{"order": {"status": "ok", "result": true, "commission": 0.35, "cost": 235.35, "fees": 0.00,'
            ' "class": "option", "margin_change": 500.00, "day_trades": 0, "quantity": 1}}'
        )
    )
    assert preview.result is True and preview.cost == Decimal("235.35") and preview.order_class == "option"
    with pytest.raises(TradierMalformedResponseError, match="order is str"):
        OrderResult.from_json({"order": "null"})


def test_clock_and_calendar() -> None:
    clock = Clock.from_json(
        {
            "clock": {
                "date": "2026-11-24",
                "description": "Market is open",
                "state": "open",
                "timestamp": 1795537800,
                "next_change": "16:00",
                "next_state": "postmarket",
            }
        }
    )
    assert clock.state == "open" and clock.next_change == time(16, 0)
    assert clock.timestamp is not None and clock.timestamp.year == 2026
    day = CalendarDay.from_json(
        {
            "date": "2026-11-27",
            "status": "open",
            "description": "early close",
            "premarket": {"start": "07:00", "end": "09:24"},
            "open": {"start": "09:30", "end": "13:00"},
        }
    )
    assert day.date == date(2026, 11, 27) and day.is_open
    assert day.open is not None and day.open.end == time(13, 0)
    assert day.postmarket is None
