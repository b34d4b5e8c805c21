"""Vectorized OCC parse/format: identical to the scalar rules on every input, and exact strikes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.occ import (
    OptionContract,
    OptionSymbolError,
    format_option_symbols,
    parse_option_symbol,
    parse_option_symbols,
)

EDGE_VECTOR = [
    "SPXW251219C06000000",
    "SPXW  251219C06000000",
    "O:SPXW251219C06000000",
    "AAPL1 250117C00150000",
    "AAPL1250117C00150000",
    "F     250117P00012500",
    "F250117P00012500",
    "SPY251301C00500000",
    "SPY250230C00500000",
    "XYZ251219C123456789",
    "spy251219c00500000",
    "NDXP  251219C21000500",
]
PARSED = ["root", "underlying", "expiration", "right", "strike", "strike_milli", "osi", "tradier", "massive"]


def assert_matches_scalar(symbols: pd.Series, frame: pd.DataFrame) -> None:
    """Row by row, the coerce-mode frame says what parse_option_symbol says."""
    assert list(frame.index) == list(symbols.index)
    for position, value in enumerate(symbols.to_list()):
        row = frame.iloc[position]
        try:
            contract = parse_option_symbol(value)
        except OptionSymbolError as exc:
            assert row["error"] == str(exc), value
            assert row[PARSED].isna().all(), value
            continue
        assert row["error"] is None, (value, row["error"])
        assert row["root"] == contract.root
        assert row["underlying"] == contract.underlying
        assert row["expiration"] == pd.Timestamp(contract.expiration)
        assert row["right"] == contract.right
        assert row["strike_milli"] == contract.strike_milli
        assert row["strike"] == float(contract.strike)
        assert (row["osi"], row["tradier"], row["massive"]) == (
            contract.osi,
            contract.tradier,
            contract.massive,
        )


def test_edge_vector_matches_scalar_and_reads_right() -> None:
    symbols = pd.Series(EDGE_VECTOR, index=[f"r{i}" for i in range(len(EDGE_VECTOR))])
    frame = parse_option_symbols(symbols, errors="coerce")
    assert_matches_scalar(symbols, frame)
    assert frame["error"].notna().tolist() == [False] * 7 + [True] * 4 + [False]
    assert frame.loc["r5", "strike_milli"] == 12_500
    assert frame.loc["r11", "strike"] == 21000.5
    assert frame.loc["r3", "root"] == "AAPL1"
    assert frame.loc["r3", "underlying"] == "AAPL"
    assert frame.loc["r0", "underlying"] == "SPX"
    assert set(frame.loc[["r0", "r1", "r2"], "osi"]) == {"SPXW  251219C06000000"}
    assert set(frame.loc[["r0", "r1", "r2"], "massive"]) == {"O:SPXW251219C06000000"}
    assert "month 13 is not a real month" in frame.loc["r7", "error"]


def test_dtypes_and_midnight_expirations() -> None:
    frame = parse_option_symbols(pd.Series(EDGE_VECTOR[:7] + EDGE_VECTOR[11:]))
    assert frame["expiration"].dtype == "datetime64[ns]"
    assert (frame["expiration"] == frame["expiration"].dt.normalize()).all()
    assert frame["strike"].dtype == np.float64
    assert frame["strike_milli"].dtype == np.int64
    for column in ("root", "underlying", "right", "osi", "tradier", "massive"):
        assert frame[column].dtype == object
        assert all(isinstance(v, str) for v in frame[column])
    assert list(frame.columns) == PARSED
    coerced = parse_option_symbols(pd.Series(EDGE_VECTOR), errors="coerce")
    assert coerced["strike_milli"].dtype == "Int64"
    assert list(coerced.columns) == [*PARSED, "error"]


def test_raise_reports_count_labels_and_reasons() -> None:
    symbols = pd.Series(EDGE_VECTOR, index=range(100, 100 + len(EDGE_VECTOR)))
    with pytest.raises(OptionSymbolError) as info:
        parse_option_symbols(symbols)
    message = str(info.value)
    assert message.startswith("4 invalid option symbols")
    assert "[107] 'SPY251301C00500000': month 13 is not a real month" in message
    assert "[108] 'SPY250230C00500000': day 30" in message
    assert "[109]" in message
    assert "[110]" in message


def test_raise_shows_only_the_first_few() -> None:
    symbols = pd.Series(["bad"] * 9 + ["SPY251219C00500000"])
    with pytest.raises(OptionSymbolError, match=r"9 invalid option symbols \(first 5 shown\)") as info:
        parse_option_symbols(symbols)
    assert "[4]" in str(info.value)
    assert "[5]" not in str(info.value)


def test_non_strings_missing_values_and_long_whitespace() -> None:
    symbols = pd.Series(
        [None, np.nan, 5, " " * 50 + "SPY251219C00500000\t", "X" * 60, "SPY251219C00500000\x00"]
    )
    frame = parse_option_symbols(symbols, errors="coerce")
    assert_matches_scalar(symbols, frame)
    assert frame["error"].isna().tolist() == [False, False, False, True, False, False]


# Neighbours matter to the byte-buffer decoder: every row is read from one joined buffer, so a
# row must never borrow characters from the row before or after it.
NEIGHBOURS = [
    "",
    "O",
    ":SPXW251219C06000000",
    "SPXW251219C0600000",
    "0",
    "   ",
    "SPXW251219C06000000\x00",
    "\x00SPXW251219C06000000",
    " \u3000SPXW251219C06000000\u00a0 ",
    "\u00e9SPXW251219C06000000",
    "\tSPXW  251219C06000000\n",
    "x" * 40,
    " " * 40 + "O:SPXW251219C06000000" + "\x1f" * 40,
    "O:",
    "251219C06000000",
    "SPXW251219C06000000",
]


@pytest.mark.parametrize("shift", range(len(NEIGHBOURS)))
def test_rows_never_read_their_neighbours(shift: int) -> None:
    values = NEIGHBOURS[shift:] + NEIGHBOURS[:shift]
    symbols = pd.Series(values, dtype=object)
    assert_matches_scalar(symbols, parse_option_symbols(symbols, errors="coerce"))


SPELLED = ["SPXW251219C06000000", "AAPL1 250117C00150000", "F250117P00012500", "GOOGL 250117C00150000"]


@pytest.mark.parametrize("style", ["osi", "tradier", "massive"])
def test_single_spelling_batches_are_new_columns_of_plain_str(style: str) -> None:
    class Symbol(str):
        """A str subclass: the output must still hold plain str."""

    texts = [getattr(parse_option_symbol(s), style) for s in SPELLED]
    for values in (texts, [Symbol(t) for t in texts]):
        symbols = pd.Series(values, dtype=object)
        frame = parse_option_symbols(symbols, errors="coerce")
        assert_matches_scalar(symbols, frame)
        assert {type(v) for c in ("osi", "tradier", "massive") for v in frame[c]} == {str}
        frame.loc[0, style] = "changed"
        assert symbols[0] == texts[0]


def test_string_dtype_series_with_na() -> None:
    symbols = pd.Series(["SPY251219C00500000", None], dtype="string")
    frame = parse_option_symbols(symbols, errors="coerce")
    assert frame.loc[0, "root"] == "SPY"
    assert "expected a str" in frame.loc[1, "error"]


def test_empty_series_and_bad_arguments() -> None:
    frame = parse_option_symbols(pd.Series([], dtype=object))
    assert list(frame.columns) == PARSED
    assert len(frame) == 0
    with pytest.raises(ValueError, match="'ignore'"):
        parse_option_symbols(pd.Series(EDGE_VECTOR), errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Series"):
        parse_option_symbols(EDGE_VECTOR)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Property: vectorized == scalar, on valid symbols and on mutations of them
# --------------------------------------------------------------------------------------------

ROOTS = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)
EXPIRIES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)) | st.sampled_from(
    [date(2000, 2, 29), date(2024, 2, 29), date(2096, 2, 29), date(2025, 12, 31)]
)
MILLIS = st.integers(1, 99_999_999) | st.sampled_from([1, 500, 12_500, 64_350, 99_999_999])
WHITESPACE = st.text(st.sampled_from([" ", "\t", "\n", "\r", "\x1c", "\u00a0", "\u3000"]), max_size=3)
NOISE = st.sampled_from([*"ACOPZ09 :aco\t\x00é٣-.", "\u00a0"])


@st.composite
def valid_symbols(draw: st.DrawFn) -> str:
    right = draw(st.sampled_from(["C", "P"]))
    contract = OptionContract(draw(ROOTS), draw(EXPIRIES), right, Decimal(draw(MILLIS)) / 1000)
    text = getattr(contract, draw(st.sampled_from(["osi", "tradier", "massive"])))
    return draw(WHITESPACE) + text + draw(WHITESPACE)


@st.composite
def mutated_symbols(draw: st.DrawFn) -> str:
    text = draw(valid_symbols())
    for _ in range(draw(st.integers(1, 2))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        noise = draw(NOISE)
        if action == "replace" and position < len(text):
            text = text[:position] + noise + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + noise + text[position:]
        else:
            text = text[:position] + text[position + 1 :]
    return text


SYMBOLS = st.one_of(
    valid_symbols(),
    mutated_symbols(),
    st.text(max_size=25),
    st.sampled_from([None, 1.5, *EDGE_VECTOR]),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SYMBOLS, min_size=1, max_size=25))
def test_vectorized_equals_scalar(values: list[object]) -> None:
    symbols = pd.Series(values, dtype=object, index=[f"k{i}" for i in range(len(values))])
    frame = parse_option_symbols(symbols, errors="coerce")
    assert_matches_scalar(symbols, frame)
    any_bad = frame["error"].notna().any()
    if any_bad:
        with pytest.raises(OptionSymbolError, match=str(frame["error"].first_valid_index())):
            parse_option_symbols(symbols)
    else:
        raised = parse_option_symbols(symbols)
        pd.testing.assert_frame_equal(raised, frame.drop(columns="error").astype({"strike_milli": "int64"}))


@settings(max_examples=100, deadline=None)
@given(st.lists(valid_symbols(), min_size=1, max_size=20), st.sampled_from(["osi", "tradier", "massive"]))
def test_format_round_trips_parse(values: list[str], style: str) -> None:
    frame = parse_option_symbols(pd.Series(values))
    formatted = format_option_symbols(frame, style)  # type: ignore[arg-type]
    assert formatted.tolist() == frame[style].tolist()
    by_float = format_option_symbols(frame.drop(columns="strike_milli"), style)  # type: ignore[arg-type]
    assert by_float.tolist() == frame[style].tolist()


# --------------------------------------------------------------------------------------------
# format_option_symbols
# --------------------------------------------------------------------------------------------


def contract_frame(**overrides: list[object]) -> pd.DataFrame:
    columns: dict[str, list[object]] = {
        "root": ["SPXW", "F", "AAPL1"],
        "expiration": [date(2025, 12, 19), date(2025, 1, 17), date(2025, 1, 17)],
        "right": ["C", "P", "C"],
        "strike": [6000.0, 12.5, 150.0],
    }
    columns.update(overrides)
    return pd.DataFrame(columns, index=["a", "b", "c"])


def test_format_styles_and_index() -> None:
    frame = contract_frame()
    osi = format_option_symbols(frame, "osi")
    assert osi.tolist() == ["SPXW  251219C06000000", "F     250117P00012500", "AAPL1 250117C00150000"]
    assert list(osi.index) == ["a", "b", "c"]
    assert format_option_symbols(frame).tolist() == [
        "SPXW251219C06000000",
        "F250117P00012500",
        "AAPL1250117C00150000",
    ]
    assert format_option_symbols(frame, "massive")["a"] == "O:SPXW251219C06000000"


@pytest.mark.parametrize(
    ("strike", "field"),
    [(64.35, "00064350"), (16.15, "00016150"), (2.01, "00002010"), (0.5, "00000500"), (2.5, "00002500")],
)
def test_format_float_strikes_exactly(strike: float, field: str) -> None:
    frame = contract_frame(strike=[strike] * 3)
    assert format_option_symbols(frame)["a"] == f"SPXW251219C{field}"
    decimals = contract_frame(strike=[Decimal(repr(strike))] * 3)
    assert format_option_symbols(decimals)["a"] == f"SPXW251219C{field}"


def test_format_prefers_exact_strike_milli() -> None:
    frame = contract_frame(strike=[1.0] * 3).assign(strike_milli=[64_350, 16_150, 2_010])
    assert format_option_symbols(frame).tolist() == [
        "SPXW251219C00064350",
        "F250117P00016150",
        "AAPL1250117C00002010",
    ]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"strike": [6000.0, 123456.5, 1.0]}, "123456.5 does not fit"),
        ({"strike": [6000.0, 1.2345, 1.0]}, "more than 3 decimals"),
        ({"strike": [6000.0, 0.0, 1.0]}, "must be positive"),
        ({"strike": [6000.0, -2.5, 1.0]}, "must be positive"),
        ({"strike": [6000.0, float("nan"), 1.0]}, "not a finite number"),
        ({"strike": [Decimal("6000"), Decimal("123456.5"), Decimal(1)]}, "123456.5 does not fit"),
        ({"root": ["SPXW", "spy", "AAPL1"]}, "must be upper case"),
        ({"root": ["SPXW", None, "AAPL1"]}, "root is missing"),
        ({"root": ["SPXW", "TOOLONG", "AAPL1"]}, "longer than 6"),
        ({"right": ["C", "call", "C"]}, "right must be 'C' or 'P', got 'call'"),
        ({"expiration": [date(2025, 12, 19), None, date(2025, 1, 17)]}, "must be a date"),
        (
            {"expiration": [date(2025, 12, 19), pd.Timestamp("2025-01-17 09:30"), date(2025, 1, 17)]},
            "must be a date",
        ),
        ({"expiration": [date(2025, 12, 19), date(2100, 1, 1), date(2025, 1, 17)]}, "2000-2099"),
    ],
)
def test_format_refuses_bad_rows_naming_the_label(overrides: dict[str, list[object]], fragment: str) -> None:
    with pytest.raises(OptionSymbolError, match="1 invalid contract rows") as info:
        format_option_symbols(contract_frame(**overrides), "osi")
    assert "['b']" in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("expiration", "symbol"),
    [
        (pd.Timestamp("2000-01-01"), "F000101P00012500"),
        (pd.Timestamp("2024-02-29"), "F240229P00012500"),
        (pd.Timestamp("2099-12-31"), "F991231P00012500"),
        (pd.Timestamp("1999-12-31"), None),
        (pd.Timestamp("2100-01-01"), None),
        (pd.Timestamp("1969-12-31"), None),
        (pd.Timestamp("2000-01-01 00:00:00.000000001"), None),
        (pd.Timestamp("2099-12-31 23:59:59"), None),
    ],
)
def test_format_expiration_bounds(expiration: pd.Timestamp, symbol: str | None) -> None:
    frame = contract_frame(expiration=[date(2025, 12, 19), expiration, date(2025, 1, 17)])
    if symbol is None:
        with pytest.raises(OptionSymbolError, match=r"1 invalid contract rows.*\['b'\] expiration"):
            format_option_symbols(frame)
    else:
        assert format_option_symbols(frame)["b"] == symbol


def test_format_refuses_bad_strike_milli() -> None:
    frame = contract_frame().assign(strike_milli=[6_000_000, 100_000_000, 0])
    with pytest.raises(OptionSymbolError, match="2 invalid contract rows") as info:
        format_option_symbols(frame)
    assert "strike_milli 100000000 must be an integer from 1 to 99999999" in str(info.value)


def test_format_refuses_frames_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="'schwab'"):
        format_option_symbols(contract_frame(), "schwab")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"strike_milli \(or strike\)"):
        format_option_symbols(contract_frame().drop(columns="strike"))
    with pytest.raises(ValueError, match="'right'"):
        format_option_symbols(contract_frame().drop(columns="right"))
    aware = contract_frame(expiration=list(pd.to_datetime(["2025-12-19"] * 3).tz_localize("UTC")))
    with pytest.raises(OptionSymbolError, match="time-zone-aware"):
        format_option_symbols(aware)
