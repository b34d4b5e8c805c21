"""The one set of order rules: built from values or read from a form, the same request and refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.domain.orders import build_ticket_legs, entry_order, runner_stop_order, t1_order
from spx_pipeline.domain.tradier.enums import Duration, OrderClass, OrderStatus, OrderType, Side
from spx_pipeline.domain.tradier.order_requests import (
    ModifyOrderRequest,
    OcoOrderRequest,
    OptionLeg,
    OptionOrderRequest,
    read_modify_form,
    read_order_form,
)
from spx_pipeline.domain.tradier.order_rules import OrderPayloadError

SYM = "SPXW261124C06000000"


def test_every_builder_payload_reads_back_to_the_same_form() -> None:
    class Setup:
        stop_premium = Decimal("0.80")
        t1_gain_pct = Decimal("0.5")
        t1_fraction = Decimal("0.5")
        runner_stop_limit_offset = Decimal("0.10")

    legs = build_ticket_legs(
        {"symbol": SYM, "suggested_contracts": 4, "limit_price": Decimal("1.15")}, Setup(), tag="tk-1"
    )
    assert set(legs) == {"entry", "t1", "runner_stop"}
    for payload in legs.values():
        request = read_order_form(payload)
        assert request.to_form() == payload
        assert list(request.to_form()) == list(payload)  # Tradier's key order too
    assert isinstance(read_order_form(legs["t1"]), OcoOrderRequest)


def test_a_form_is_read_into_typed_values() -> None:
    request = read_order_form(entry_order(SYM, 3, "1.15", tag="bot-1", preview=True))
    assert isinstance(request, OptionOrderRequest)
    leg = request.leg
    assert (leg.side, leg.type, request.duration) == (Side.BUY_TO_OPEN, OrderType.LIMIT, Duration.DAY)
    assert leg.quantity == 3 and leg.price == Decimal("1.15") and leg.stop is None
    assert leg.contract is not None and leg.contract.strike == Decimal(6000)
    assert request.tag == "bot-1" and request.preview is True
    assert request.order_class is OrderClass.OPTION


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"price": "1.13"}, "price", "off the SPX tick grid"),
        ({"price": "3.05"}, "price", "off the SPX tick grid"),
        ({"quantity": "1.5"}, "quantity", "whole number"),
        ({"quantity": "0"}, "quantity", "at least 1"),
        ({"side": "buy"}, "side", "must be one of buy_to_open"),
        ({"type": "market"}, "price", "does not apply to a market order"),
        ({"type": "stop"}, "price", "does not apply to a stop order"),
        ({"type": "stop_limit"}, "stop", "is required for a stop_limit order"),
        ({"tag": "has_underscore"}, "tag", "letters, digits or '-'"),
        ({"symbol": "SPY"}, "symbol", "does not match"),
        ({"class": "equity"}, "class", "must be option, oco, oto or otoco"),
        ({"duration": ""}, "duration", "is required"),
        ({"preview": "yes"}, "preview", "true or false"),
    ],
)
def test_a_form_is_refused_by_the_rules_the_builders_apply(
    changes: dict[str, str], field: str, problem: str
) -> None:
    with pytest.raises(OrderPayloadError, match=problem) as info:
        read_order_form({**entry_order(SYM, 1, "1.15"), **changes})
    assert info.value.field == field


def test_the_same_refusal_whether_built_or_read() -> None:
    with pytest.raises(OrderPayloadError) as built:
        entry_order(SYM, 1, "1.13")
    with pytest.raises(OrderPayloadError) as read:
        read_order_form({**entry_order(SYM, 1, "1.15"), "price": "1.13"})
    assert (built.value.field, built.value.problem) == (read.value.field, read.value.problem)


def test_oco_legs_must_differ_in_type_and_share_the_contract() -> None:
    form = t1_order(SYM, 4, 2, "1.70", "0.80", tag="t1-x")
    request = read_order_form(form)
    assert isinstance(request, OcoOrderRequest)
    assert [leg.type for leg in request.legs] == [OrderType.LIMIT, OrderType.STOP]
    with pytest.raises(OrderPayloadError, match="differ in type") as same:
        read_order_form({**form, "type[1]": "limit", "price[1]": "1.60"} | {"stop[1]": ""})
    assert same.value.field == "type[1]"
    other = "SPXW261124C06050000"
    with pytest.raises(OrderPayloadError, match="share option_symbol"):
        read_order_form({**form, "option_symbol[1]": other})
    with pytest.raises(OrderPayloadError, match="off the SPX tick grid") as off:
        read_order_form({**form, "stop[1]": "0.83"})
    assert off.value.field == "stop[1]"


def test_our_policies_stay_with_the_builders_not_the_wire_rules() -> None:
    """A sell stop-limit above its stop and an OCO stop above its target are valid wire orders."""
    with pytest.raises(OrderPayloadError, match="above its stop"):
        runner_stop_order(SYM, 1, "0.60", limit_price="0.65")
    form = {**runner_stop_order(SYM, 1, "0.60", limit_price="0.50"), "price": "0.65"}
    assert read_order_form(form).to_form()["price"] == "0.65"
    legs = (
        OptionLeg.build(SYM, "sell_to_close", 1, "limit", price="0.05"),
        OptionLeg.build(SYM, "sell_to_close", 1, "stop", stop="5.00"),
    )
    assert OcoOrderRequest.build(*legs).to_form()["stop[1]"] == "5.00"


def test_modify_rules_with_and_without_the_current_order() -> None:
    assert read_modify_form({"price": "2.5"}).to_form() == {"price": "2.50"}
    with pytest.raises(OrderPayloadError, match="cannot be modified"):
        read_modify_form({"quantity": "2"})
    with pytest.raises(OrderPayloadError, match="at least one"):
        read_modify_form({})
    to_stop_limit = ModifyOrderRequest.build(order_type="stop_limit", stop="2.40")
    with pytest.raises(OrderPayloadError, match=r"price.*is required when changing to a stop_limit"):
        to_stop_limit.check_against()  # the client does not know the order: it must send the price
    to_stop_limit.check_against(current_type="limit", current_price=Decimal("2.50"))  # the server does
    with pytest.raises(OrderPayloadError, match="does not apply to a stop order"):
        ModifyOrderRequest.build(order_type="stop", price="1.10", stop="1.00").check_against()
    ModifyOrderRequest.build(order_type="stop", stop="1.00").check_against(
        current_type="limit", current_price=Decimal("2.50")
    )  # a limit changed to a stop drops its price
    gtc = ModifyOrderRequest.build(duration="gtc")
    gtc.check_against()
    with pytest.raises(OrderPayloadError, match="pre/post"):
        gtc.check_against(current_duration="pre")


def test_the_vocabulary_compares_as_the_wire_spells_it() -> None:
    assert Side.BUY_TO_OPEN == "buy_to_open" and Side("sell_to_close").closing
    assert OrderStatus.known("filled") is OrderStatus.FILLED and OrderStatus.known("held") == "held"
    assert OrderStatus.PENDING.working and not OrderStatus.CANCELED.working
    assert OrderType.STOP_LIMIT.uses_price and OrderType.STOP_LIMIT.uses_stop
    assert not OrderType.MARKET.uses_price
    assert f"{Duration.GTC}" == "gtc"


def test_each_class_takes_its_number_of_legs() -> None:
    leg = OptionLeg.build(SYM, "sell_to_close", 1, "limit", price="1.00")
    with pytest.raises(OrderPayloadError, match="class=oco order has exactly 2 leg"):
        OcoOrderRequest.build(leg)
    with pytest.raises(OrderPayloadError, match="class=option order has exactly 1 leg"):
        OptionOrderRequest.build(leg, leg)
