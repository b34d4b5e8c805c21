"""Scalar OCC symbol rules: the reference edge-case vector, every refusal, and the three spellings."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest

from spx_pipeline.domain.occ import (
    OptionContract,
    OptionSymbolError,
    format_option_symbol,
    parse_option_symbol,
    to_massive,
    to_osi,
    to_tradier,
    underlying_for_root,
)

SPXW_6000 = OptionContract("SPXW", date(2025, 12, 19), "C", Decimal("6000"))


@pytest.mark.parametrize(
    ("text", "root", "expiration", "right", "strike"),
    [
        ("SPXW251219C06000000", "SPXW", date(2025, 12, 19), "C", Decimal("6000")),
        ("SPXW  251219C06000000", "SPXW", date(2025, 12, 19), "C", Decimal("6000")),
        ("O:SPXW251219C06000000", "SPXW", date(2025, 12, 19), "C", Decimal("6000")),
        ("AAPL1 250117C00150000", "AAPL1", date(2025, 1, 17), "C", Decimal("150")),
        ("AAPL1250117C00150000", "AAPL1", date(2025, 1, 17), "C", Decimal("150")),
        ("F     250117P00012500", "F", date(2025, 1, 17), "P", Decimal("12.5")),
        ("F250117P00012500", "F", date(2025, 1, 17), "P", Decimal("12.5")),
        ("NDXP  251219C21000500", "NDXP", date(2025, 12, 19), "C", Decimal("21000.5")),
        ("SPX   141122P00019500", "SPX", date(2014, 11, 22), "P", Decimal("19.5")),
        ("XYZ   260116C00000500", "XYZ", date(2026, 1, 16), "C", Decimal("0.5")),
        ("ABCDEF251219P00000001", "ABCDEF", date(2025, 12, 19), "P", Decimal("0.001")),
        ("Q280229C99999999", "Q", date(2028, 2, 29), "C", Decimal("99999.999")),
        ("O:T000101P00001000", "T", date(2000, 1, 1), "P", Decimal("1")),
        ("  \tSPY991231C00650000\n", "SPY", date(2099, 12, 31), "C", Decimal("650")),
    ],
)
def test_parse_accepts_every_spelling(
    text: str, root: str, expiration: date, right: str, strike: Decimal
) -> None:
    contract = parse_option_symbol(text)
    assert (contract.root, contract.expiration, contract.right, contract.strike) == (
        root,
        expiration,
        right,
        strike,
    )
    assert isinstance(contract.strike, Decimal)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("SPY251301C00500000", "month 13 is not a real month"),
        ("SPY250001C00500000", "month 00 is not a real month"),
        ("SPY250230C00500000", "day 30 does not exist in February 2025"),
        ("SPY290229C00500000", "day 29 does not exist in February 2029"),
        ("SPY250431C00500000", "day 31 does not exist in April 2025"),
        ("SPY250100C00500000", "day 00 does not exist in January 2025"),
        ("XYZ251219C123456789", "'123456789' has 9 digits"),
        ("XYZ251219C1234567", "exactly 8 digits"),
        ("spy251219c00500000", "option type 'c' must be upper case"),
        ("spy251219C00500000", "root 'spy' must be upper case"),
        ("SPY251219X00500000", "option type 'X' must be 'C' or 'P'"),
        ("SPY2512A9C00500000", "expiry '2512A9' must be 6 digits"),
        ("1SPY251219C00500000", "root '1SPY' must start with a letter"),
        ("BRK.B250117C00450000", "root 'BRK.B' may contain only A-Z and 0-9"),
        ("ABCDEFG251219C00500000", "root 'ABCDEFG' is longer than 6"),
        ("251219C00500000", "missing root"),
        ("O:251219C00500000", "missing root"),
        ("C00500000", "too short"),
        ("", "empty symbol"),
        ("   ", "empty symbol"),
        ("SPY251219C00000000", "strike field 00000000 is zero"),
        ("SPXW 251219C06000000", "space-padded to exactly 6"),
        ("SPXW   251219C06000000", "space-padded to exactly 6"),
        ("SP XW 251219C06000000", "space-padded to exactly 6"),
        ("SPXW\t\t251219C06000000", "space-padded to exactly 6"),
        ("O:SPXW  251219C06000000", "Massive tickers carry no spaces"),
        ("o:SPXW251219C06000000", "upper-case 'O:'"),
        ("SPY251219C0050000٣", "exactly 8 digits"),
        ("SPY251219C00500000\x00", "exactly 8 digits"),
    ],
)
def test_parse_refuses_with_symbol_and_reason(text: str, fragment: str) -> None:
    with pytest.raises(OptionSymbolError) as info:
        parse_option_symbol(text)
    message = str(info.value)
    assert message.startswith(repr(text) + ": ")
    assert fragment in message
    assert info.value.symbol == text
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [None, 1234, b"SPY251219C00500000"])
def test_parse_refuses_non_strings(value: object) -> None:
    with pytest.raises(OptionSymbolError, match="expected a str"):
        parse_option_symbol(value)  # type: ignore[arg-type]


def test_three_spellings_of_one_contract() -> None:
    assert SPXW_6000.osi == "SPXW  251219C06000000"
    assert SPXW_6000.tradier == "SPXW251219C06000000"
    assert SPXW_6000.massive == "O:SPXW251219C06000000"
    assert format_option_symbol(SPXW_6000) == SPXW_6000.tradier
    assert format_option_symbol(SPXW_6000, "osi") == SPXW_6000.osi
    for text in (SPXW_6000.osi, SPXW_6000.tradier, SPXW_6000.massive):
        assert parse_option_symbol(text) == SPXW_6000
        assert to_osi(text) == SPXW_6000.osi
        assert to_tradier(text) == SPXW_6000.tradier
        assert to_massive(text) == SPXW_6000.massive


def test_one_character_root_is_padded_with_five_spaces() -> None:
    contract = parse_option_symbol("F250117P00012500")
    assert contract.osi == "F     250117P00012500"
    assert len(contract.osi) == 21


def test_adjusted_root_keeps_its_digits() -> None:
    contract = parse_option_symbol("AAPL1250117C00150000")
    assert contract.root == "AAPL1"
    assert contract.underlying == "AAPL"
    assert contract.osi == "AAPL1 250117C00150000"


@pytest.mark.parametrize(
    ("strike", "field"),
    [
        ("64.35", "00064350"),
        ("16.15", "00016150"),
        ("2.01", "00002010"),
        ("0.5", "00000500"),
        ("2.5", "00002500"),
        ("33.333", "00033333"),
        ("99999.999", "99999999"),
        ("6000.000", "06000000"),
    ],
)
def test_strike_field_is_exact(strike: str, field: str) -> None:
    contract = OptionContract("XYZ", date(2026, 1, 16), "C", Decimal(strike))
    assert contract.tradier == f"XYZ260116C{field}"
    assert parse_option_symbol(contract.tradier).strike == Decimal(strike)


@pytest.mark.parametrize(
    ("strike", "fragment"),
    [
        ("123456.5", "does not fit the 8-digit OCC strike field"),
        ("100000", "does not fit"),
        ("1.0001", "more than 3 decimals"),
        ("0", "must be positive"),
        ("-5", "must be positive"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
    ],
)
def test_contract_refuses_unencodable_strikes(strike: str, fragment: str) -> None:
    with pytest.raises(OptionSymbolError, match=fragment) as info:
        OptionContract("XYZ", date(2026, 1, 16), "C", Decimal(strike))
    assert strike.lstrip("-") in str(info.value)


def test_format_refuses_strike_smuggled_past_construction() -> None:
    contract = OptionContract("XYZ", date(2026, 1, 16), "C", Decimal("1"))
    object.__setattr__(contract, "strike", Decimal("123456.5"))
    with pytest.raises(OptionSymbolError, match=r"123456\.5 does not fit"):
        format_option_symbol(contract, "osi")
    object.__setattr__(contract, "strike", Decimal("1.2345"))
    with pytest.raises(OptionSymbolError, match="more than 3 decimals"):
        format_option_symbol(contract, "tradier")
    object.__setattr__(contract, "strike", Decimal("0"))
    with pytest.raises(OptionSymbolError, match="must be positive"):
        format_option_symbol(contract, "massive")


def test_contract_accepts_int_and_str_strikes_but_not_float() -> None:
    assert OptionContract("XYZ", date(2026, 1, 16), "P", 5).strike == Decimal("5")  # type: ignore[arg-type]
    assert OptionContract("XYZ", date(2026, 1, 16), "P", "64.35").strike == Decimal("64.35")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        OptionContract("XYZ", date(2026, 1, 16), "P", 64.35)  # type: ignore[arg-type]
    with pytest.raises(OptionSymbolError, match="not a number"):
        OptionContract("XYZ", date(2026, 1, 16), "P", "abc")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"root": "spxw"}, OptionSymbolError, "must be upper case"),
        ({"root": ""}, OptionSymbolError, "root is empty"),
        ({"root": "TOOLONGX"}, OptionSymbolError, "longer than 6"),
        ({"root": "9ABC"}, OptionSymbolError, "start with a letter"),
        ({"root": 7}, TypeError, "root must be a str"),
        ({"right": "c"}, OptionSymbolError, "right must be 'C' or 'P'"),
        ({"right": "CALL"}, OptionSymbolError, "right must be 'C' or 'P'"),
        ({"expiration": date(2100, 1, 1)}, OptionSymbolError, "outside 2000-2099"),
        ({"expiration": date(1999, 12, 31)}, OptionSymbolError, "outside 2000-2099"),
        ({"expiration": datetime(2025, 12, 19, 16)}, TypeError, "not a datetime"),
        ({"expiration": "2025-12-19"}, TypeError, "datetime.date"),
    ],
)
def test_contract_validates_fields(kwargs: dict[str, object], error: type[Exception], fragment: str) -> None:
    fields = {"root": "SPXW", "expiration": date(2025, 12, 19), "right": "C", "strike": Decimal("6000")}
    fields.update(kwargs)
    with pytest.raises(error, match=fragment):
        OptionContract(**fields)  # type: ignore[arg-type]


def test_contract_is_immutable_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SPXW_6000.strike = Decimal("1")  # type: ignore[misc]
    same = OptionContract("SPXW", date(2025, 12, 19), "C", Decimal("6000.000"))
    assert same == SPXW_6000
    assert hash(same) == hash(SPXW_6000)
    assert same.strike_milli == 6_000_000
    assert not hasattr(SPXW_6000, "__dict__")


def test_is_0dte_compares_the_expiry_date_only() -> None:
    assert SPXW_6000.is_0dte(date(2025, 12, 19))
    assert not SPXW_6000.is_0dte(date(2025, 12, 18))
    with pytest.raises(TypeError, match="not a datetime"):
        SPXW_6000.is_0dte(datetime(2025, 12, 19, 10, 0))


@pytest.mark.parametrize(
    ("root", "underlying"),
    [
        ("SPXW", "SPX"),
        ("SPXQ", "SPX"),
        ("SPX", "SPX"),
        ("NDXP", "NDX"),
        ("RUTW", "RUT"),
        ("VIXW", "VIX"),
        ("AAPL1", "AAPL"),
        ("TSLA12", "TSLA"),
        ("XSP", "XSP"),
        ("F", "F"),
    ],
)
def test_underlying_for_root(root: str, underlying: str) -> None:
    assert underlying_for_root(root) == underlying


def test_underlying_for_root_refuses_bad_roots() -> None:
    with pytest.raises(OptionSymbolError, match="upper case"):
        underlying_for_root("spxw")
    with pytest.raises(TypeError):
        underlying_for_root(None)  # type: ignore[arg-type]


def test_unknown_style_is_named() -> None:
    with pytest.raises(ValueError, match="'schwab'"):
        format_option_symbol(SPXW_6000, "schwab")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="OptionContract"):
        format_option_symbol("SPXW251219C06000000", "osi")  # type: ignore[arg-type]
