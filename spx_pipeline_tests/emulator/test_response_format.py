"""Tradier response format: collection collapse, Decimal-exact JSON numbers, XML of the same document."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from spx_pipeline.emulator.response_format import collection, long_money, to_json, to_xml


def test_collection_collapse():
    assert collection([]) == "null"
    assert collection([{"a": 1}]) == {"a": 1}
    assert collection([1, 2]) == [1, 2]


def test_long_money_keeps_24_decimals_even_for_large_values():
    assert str(long_money("17798.36")) == "17798.360000000000000000000000"
    assert str(long_money(Decimal("123456789.01"))) == "123456789.010000000000000000000000"


def test_json_writes_decimals_verbatim_and_round_trips():
    document = {
        "n": long_money("1.5"),
        "q": Decimal("1.00000000"),
        "f": 2.25,
        "i": 3,
        "b": True,
        "none": None,
        "s": 'quo"te \u00e9',
        "l": [1, {"x": False}],
    }
    text = to_json(document).decode()
    assert '"n":1.500000000000000000000000' in text
    assert '"q":1.00000000' in text
    assert json.loads(text, parse_float=Decimal) == {
        **document,
        "n": Decimal("1.5"),
        "f": Decimal("2.25"),
    }
    assert to_json({"x": Decimal("NaN"), "y": float("inf")}) == b'{"x":null,"y":null}'


def test_json_refuses_unknown_types():
    with pytest.raises(TypeError, match="set"):
        to_json({"x": {1, 2}})


def test_xml_renders_the_same_document():
    document = {
        "orders": {"order": [{"id": 1, "tag": "a&b"}, {"id": 2, "price": Decimal("2.50")}], "x": None}
    }
    root = ET.fromstring(to_xml(document))
    assert root.tag == "orders"
    assert [o.findtext("id") for o in root.findall("order")] == ["1", "2"]
    assert root.find("order").findtext("tag") == "a&b"
    assert root.findall("order")[1].findtext("price") == "2.50"
    assert root.find("x").text is None
    assert ET.fromstring(to_xml({"positions": "null"})).tag == "positions"
