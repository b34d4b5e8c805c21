"""Each of Tradier's quirks is absorbed by one field type, and a bad field is one line naming it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.broker.tradier import Order, OrderStatus, Profile
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.broker.tradier.models import Balances, CalendarDay


@pytest.mark.parametrize(
    ("leg", "ids"),
    [
        ("null", []),
        (None, []),
        ({"id": 81}, [81]),
        ([{"id": 81}, {"id": 82}], [81, 82]),
        ([{"id": 81}, "null"], [81]),
    ],
)
def test_a_collapsed_collection_is_a_tuple(leg: object, ids: list[int]) -> None:
    assert [item.id for item in Order.from_json({"id": 8, "status": "open", "leg": leg}).legs] == ids


def test_empty_markers_are_none_in_every_field_type() -> None:
    order = Order.from_json(
        {"id": "null", "status": "", "price": "null", "create_date": None, "class": "null", "tag": " null "}
    )
    assert (order.id, order.status, order.price, order.create_date, order.order_class, order.tag) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    day = CalendarDay.from_json({"date": "2026-11-26", "status": "closed", "open": "null", "premarket": {}})
    assert day.open is None and day.premarket is None


def test_words_outside_the_vocabulary_stay_text() -> None:
    order = Order.from_json({"id": 1, "status": "held", "side": "sell_short", "class": "option"})
    assert order.status == "held" and not isinstance(order.status, OrderStatus) and not order.working
    assert order.side == "sell_short"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": 1, "price": "abc"}, "order.price is 'abc', expected a number"),
        ({"id": 1.5}, "order.id is Decimal('1.5'), expected a whole number"),
        ({"id": 1, "leg": [{"id": 2, "quantity": True}]}, "order.quantity is a boolean"),
        ({"id": 1, "leg": ["x"]}, "order.leg.0 is str 'x', not an object"),
        (
            {"id": 1, "create_date": "yesterday"},
            "order.create_date is 'yesterday', expected an ISO timestamp",
        ),
    ],
)
def test_a_bad_field_is_one_line_naming_it(data: dict[str, object], message: str) -> None:
    if isinstance(data.get("id"), float):
        data = {**data, "id": Decimal(str(data["id"]))}
    with pytest.raises(TradierMalformedResponseError) as info:
        Order.from_json(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_nested_records_keep_their_own_raw() -> None:
    profile = Profile.from_json({"profile": {"id": "p", "account": {"account_number": "VA1", "extra": 1}}})
    assert profile.raw["id"] == "p" and profile.accounts[0].raw == {"account_number": "VA1", "extra": 1}
    balances = Balances.from_json(
        {"account_type": "cash", "cash": {"cash_available": "10.5"}}, account_number="VA9"
    )
    assert balances.raw == {
        "account_type": "cash",
        "cash": {"cash_available": "10.5"},
    }  # as sent, no fill-ins
    assert balances.cash is not None and balances.cash.cash_available == Decimal("10.5")
    with pytest.raises(TradierMalformedResponseError, match=r"account\.account_number is missing"):
        Profile.from_json({"profile": {"account": {"account_number": "null"}}})
