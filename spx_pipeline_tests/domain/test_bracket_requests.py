"""OTO and OTOCO on the wire: built or read, the same form and the same refusals, naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.domain.tradier.enums import OrderClass
from spx_pipeline.domain.tradier.order_requests import (
    OptionLeg,
    OtocoOrderRequest,
    OtoOrderRequest,
    read_order_form,
)
from spx_pipeline.domain.tradier.order_rules import OrderPayloadError

SYM = "SPXW261124C06000000"
BUY = OptionLeg.build(SYM, "buy_to_open", 2, "limit", price="4.40")
TARGET = OptionLeg.build(SYM, "sell_to_close", 2, "limit", price="6.60")
STOP = OptionLeg.build(SYM, "sell_to_close", 2, "stop", stop="2.20")


def test_an_oto_form_lists_its_legs_indexed_and_reads_back_to_the_same_request() -> None:
    request = OtoOrderRequest.build(BUY, STOP, tag="spx-1-entry")
    form = request.to_form()
    assert form == {
        "class": "oto", "duration": "day",
        "symbol[0]": "SPX", "quantity[0]": "2", "type[0]": "limit", "option_symbol[0]": SYM,
        "side[0]": "buy_to_open", "price[0]": "4.40",
        "symbol[1]": "SPX", "quantity[1]": "2", "type[1]": "stop", "option_symbol[1]": SYM,
        "side[1]": "sell_to_close", "stop[1]": "2.20",
        "tag": "spx-1-entry",
    }  # fmt: skip
    read = read_order_form(form)
    assert isinstance(read, OtoOrderRequest) and read == request
    assert list(read.to_form()) == list(form)


def test_an_otoco_form_round_trips_with_its_bracket() -> None:
    request = OtocoOrderRequest.build(BUY, TARGET, STOP, duration="gtc", tag="b-1", preview=True)
    form = request.to_form()
    assert form["class"] == "otoco" and form["duration"] == "gtc" and form["preview"] == "true"
    assert (form["price[1]"], form["stop[2]"], form["side[2]"]) == ("6.60", "2.20", "sell_to_close")
    read = read_order_form(form)
    assert isinstance(read, OtocoOrderRequest) and read == request
    assert read.order_class is OrderClass.OTOCO and read.legs[2].stop == Decimal("2.20")


def test_a_form_with_blanks_around_values_and_an_empty_tag_is_read() -> None:
    form = {**OtocoOrderRequest.build(BUY, TARGET, STOP).to_form(), "class": " otoco ", "tag": ""}
    assert isinstance(read_order_form(form), OtocoOrderRequest)


def _oto_form() -> dict[str, str]:
    return OtoOrderRequest.build(BUY, STOP, tag="t-1").to_form()


def _otoco_form() -> dict[str, str]:
    return OtocoOrderRequest.build(BUY, TARGET, STOP, tag="t-1").to_form()


@pytest.mark.parametrize(
    ("make", "changes", "field", "problem"),
    [
        (_oto_form, {"type[0]": "market", "price[0]": ""}, "type[0]", "cannot be market"),
        (_oto_form, {"stop[1]": ""}, "stop[1]", "is required for a stop order"),
        (_oto_form, {"price[0]": "4.43"}, "price[0]", "off the SPX tick grid"),
        (_oto_form, {"side[1]": "sell"}, "side[1]", "must be one of"),
        (_oto_form, {"quantity[1]": "1.5"}, "quantity[1]", "positive whole number"),
        (_oto_form, {"option_symbol[1]": ""}, "option_symbol[1]", "is required"),
        (_oto_form, {"tag": "a_b"}, "tag", "letters, digits or '-'"),
        (_oto_form, {"duration": "forever"}, "duration", "must be one of"),
        (_otoco_form, {"type[2]": "limit", "price[2]": "2.20", "stop[2]": ""}, "type[2]", "differ in type"),
        (_otoco_form, {"option_symbol[2]": "SPXW261124C06050000"}, "option_symbol[2]", "share option_symbol"),
        (_otoco_form, {"symbol[2]": ""}, "symbol[2]", "is required"),
        (_otoco_form, {"class": "bracket"}, "class", "must be option, oco, oto or otoco"),
        (_otoco_form, {"class": "equity"}, "class", "must be option, oco, oto or otoco"),
    ],
)
def test_a_bad_bracket_form_is_refused_naming_the_field(make, changes, field, problem) -> None:
    with pytest.raises(OrderPayloadError, match=problem) as info:
        read_order_form({**make(), **changes})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}=")
    assert "\n" not in str(info.value)


def test_each_bracket_class_takes_its_number_of_legs() -> None:
    with pytest.raises(OrderPayloadError, match="class=oto order has exactly 2 leg") as oto:
        OtoOrderRequest.build(BUY, TARGET, STOP)
    assert oto.value.field == "legs"
    with pytest.raises(OrderPayloadError, match="class=otoco order has exactly 3 leg"):
        OtocoOrderRequest.build(BUY, STOP)
