"""Tradier's JSON quirks, on hand-written payloads shaped as in the reference (§2, §5.1)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spx_pipeline.broker.tradier import normalize
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError


def test_loads_keeps_long_decimal_tails_exact() -> None:
    body = normalize.loads('{"x": 17798.360000000000000000000000, "q": 1.00000000, "i": 3}')
    assert body["x"] == Decimal("17798.36")
    assert str(body["x"]) == "17798.360000000000000000000000"
    assert isinstance(body["q"], Decimal)
    assert body["i"] == 3 and isinstance(body["i"], int)


@pytest.mark.parametrize("text", ["<xml/>", "", "{broken", b"\xff\xfe"])
def test_loads_rejects_non_json_with_snippet(text: str | bytes) -> None:
    with pytest.raises(TradierMalformedResponseError, match="not JSON"):
        normalize.loads(text)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"orders": "null"}, []),
        ({"orders": None}, []),
        ({"orders": {"order": "null"}}, []),
        ({"orders": {"order": None}}, []),
        ({"orders": {}}, []),
        ({"orders": {"order": {"id": 1}}}, [{"id": 1}]),
        ({"orders": {"order": [{"id": 1}, {"id": 2}]}}, [{"id": 1}, {"id": 2}]),
        ({"orders": {"order": [{"id": 1}, "null"]}}, [{"id": 1}]),
    ],
)
def test_collection_handles_every_empty_and_single_spelling(body: dict, expected: list) -> None:
    assert normalize.collection(body, "orders", "order") == expected


def test_collection_names_missing_and_wrong_outer_key() -> None:
    with pytest.raises(TradierMalformedResponseError, match="'positions'"):
        normalize.collection({"orders": "null"}, "positions", "position")
    with pytest.raises(TradierMalformedResponseError, match="orders is int"):
        normalize.collection({"orders": 5}, "orders", "order")
    with pytest.raises(TradierMalformedResponseError, match="got list"):
        normalize.collection([], "orders", "order")


def test_single_expiration_date_is_a_bare_string() -> None:
    assert normalize.collection({"expirations": {"date": "2026-11-24"}}, "expirations", "date") == [
        "2026-11-24"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"errors": {"error": "You do not have enough buying power for this trade."}},
            ["You do not have enough"],
        ),
        ({"errors": {"error": ["a", "b"]}}, ["a", "b"]),
        ({"errors": "Invalid request"}, ["Invalid request"]),
        ({"errors": {"message": "x"}}, ["errors object without error text: {'message': 'x'}"]),
    ],
)
def test_error_messages_scalar_list_and_string(body: dict, expected: list[str]) -> None:
    messages = normalize.error_messages(body)
    assert messages is not None
    assert len(messages) == len(expected)
    for got, want in zip(messages, expected, strict=True):
        assert got.startswith(want)


@pytest.mark.parametrize(
    "errors",
    ["null", None, {}, [], "", {"error": "null"}, {"error": None}, {"error": []}, ["null"]],
    ids=repr,
)
def test_error_messages_empty_markers_mean_no_errors(errors: object) -> None:
    assert normalize.error_messages({"errors": errors}) is None
    assert normalize.error_messages({"errors": errors, "order": {"id": 7, "status": "ok"}}) is None


def test_error_messages_none_when_no_errors_key() -> None:
    assert normalize.error_messages({"order": {"id": 1}}) is None
    assert normalize.error_messages("text") is None


@pytest.mark.parametrize("value", [None, "null", "", " null "])
def test_opt_decimal_empty_spellings(value: object) -> None:
    assert normalize.opt_decimal(value, field="f") is None


def test_opt_decimal_values_and_errors() -> None:
    assert normalize.opt_decimal(5, field="f") == Decimal(5)
    assert normalize.opt_decimal("1.25", field="f") == Decimal("1.25")
    assert normalize.opt_decimal(0.1, field="f") == Decimal("0.1")
    with pytest.raises(TradierMalformedResponseError, match="total_equity is 'abc'"):
        normalize.opt_decimal("abc", field="total_equity")
    with pytest.raises(TradierMalformedResponseError, match="boolean"):
        normalize.opt_decimal(True, field="f")
    with pytest.raises(TradierMalformedResponseError, match="finite"):
        normalize.opt_decimal("NaN", field="f")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "f is a boolean (True), expected a number"),
        (" 1x ", "f is ' 1x ', expected a number"),
        ([1], "f is list [1], expected a number"),
        ("-Infinity", "f is '-Infinity', expected a finite number"),
    ],
)
def test_opt_decimal_words_refusals_as_the_broker_answer(value: object, message: str) -> None:
    """The parser is the domain's (``to_decimal``); the wording stays the broker's own."""
    with pytest.raises(TradierMalformedResponseError) as caught:
        normalize.opt_decimal(value, field="f")
    assert caught.value.message == message


def test_opt_int_accepts_integral_decimals_only() -> None:
    assert normalize.opt_int(Decimal("1.00000000"), field="q") == 1
    with pytest.raises(TradierMalformedResponseError, match="whole number"):
        normalize.opt_int(Decimal("1.5"), field="q")


@pytest.mark.parametrize(
    "value",
    [Decimal("1e99999"), Decimal("-1E+400"), 2**63, Decimal("9.3e18"), Decimal("1e9999999"), "-1e9999999"],
)
def test_counts_beyond_their_column_are_refused_before_they_become_ints(value: object) -> None:
    """A huge exponent is refused as a malformed answer naming the field, never converted (a
    broker's 1e9999999 would take minutes to become an int)."""
    with pytest.raises(TradierMalformedResponseError, match=r"quantity is .*beyond the 2147483648 a count"):
        normalize.bounded_int(normalize.INT32_LIMIT)(value, field="quantity")
    with pytest.raises(TradierMalformedResponseError, match="beyond"):
        normalize.opt_int(value, field="id")
    assert normalize.bounded_int(normalize.INT32_LIMIT)(Decimal("2.147483647E+9"), field="q") == 2**31 - 1


def test_money_beyond_its_column_is_refused_whatever_its_exponent() -> None:
    for value in (Decimal("1e9999999"), "-1e9999999", Decimal("1e14")):
        with pytest.raises(TradierMalformedResponseError, match=r"total_equity is .*beyond"):
            normalize.opt_money(value, field="total_equity")
    assert normalize.opt_money(Decimal("99999999999999.9999"), field="total_equity") == Decimal(
        "99999999999999.9999"
    )


def test_opt_bool_and_dates() -> None:
    assert normalize.opt_bool("true", field="b") is True
    assert normalize.opt_bool(False, field="b") is False
    with pytest.raises(TradierMalformedResponseError, match="day_trader is 'maybe'"):
        normalize.opt_bool("maybe", field="day_trader")
    assert normalize.opt_date("2026-11-24", field="d") == date(2026, 11, 24)
    assert normalize.opt_datetime("2021-03-01T14:02:11.000Z", field="d") == datetime(
        2021, 3, 1, 14, 2, 11, tzinfo=UTC
    )
    assert normalize.opt_hhmm("09:30", field="t") == time(9, 30)
    with pytest.raises(TradierMalformedResponseError, match="expected YYYY-MM-DD"):
        normalize.opt_date("24/11/2026", field="d")


def test_opt_epoch_tells_seconds_from_milliseconds() -> None:
    expected = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    seconds = int(expected.timestamp())
    assert normalize.opt_epoch(seconds, field="t") == expected
    assert normalize.opt_epoch(seconds * 1000, field="t") == expected
    assert normalize.opt_epoch(0, field="t") is None


def test_clean_turns_nested_null_strings_into_none() -> None:
    assert normalize.clean({"a": "null", "b": {"c": "null", "d": [1, "null"]}, "e": "x"}) == {
        "a": None,
        "b": {"c": None, "d": [1, None]},
        "e": "x",
    }


_ROWS = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(1, 10**9), "symbol": st.text("ABCSPXW0123456789", min_size=1, max_size=21)}
    ),
    max_size=6,
)


@given(rows=_ROWS, empty=st.sampled_from(["null", None, {"order": "null"}, {"order": None}, {}]))
def test_collection_round_trips_tradier_collapse(rows: list[dict], empty: object) -> None:
    """However Tradier spells 0, 1 or n elements, the list comes back as it was."""
    if not rows:
        wire: object = empty
    elif len(rows) == 1:
        wire = {"order": rows[0]}
    else:
        wire = {"order": rows}
    body = normalize.loads(json.dumps({"orders": wire}))
    assert normalize.collection(body, "orders", "order") == rows


def _full_reading(value: object) -> Decimal | None:
    """``opt_decimal`` without its shortcut for parsed numbers: the checks every value once took."""
    from spx_pipeline.domain.money import to_decimal

    if normalize.is_empty(value):
        return None
    return to_decimal(value, "x", wording=normalize._ANSWER_WORDING, error=TradierMalformedResponseError)


def _reading(read: object, value: object) -> tuple[str, str]:
    try:
        number = read(value)  # type: ignore[operator]
    except TradierMalformedResponseError as exc:
        return "refused", str(exc)
    return type(number).__name__, repr(number)


@given(
    st.one_of(
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.just(0),
        st.just(Decimal("-0.000")),
        st.just(Decimal("17798.360000000000000000000000")),
    )
)
def test_a_parsed_number_reads_as_the_full_reading_reads_it(value: object) -> None:
    assert _reading(lambda v: normalize.opt_decimal(v, field="x"), value) == _reading(_full_reading, value)


def test_a_money_figure_beyond_the_column_is_refused_with_the_same_words() -> None:
    with pytest.raises(TradierMalformedResponseError, match=r"x is 1E\+14, beyond the 1e\+14 a money figure"):
        normalize.opt_money(Decimal("1E+14"), field="x")
    with pytest.raises(
        TradierMalformedResponseError, match=r"n is 2147483648, beyond the 2147483648 a count"
    ):
        normalize.bounded_int(normalize.INT32_LIMIT)(2**31, field="n")
