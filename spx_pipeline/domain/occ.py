"""OCC option symbols in the three spellings this project meets: OSI, Tradier and Massive.

One contract, three strings:

* OSI (OCC, Schwab, IBKR ``localSymbol``): ``SPXW  251219C06000000``, 21 characters, the root
  left-justified and space-padded to 6;
* Tradier (also Alpaca, Yahoo): ``SPXW251219C06000000``, the same fields without the padding;
* Massive (formerly Polygon.io): ``O:SPXW251219C06000000``, ``O:`` plus the Tradier form.

Parsing works from the right: the last 15 characters are ``YYMMDD``, ``C``/``P`` and the 8-digit
strike field (strike × 1000), and what precedes them is the root. That is the one rule that reads
padded and unpadded input alike; slicing at column 6 (as schwab-py does) silently misreads
``SPXW251219C06000000`` as root ``SPXW25``.

Strictness, decided once and shared by the scalar and the vectorized parser:

* surrounding whitespace (anything ``str.strip`` removes) is tolerated;
* whitespace *inside* the symbol is accepted only as OSI padding: no ``O:`` prefix, exactly 21
  characters, the root first and nothing but spaces after it up to column 6. One space
  (TradeStation style), tabs, extra spaces or a space inside the root are refused rather than
  guessed at, because a wrong guess yields a different, still plausible, contract;
* the root is 1-6 characters of ``A-Z``/``0-9`` starting with a letter; adjusted roots such as
  ``AAPL1`` keep their digits (their deliverable differs from ``AAPL``'s);
* the expiry is a real calendar date in 2000-2099, the type is upper-case ``C`` or ``P``, and the
  strike field is exactly 8 ASCII digits and not zero;
* strikes are exact: :class:`decimal.Decimal` for a single contract, integer thousandths
  (``strike_milli``) in frames. Building the field as ``int(float(s) * 1000)`` turns 64.35 into
  ``00064349``; nothing here goes through a float on the way to the field.

The vectorized parser decides validity with array arithmetic, and asks the scalar parser only for
the wording of rejected rows, so a frame's ``error`` column reads exactly like the exception a
single call raises.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "STYLES",
    "OptionContract",
    "OptionSymbolError",
    "Right",
    "Style",
    "format_option_symbol",
    "format_option_symbols",
    "parse_option_symbol",
    "parse_option_symbols",
    "to_massive",
    "to_osi",
    "to_tradier",
    "underlying_for_root",
]

Right = Literal["C", "P"]
Style = Literal["osi", "tradier", "massive"]
STYLES: Final[tuple[str, ...]] = get_args(Style)

MASSIVE_PREFIX: Final = "O:"
ROOT_WIDTH: Final = 6
TAIL_WIDTH: Final = 15  # YYMMDD + C|P + 8-digit strike field
MAX_STRIKE_MILLI: Final = 99_999_999  # the field holds 99999.999 at most
_MAX_BODY: Final = ROOT_WIDTH + TAIL_WIDTH
_MAX_STRIPPED: Final = len(MASSIVE_PREFIX) + _MAX_BODY

# Roots whose underlying is not the root minus its digits. Only series whose root/underlying
# pairing is documented by the listing exchange: SPXW (PM-settled SPX weeklys/dailies), SPXQ
# (retired SPX quarterlys), NDXP (PM-settled NDX), RUTW (PM-settled RUT weeklys), VIXW (VIX
# weeklys). Massive reports ``underlying_ticker`` SPX for SPXW contracts.
ROOT_UNDERLYING: Final[dict[str, str]] = {
    "SPXW": "SPX",
    "SPXQ": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT",
    "VIXW": "VIX",
}

_ROOT_RE: Final = re.compile(r"[A-Z][A-Z0-9]{0,5}")
_ASCII_DIGITS: Final = frozenset("0123456789")
_MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class OptionSymbolError(ValueError):
    """A symbol, or a contract field, that cannot be an OCC option; the message names both.

    ``symbol`` holds the offending input (or ``None`` when a contract field was at fault) and
    ``reason`` the bare explanation, for callers that report them separately.
    """

    def __init__(self, message: str, *, symbol: object = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.reason = reason if reason is not None else message


def _reject(symbol: object, reason: str) -> OptionSymbolError:
    return OptionSymbolError(f"{symbol!r}: {reason}", symbol=symbol, reason=reason)


# --------------------------------------------------------------------------------------------
# Field rules shared by construction, parsing and formatting
# --------------------------------------------------------------------------------------------


def _root_problem(root: str) -> str | None:
    """Why ``root`` is not an OCC root, or ``None`` when it is one."""
    if _ROOT_RE.fullmatch(root):
        return None
    if not root:
        return "root is empty"
    if len(root) > ROOT_WIDTH:
        return f"root {root!r} is longer than {ROOT_WIDTH} characters"
    if root.upper() != root and _ROOT_RE.fullmatch(root.upper()):
        return f"root {root!r} must be upper case"
    if not ("A" <= root[0] <= "Z"):
        return f"root {root!r} must start with a letter A-Z"
    return f"root {root!r} may contain only A-Z and 0-9"


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _date_problem(year: int, month: int, day: int) -> str | None:
    if not 1 <= month <= 12:
        return f"month {month:02d} is not a real month"
    last = _days_in_month(year, month)
    if not 1 <= day <= last:
        return f"day {day:02d} does not exist in {_MONTH_NAMES[month - 1]} {year} (it has {last} days)"
    return None


def _strike_milli(strike: Decimal) -> int:
    """Exact strike × 1000, or an error naming the strike when the OCC field cannot hold it."""
    if not strike.is_finite():
        raise OptionSymbolError(f"strike {strike} is not a finite number", reason="strike not finite")
    if strike <= 0:
        raise OptionSymbolError(f"strike {strike} must be positive", reason="strike not positive")
    milli = strike * 1000
    if milli != milli.to_integral_value():
        raise OptionSymbolError(
            f"strike {strike} has more than 3 decimals; the OCC field holds thousandths",
            reason="strike has more than 3 decimals",
        )
    value = int(milli)
    if value > MAX_STRIKE_MILLI:
        raise OptionSymbolError(
            f"strike {strike} does not fit the 8-digit OCC strike field (max 99999.999)",
            reason="strike too large",
        )
    return value


def underlying_for_root(root: str) -> str:
    """The underlying a root trades on: SPXW → SPX, NDXP → NDX, AAPL1 → AAPL.

    Adjusted roots keep their digits as the *root* (their deliverable differs) but share the
    underlying of the plain root, so only here are trailing digits dropped.
    """
    if not isinstance(root, str):
        raise TypeError(f"root must be a str, got {type(root).__name__}")
    problem = _root_problem(root)
    if problem is not None:
        raise OptionSymbolError(problem, symbol=root, reason=problem)
    base = root.rstrip("0123456789")
    return ROOT_UNDERLYING.get(base, base)


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed option, validated so that every instance can be written as an OCC symbol.

    ``strike`` is stored as an exact Decimal in canonical form (``Decimal("6000")``,
    ``Decimal("12.5")``); ints and numeric strings are accepted, floats are refused because
    their binary value is not the strike the caller typed.
    """

    root: str
    expiration: date
    right: Right
    strike: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.root, str):
            raise TypeError(f"root must be a str, got {type(self.root).__name__}")
        problem = _root_problem(self.root)
        if problem is not None:
            raise OptionSymbolError(problem, symbol=self.root, reason=problem)
        if isinstance(self.expiration, datetime) or not isinstance(self.expiration, date):
            raise TypeError(f"expiration must be a datetime.date (not a datetime), got {self.expiration!r}")
        if not 2000 <= self.expiration.year <= 2099:
            reason = f"expiration {self.expiration.isoformat()} is outside 2000-2099 (YY is read as 20YY)"
            raise OptionSymbolError(reason, reason=reason)
        if self.right not in ("C", "P"):
            reason = f"right must be 'C' or 'P', got {self.right!r}"
            raise OptionSymbolError(reason, reason=reason)
        object.__setattr__(self, "strike", _canonical_strike(self.strike))

    @property
    def underlying(self) -> str:
        return underlying_for_root(self.root)

    @property
    def strike_milli(self) -> int:
        """Strike × 1000 as an exact integer (the OCC strike field's value)."""
        return _strike_milli(self.strike)

    def is_0dte(self, on: date) -> bool:
        """Whether the contract expires on trade date ``on``; only the OCC date field decides."""
        if isinstance(on, datetime) or not isinstance(on, date):
            raise TypeError(f"on must be a trade date (datetime.date, not a datetime), got {on!r}")
        return self.expiration == on

    @property
    def osi(self) -> str:
        return format_option_symbol(self, "osi")

    @property
    def tradier(self) -> str:
        return format_option_symbol(self, "tradier")

    @property
    def massive(self) -> str:
        return format_option_symbol(self, "massive")


def _canonical_strike(strike: object) -> Decimal:
    if isinstance(strike, bool | float):
        raise TypeError(
            f"strike must be a Decimal, int or numeric str, not {type(strike).__name__} ({strike!r}); "
            "floats lose the exact strike"
        )
    if isinstance(strike, Decimal):
        value = strike
    elif isinstance(strike, int | str):
        try:
            value = Decimal(strike)
        except InvalidOperation:
            reason = f"strike {strike!r} is not a number"
            raise OptionSymbolError(reason, reason=reason) from None
    else:
        raise TypeError(f"strike must be a Decimal, int or numeric str, got {type(strike).__name__}")
    return Decimal(_strike_milli(value)) / 1000


# --------------------------------------------------------------------------------------------
# Scalar parse / format
# --------------------------------------------------------------------------------------------


def _split_fields(text: object) -> tuple[str, int, int, int, str, int]:
    """(root, year, month, day, right, strike_milli) of ``text``, or the reason it is invalid.

    The order of checks only shapes the message; any failing check rejects the symbol, and the
    vectorized parser applies the same set of checks.
    """
    if not isinstance(text, str):
        raise _reject(text, f"expected a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise _reject(text, "empty symbol")
    massive = stripped.startswith(MASSIVE_PREFIX)
    body = stripped[len(MASSIVE_PREFIX) :] if massive else stripped

    digits_run = len(body) - len(body.rstrip("0123456789"))
    if digits_run != 8:
        field = body[len(body) - digits_run :] if digits_run else body[-8:]
        if digits_run > 8:
            raise _reject(
                text,
                f"strike field {field!r} has {digits_run} digits; OCC allows exactly 8 "
                "(strike × 1000, at most 99999.999)",
            )
        raise _reject(text, f"strike field must be exactly 8 digits at the end, got {field!r}")
    if len(body) < TAIL_WIDTH:
        raise _reject(text, "too short: expected root, YYMMDD, C or P and an 8-digit strike")
    right = body[-9]
    if right not in ("C", "P"):
        if right in ("c", "p"):
            raise _reject(text, f"option type {right!r} must be upper case 'C' or 'P'")
        raise _reject(text, f"option type {right!r} must be 'C' or 'P'")
    yymmdd = body[-15:-9]
    if len(yymmdd) != 6 or not _ASCII_DIGITS.issuperset(yymmdd):
        raise _reject(text, f"expiry {yymmdd!r} must be 6 digits YYMMDD")

    head = body[:-TAIL_WIDTH]
    if not head:
        raise _reject(text, "missing root before the expiry")
    if head.startswith("o:"):
        raise _reject(text, "the Massive prefix is upper-case 'O:'")
    if head != head.strip() or any(ch.isspace() for ch in head):
        if massive:
            raise _reject(text, "Massive tickers carry no spaces after 'O:'")
        root = head.rstrip(" ")
        if len(body) != _MAX_BODY or " " in root or not root or any(ch.isspace() for ch in root):
            raise _reject(
                text,
                "padded OSI form needs the root left-justified and space-padded to exactly "
                f"{ROOT_WIDTH} characters (e.g. 'SPXW  251219C06000000'); got {head!r}",
            )
    else:
        root = head
    problem = _root_problem(root)
    if problem is not None:
        raise _reject(text, problem)

    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    problem = _date_problem(year, month, day)
    if problem is not None:
        raise _reject(text, problem)
    milli = int(body[-8:])
    if milli == 0:
        raise _reject(text, "strike field 00000000 is zero; strikes must be positive")
    return root, year, month, day, right, milli


def parse_option_symbol(text: str) -> OptionContract:
    """Read an OSI, Tradier or Massive symbol; raise :class:`OptionSymbolError` if it is not one."""
    root, year, month, day, right, milli = _split_fields(text)
    return OptionContract(root, date(year, month, day), right, Decimal(milli) / 1000)  # type: ignore[arg-type]


def _format_fields(root: str, expiration: date, right: str, milli: int, style: str) -> str:
    field = f"{expiration:%y%m%d}{right}{milli:08d}"
    if style == "tradier":
        return root + field
    if style == "osi":
        return root.ljust(ROOT_WIDTH) + field
    return MASSIVE_PREFIX + root + field


def _check_style(style: object) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown symbol style {style!r}; expected one of {', '.join(STYLES)}")
    return style  # type: ignore[return-value]


def format_option_symbol(contract: OptionContract, style: Style = "tradier") -> str:
    """Write ``contract`` in ``style``: "osi" (padded), "tradier" (unpadded) or "massive" (``O:``)."""
    _check_style(style)
    if not isinstance(contract, OptionContract):
        raise TypeError(f"contract must be an OptionContract, got {type(contract).__name__}")
    # Fields are re-checked: a frozen dataclass can still be bypassed with object.__setattr__.
    problem = _root_problem(contract.root) if isinstance(contract.root, str) else "root is not a str"
    if problem is not None:
        raise OptionSymbolError(problem, symbol=contract.root, reason=problem)
    if not 2000 <= contract.expiration.year <= 2099:
        reason = f"expiration {contract.expiration.isoformat()} is outside 2000-2099"
        raise OptionSymbolError(reason, reason=reason)
    if contract.right not in ("C", "P"):
        reason = f"right must be 'C' or 'P', got {contract.right!r}"
        raise OptionSymbolError(reason, reason=reason)
    milli = _strike_milli(contract.strike)
    return _format_fields(contract.root, contract.expiration, contract.right, milli, style)


def to_osi(text: str) -> str:
    """Any accepted spelling → padded OSI."""
    return format_option_symbol(parse_option_symbol(text), "osi")


def to_tradier(text: str) -> str:
    """Any accepted spelling → unpadded Tradier form."""
    return format_option_symbol(parse_option_symbol(text), "tradier")


def to_massive(text: str) -> str:
    """Any accepted spelling → Massive ticker (``O:`` + Tradier form)."""
    return format_option_symbol(parse_option_symbol(text), "massive")


# --------------------------------------------------------------------------------------------
# Vectorized parse and format
#
# The batch is joined into one ASCII byte buffer and each row read as three 8-byte words: the
# head (root, with any OSI padding, after "O:"), the word ending in C|P (YYMMDD before it) and
# the strike field. Digit rules and values are word arithmetic, the date one table lookup, and
# the root rules run once per distinct head. Output strings are written as three words per row
# and split out of one decoded buffer. Python-level work per row is limited to creating the
# output strings themselves, which is where most of the time goes.
# --------------------------------------------------------------------------------------------

_ERRORS_SHOWN: Final = 5
_LONG_INPUT: Final = 32  # longer raw strings are stripped in Python first, bounding the strip loop
_SPACE, _ZERO, _NEWLINE = ord(" "), ord("0"), ord("\n")
_HEAD_COLS: Final = np.arange(ROOT_WIDTH)
# The ASCII characters str.strip() removes (str.isspace: \t-\r, \x1c-\x1f and space); rows with
# any non-ASCII character are stripped by str.strip itself before they reach the byte buffer.
_ASCII_WHITESPACE: Final = np.array([chr(c).isspace() for c in range(256)]) & (np.arange(256) < 128)
# Bytes around the joined buffer, so that fixed-size windows at any row's start or end stay inside.
_PAD: Final = 24
_LEAD_WIDTH: Final = len(MASSIVE_PREFIX) + ROOT_WIDTH
_MASSIVE_CODES: Final = np.frombuffer(MASSIVE_PREFIX.encode("ascii"), dtype=np.uint8)
_DAY_NS: Final = 86_400 * 10**9
# Word constants for eight ASCII bytes at a time (see _all_digits, _eight_digits, _Decoded).
_ASCII_ZEROS: Final = np.uint64(0x3030303030303030)
_ABOVE_NINE: Final = np.uint64(0x4646464646464646)
_HIGH_BITS: Final = np.uint64(0x8080808080808080)
_DATE_BYTES: Final = np.uint64(0xFFFFFFFFFFFF0000)
_TWO_ZEROS: Final = np.uint64(0x3030)
_SWAR: Final = tuple(
    np.uint64(mask)
    for mask in (
        0x0F000F000F000F00,
        0x000F000F000F000F,
        0x00FF000000FF0000,
        0x000000FF000000FF,
        0x0000FFFF00000000,
        0x000000000000FFFF,
    )
)
_MASSIVE_WORD: Final = np.uint64(int.from_bytes(MASSIVE_PREFIX.encode("ascii"), "little"))
# Keeps the first k bytes of a little-endian word: the root's head_len characters.
_HEAD_MASKS: Final = np.array([(1 << (8 * k)) - 1 for k in range(ROOT_WIDTH + 1)], dtype=np.uint64)
_FIRST_DAY: Final = int(np.datetime64("2000-01-01", "D").astype(np.int64))
_CENTURY_DAYS: Final = (date(2100, 1, 1) - date(2000, 1, 1)).days  # expiries 2000-2099
# "0000"-"9999" as 4-byte little-endian words, first digit in the lowest byte.
_FOUR_DIGIT_WORDS: Final = (
    (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10 + _ZERO)
    .astype(np.uint8)
    .view("<u4")
    .reshape(10_000)
    .astype(np.uint64)
)


def _windows(buffer: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Read-only view whose row i is ``buffer[i:i + width]``: one fancy index then gathers many rows."""
    return np.lib.stride_tricks.as_strided(
        buffer, shape=(len(buffer) - width + 1, width), strides=(1, 1), writeable=False
    )


class _Rows:
    """A batch as one ASCII byte buffer with each row's stripped [start, end) in it.

    Joining the strings and encoding once costs a few nanoseconds per character, where converting
    an object array to a fixed-width NumPy string array costs a Python-object round trip per row.
    ``usable`` is False for rows that cannot be symbols before any rule is applied: non-strings,
    and rows still non-ASCII or too long once stripped (those become "" in the buffer).
    """

    __slots__ = ("buffer", "ends", "starts", "usable", "verbatim")

    def __init__(self, values: npt.NDArray[np.object_]) -> None:
        n = len(values)
        self.usable = np.ones(n, dtype=bool)
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
            values = np.where(is_str, values, "")
            self.usable &= is_str
        items: list[str] = values.tolist()
        pad = b"\0" * _PAD
        # Usual batch: ASCII, no NUL inside a string, nothing over-long. Joining with NUL then
        # finds every row boundary in one vector scan instead of a len() call per row.
        joined = "\0".join(items)
        if joined.isascii():
            encoded = joined.encode("ascii")
            separators = np.flatnonzero(np.frombuffer(encoded, dtype=np.uint8) == 0)
            if len(separators) == n - 1:
                ends = np.append(separators, len(encoded))
                starts = np.insert(separators + 1, 0, 0)
                if (ends - starts).max() <= _LONG_INPUT:
                    self.buffer = np.frombuffer(pad + encoded + pad, dtype=np.uint8)
                    self.starts, self.ends = starts + _PAD, ends + _PAD
                    self.verbatim = not self._strip()
                    return
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=n)
        odd = lengths > _LONG_INPUT
        if not joined.isascii():
            odd |= np.fromiter((not s.isascii() for s in items), dtype=bool, count=n)
        for i in np.flatnonzero(odd):
            stripped = items[i].strip()
            if len(stripped) > _MAX_STRIPPED or not stripped.isascii():
                stripped = ""
                self.usable[i] = False
            items[i] = stripped
            lengths[i] = len(stripped)
        self.buffer = np.frombuffer(pad + "".join(items).encode("ascii") + pad, dtype=np.uint8)
        self.ends = np.cumsum(lengths) + _PAD
        self.starts = self.ends - lengths
        self._strip()
        self.verbatim = False

    def _strip(self) -> bool:
        """str.strip for ASCII whitespace, one character per step over the rows that still have some.

        Returns whether any row had whitespace to remove.
        """
        buffer, starts, ends, blank = self.buffer, self.starts, self.ends, _ASCII_WHITESPACE
        rows = np.flatnonzero(blank[buffer[starts]] & (starts < ends))
        stripped = bool(len(rows))
        while len(rows):
            starts[rows] += 1
            rows = rows[(starts[rows] < ends[rows]) & blank[buffer[starts[rows]]]]
        rows = np.flatnonzero(blank[buffer[ends - 1]] & (starts < ends))
        stripped |= bool(len(rows))
        while len(rows):
            ends[rows] -= 1
            rows = rows[(starts[rows] < ends[rows]) & blank[buffer[ends[rows] - 1]]]
        return stripped


def _all_digits(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Whether all 8 bytes of each word are ASCII digits (bytes below 0x80 only).

    Adding 0x46 sets a byte's high bit when it is above '9'; subtracting 0x30 sets it when it is
    below '0' (a borrow may also flag its neighbour, which is already invalid then).
    """
    return ((words + _ABOVE_NINE) | (words - _ASCII_ZEROS)) & _HIGH_BITS == 0


def _eight_digits(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The number 8 ASCII digits spell (first character in the lowest byte): 2, 4, then 8 at a time."""
    words = ((words & _SWAR[0]) >> np.uint64(8)) + (words & _SWAR[1]) * np.uint64(10)
    words = ((words & _SWAR[2]) >> np.uint64(16)) + (words & _SWAR[3]) * np.uint64(100)
    return ((words & _SWAR[4]) >> np.uint64(32)) + (words & _SWAR[5]) * np.uint64(10_000)


@functools.cache
def _day_tables() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Built on first use (a few ms, kept out of import): for each day since 2000-01-01 through
    2099 its "YYMMDD" bytes as a word, and for every YYMMDD read as a number its day, or -1 for
    an impossible date."""
    yymmdd = (
        (np.datetime64("2000-01-01", "D") + np.arange(_CENTURY_DAYS))
        .astype("S10")
        .view(np.uint8)
        .reshape(_CENTURY_DAYS, 10)[:, [2, 3, 5, 6, 8, 9]]
    )
    words = np.ascontiguousarray(np.pad(yymmdd, ((0, 0), (0, 2)))).view("<u8").reshape(_CENTURY_DAYS)
    digits = yymmdd.astype(np.int32) - _ZERO
    keys = ((digits[:, 0] * 10 + digits[:, 1]) * 100 + digits[:, 2] * 10 + digits[:, 3]) * 100
    keys += digits[:, 4] * 10 + digits[:, 5]
    table = np.full(1_000_000, -1, dtype=np.int32)
    table[keys] = np.arange(_CENTURY_DAYS, dtype=np.int32)
    return words, table


def _head_rules(heads: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8]]:
    """Validity and 0-padded root bytes of each distinct head key (see ``_Decoded``)."""
    packed = heads.view(np.uint8).reshape(len(heads), 8)
    head = np.ascontiguousarray(packed[:, :ROOT_WIDTH].T)
    massive = packed[:, 6] == 1
    head_len = packed[:, 7].astype(np.intp)
    in_head = _HEAD_COLS[:, None] < head_len
    ok = (head_len >= 1) & (head_len <= ROOT_WIDTH)

    # Spaces only as OSI padding: one run up to column 6, 21 characters, no "O:" prefix.
    space = head == _SPACE
    any_space = np.logical_or.reduce(space, axis=0)
    padded = ~massive & (head_len == ROOT_WIDTH)
    for j in range(1, ROOT_WIDTH):
        padded &= ~space[j - 1] | space[j]
    ok &= ~any_space | padded
    root = np.where(space, np.uint8(0), head)
    upper = (root >= ord("A")) & (root <= ord("Z"))
    alnum = upper | ((root >= _ZERO) & (root <= ord("9")))
    ok &= np.logical_and.reduce(alnum | ~in_head | space, axis=0)
    ok &= upper[0]
    return ok, np.where(ok[:, None], root.T, np.uint8(0))


def _spellings(heads: npt.NDArray[np.int64], roots: npt.NDArray[np.uint8]) -> set[str]:
    """The styles that every head of the batch is already written in (a 6-character root's
    unprefixed symbol is both OSI and Tradier)."""
    packed = heads.view(np.uint8).reshape(len(heads), 8)
    massive = packed[:, 6] == 1
    head_len = packed[:, 7]
    spellings = {
        "massive": massive,
        "osi": ~massive & (head_len == ROOT_WIDTH),
        "tradier": ~massive & (np.count_nonzero(roots, axis=1) == head_len),
    }
    return {style for style, written in spellings.items() if written.all()}


class _Decoded:
    """Per-row fields of a batch; only rows where ``ok`` holds carry meaningful values.

    Each row is read as three 8-byte words: the one starting at the root (after "O:" if any),
    the one ending with the C/P character (YYMMDD in its bytes 1-6) and the strike field. Digit
    rules and values are word arithmetic; the root rules run once per distinct head, because a
    batch holds few roots. ``root`` (0 past its end) and ``tail`` (the last 15 characters) are
    row-major bytes for assembling output strings; rejected rows read as an empty root and a
    tail of zeros, so that assembling them can never misplace a row.
    """

    __slots__ = (
        "day_offset",
        "first",
        "head_code",
        "head_ok",
        "head_root",
        "is_call",
        "last",
        "milli",
        "ok",
        "written_as",
    )

    def __init__(self, rows: _Rows) -> None:
        buffer, starts, ends = rows.buffer, rows.starts, rows.ends
        n = len(starts)
        ok = rows.usable.copy()
        length = ends - starts
        massive = (
            (length >= len(MASSIVE_PREFIX)) & (buffer[starts] == ord("O")) & (buffer[starts + 1] == ord(":"))
        )
        head_len = length - np.where(massive, len(MASSIVE_PREFIX), 0) - TAIL_WIDTH
        ok &= (head_len >= 1) & (head_len <= ROOT_WIDTH)
        head_len = np.where(ok, head_len, 0)

        words = _windows(buffer, 8)
        lead = words[starts + np.where(massive, len(MASSIVE_PREFIX), 0)].view("<u8").reshape(n)
        key = (lead & _HEAD_MASKS[head_len]) | (massive.astype(np.uint64) << np.uint64(48))
        key |= head_len.astype(np.uint64) << np.uint64(56)
        self.head_code, heads = pd.factorize(key.view(np.int64))
        heads = np.asarray(heads, dtype=np.int64)
        self.head_ok, self.head_root = _head_rules(heads)
        self.written_as = _spellings(heads, self.head_root)
        ok &= self.head_ok[self.head_code]

        dated = words[ends - TAIL_WIDTH - 1].view("<u8").reshape(n)  # ?YYMMDD then C|P
        strike = words[ends - 8].view("<u8").reshape(n)
        right = (dated >> np.uint64(56)).astype(np.uint8)
        is_call = right == ord("C")
        ok &= is_call | (right == ord("P"))
        yymmdd = ((dated << np.uint64(8)) & _DATE_BYTES) | _TWO_ZEROS  # "00YYMMDD"
        ok &= _all_digits(yymmdd) & _all_digits(strike)
        day_offset = _day_tables()[1][np.where(ok, _eight_digits(yymmdd), 0)]
        ok &= day_offset >= 0
        milli = _eight_digits(strike).astype(np.int64)
        ok &= milli > 0

        first = (dated >> np.uint64(8)) | ((strike & np.uint64(0xFF)) << np.uint64(56))
        last = strike >> np.uint64(8)
        if not ok.all():
            first = np.where(ok, first, _ASCII_ZEROS)
            last = np.where(ok, last, _ASCII_ZEROS >> np.uint64(8))
        self.ok = ok
        self.first, self.last = first, last
        self.day_offset = np.where(ok, day_offset, 0)
        self.is_call = is_call
        self.milli = np.where(ok, milli, 0)


def _tail_words(
    day_offset: npt.NDArray[np.int64], is_call: npt.NDArray[np.bool_], milli: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The tail words (see ``_assemble``) of valid rows, from lookup tables.

    Gathering a few bytes per row (YYMMDD per day, four digits per 0-9999) is far cheaper than
    a division per digit.
    """
    strike = _FOUR_DIGIT_WORDS[milli // 10_000] | (_FOUR_DIGIT_WORDS[milli % 10_000] << np.uint64(32))
    right = np.where(is_call, np.uint64(ord("C")), np.uint64(ord("P")))
    first = (
        _day_tables()[0][day_offset]
        | (right << np.uint64(48))
        | ((strike & np.uint64(0xFF)) << np.uint64(56))
    )
    return first, strike >> np.uint64(8)


def _root_words(root: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Each 0-padded 6-byte root as a little-endian word, and the same padded with spaces (OSI)."""
    packed = np.zeros((len(root), 8), dtype=np.uint8)
    packed[:, :ROOT_WIDTH] = root
    plain = packed.view("<u8").reshape(len(root)).copy()
    packed[:, :ROOT_WIDTH] = np.where(root == 0, np.uint8(_SPACE), root)
    return plain, packed.view("<u8").reshape(len(root))


def _split_rows(text: str, separator: str, n: int) -> npt.NDArray[np.object_]:
    """The ``n`` pieces of ``text`` between separators, as an object array.

    Splitting one decoded buffer creates the strings in a single C loop, faster than converting a
    fixed-width NumPy array to objects (which scans each element for its width and kind).
    """
    return np.fromiter(text.split(separator), dtype=object, count=n)


def _assemble(
    roots: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]],
    first: npt.NDArray[np.uint64],
    last: npt.NDArray[np.uint64],
    styles: Sequence[str],
) -> dict[str, npt.NDArray[np.object_]]:
    """Symbols in each of ``styles``, written as three 8-byte words per row and split once.

    ``roots`` are the row's root words from :func:`_root_words` (plain, OSI-padded); ``first``
    holds tail characters 0-7 (YYMMDD, C|P, first strike digit) and ``last`` characters 8-14 with
    a zero top byte. Tradier and Massive come from one buffer of ``O:<root><tail>`` lines:
    splitting it at newlines gives the Massive tickers, and splitting after the first prefix at
    ``\nO:`` the Tradier ones. Zero bytes (the plain root's padding) are dropped before decoding.
    """
    plain, padded = roots
    n = len(first)
    out: dict[str, npt.NDArray[np.object_]] = {}
    words = np.empty((n, 3), dtype=np.uint64)
    if "osi" in styles:
        # 21 characters and a newline: root(6) tail 0-1 | tail 2-9 | tail 10-14 "\n" and 2 spare.
        words[:, 0] = padded | (first << np.uint64(48))
        words[:, 1] = (first >> np.uint64(16)) | (last << np.uint64(48))
        words[:, 2] = (last >> np.uint64(16)) | np.uint64(_NEWLINE << 40)
        lines = words.view(np.uint8).reshape(n, 24)[:, : _MAX_BODY + 1].tobytes()
        out["osi"] = _split_rows(lines.decode("ascii")[:-1], "\n", n)
    unpadded = [style for style in styles if style != "osi"]
    if unpadded:
        massive = "massive" in unpadded
        words[:, 0] = (plain << np.uint64(16)) | _MASSIVE_WORD if massive else plain
        words[:, 1] = first
        words[:, 2] = last | np.uint64(_NEWLINE << 56)
        text = words.tobytes().replace(b"\0", b"").decode("ascii")[:-1]
        if massive:
            out["massive"] = _split_rows(text, "\n", n)
            if "tradier" in unpadded:
                out["tradier"] = _split_rows(text[len(MASSIVE_PREFIX) :], "\n" + MASSIVE_PREFIX, n)
        else:
            out["tradier"] = _split_rows(text, "\n", n)
    return out


def _expiration_ns(day_offset: npt.NDArray[np.integer]) -> npt.NDArray[np.datetime64]:
    return (day_offset + _FIRST_DAY).astype("datetime64[D]").astype("datetime64[ns]")


def _symbol_reason(value: object) -> str:
    """The scalar parser's message for a row the vectorized rules rejected."""
    try:
        _split_fields(value)
    except OptionSymbolError as exc:
        return str(exc)
    raise RuntimeError(f"vectorized and scalar OCC rules disagree on {value!r}; please report this")


def _describe_rows(labels: Sequence[Hashable], reasons: Sequence[str], total: int, what: str) -> str:
    shown = "; ".join(f"[{label!r}] {reason}" for label, reason in zip(labels, reasons, strict=True))
    more = f" (first {len(reasons)} shown)" if total > len(reasons) else ""
    return f"{total} invalid {what}{more}: {shown}"


def _empty_parsed(index: pd.Index, coerce: bool) -> pd.DataFrame:
    dtypes = {
        "root": object,
        "underlying": object,
        "expiration": "datetime64[ns]",
        "right": object,
        "strike": np.float64,
        "strike_milli": "Int64" if coerce else np.int64,
        "osi": object,
        "tradier": object,
        "massive": object,
    }
    if coerce:
        dtypes["error"] = object
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()}, index=index)


def parse_option_symbols(symbols: pd.Series, errors: Literal["raise", "coerce"] = "raise") -> pd.DataFrame:
    """Parse a Series of OSI/Tradier/Massive symbols with array arithmetic instead of a loop.

    Accepts and refuses exactly what :func:`parse_option_symbol` does. ``errors="raise"``
    raises :class:`OptionSymbolError` naming the first few bad values and their index labels;
    ``errors="coerce"`` leaves bad rows empty (None/NaT/NaN/<NA>) with the scalar parser's message
    in an extra ``error`` column, and makes ``strike_milli`` the nullable ``Int64`` dtype so the
    dtypes do not depend on whether a batch happened to contain a bad row.
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', got {errors!r}")
    if not isinstance(symbols, pd.Series):
        raise TypeError(f"symbols must be a pandas Series, got {type(symbols).__name__}")
    original = symbols.to_numpy(dtype=object)
    n = len(original)
    if n == 0:
        return _empty_parsed(symbols.index, errors == "coerce")
    buffer = _Rows(original)
    rows = _Decoded(buffer)
    bad = np.flatnonzero(~rows.ok)
    if len(bad) and errors == "raise":
        first = bad[:_ERRORS_SHOWN]
        reasons = [_symbol_reason(original[i]) for i in first]
        message = _describe_rows(list(symbols.index[first]), reasons, len(bad), "option symbols")
        raise OptionSymbolError(message, symbol=original[first[0]], reason=reasons[0])

    unique_roots = [
        bytes(root).rstrip(b"\0").decode("ascii") if valid else None
        for valid, root in zip(rows.head_ok, rows.head_root, strict=True)
    ]
    underlyings = {root: underlying_for_root(root) for root in set(unique_roots) if root is not None}
    frame = pd.DataFrame(index=symbols.index)
    # Column by column: building from a dict would copy the object columns into one block.
    frame["root"] = np.array(unique_roots, dtype=object)[rows.head_code]
    frame["underlying"] = np.array([underlyings.get(r) for r in unique_roots], dtype=object)[rows.head_code]
    frame["expiration"] = _expiration_ns(rows.day_offset)
    frame["right"] = np.array(["P", "C"], dtype=object)[rows.is_call.astype(np.intp)]
    frame["strike"] = rows.milli / 1000.0
    frame["strike_milli"] = rows.milli
    # A batch already written in one style (a Tradier chain, a Massive feed) is that column as it
    # stands: only the other styles need new strings.
    given: set[str] = set()
    if rows.written_as and buffer.verbatim and not len(bad) and set(map(type, original.tolist())) == {str}:
        given = rows.written_as
    plain, padded = _root_words(rows.head_root)
    roots = (plain[rows.head_code], padded[rows.head_code])
    symbols_by_style = _assemble(roots, rows.first, rows.last, [s for s in STYLES if s not in given])
    for style in given:
        symbols_by_style[style] = original.copy()
    for style in STYLES:
        frame[style] = symbols_by_style[style]
    if errors == "coerce":
        frame["strike_milli"] = frame["strike_milli"].astype("Int64")
        error = np.full(n, None, dtype=object)
        if len(bad):
            frame.iloc[bad, :] = None
            error[bad] = [_symbol_reason(original[i]) for i in bad]
        frame["error"] = error
    return frame


def _milli_column(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], pd.Series]:
    """Exact strike thousandths from ``strike_milli`` (preferred) or ``strike``, and validity."""
    if "strike_milli" in frame.columns:
        column = frame["strike_milli"]
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(values) & (values == np.rint(values))
    elif _is_object_column(column := frame["strike"]):
        # Decimals (or mixed objects): exact per-row conversion, the scalar rule as it stands.
        milli = np.zeros(len(column), dtype=np.int64)
        ok = np.zeros(len(column), dtype=bool)
        for i, value in enumerate(column.to_numpy(dtype=object)):
            try:
                milli[i] = _strike_milli(_decimal_strike(value))
                ok[i] = True
            except (OptionSymbolError, TypeError, InvalidOperation):
                pass
        return milli, ok, column
    else:
        strikes = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore", over="ignore"):
            values = np.rint(strikes * 1000)
            # A float is accepted when it is the float nearest a 3-decimal strike, i.e. exactly
            # what Decimal(repr(strike)) would accept; 64.35 passes, 64.3500001 does not.
            ok = np.isfinite(strikes) & (values / 1000 == strikes)
    ok &= (values >= 1) & (values <= MAX_STRIKE_MILLI)
    return np.where(ok, values, 0).astype(np.int64), ok, column


def _is_object_column(column: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(column.dtype)


def _decimal_strike(value: object) -> Decimal:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"strike {value!r} is not a number")


def _strike_reason(value: object, from_milli: bool) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if from_milli:
        return f"strike_milli {value!r} must be an integer from 1 to {MAX_STRIKE_MILLI}"
    try:
        _strike_milli(_decimal_strike(value))
    except OptionSymbolError as exc:
        return str(exc)
    except (TypeError, InvalidOperation):
        pass
    return f"strike {value!r} is not a number"


def format_option_symbols(frame: pd.DataFrame, style: Style = "tradier") -> pd.Series:
    """Write each row of ``frame`` as a symbol in ``style``; the inverse of :func:`parse_option_symbols`.

    ``frame`` needs ``root``, ``expiration`` (dates or midnight timestamps), ``right`` and
    ``strike_milli`` (exact, preferred) or ``strike``. Rows are validated like
    :class:`OptionContract`; any bad row raises :class:`OptionSymbolError` naming the first few
    by index label, because a half-formatted column would be silently wrong downstream.
    """
    _check_style(style)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("root", "expiration", "right") if c not in frame.columns]
    if "strike_milli" not in frame.columns and "strike" not in frame.columns:
        missing.append("strike_milli (or strike)")
    if missing:
        raise ValueError(f"format_option_symbols needs columns {missing}; got {list(frame.columns)}")
    root_values = frame["root"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(root_values)
    root_problems = [
        _root_problem(u) if isinstance(u, str) else f"root {u!r} is not a str" for u in uniques
    ] + ["root is missing"]
    root_table = np.zeros((len(uniques) + 1, ROOT_WIDTH), dtype=np.uint8)
    for i, (u, problem) in enumerate(zip(uniques, root_problems, strict=False)):
        if problem is None:
            root_table[i, : len(u)] = np.frombuffer(u.encode("ascii"), dtype=np.uint8)
    root_ok = np.array([p is None for p in root_problems])[codes]
    plain, padded = _root_words(root_table)

    expiration = frame["expiration"]
    try:
        stamps = pd.to_datetime(expiration, errors="coerce")
    except (TypeError, ValueError) as exc:
        raise OptionSymbolError(f"expiration column cannot be read as dates: {exc}") from exc
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        raise OptionSymbolError(
            f"expiration must hold dates, not time-zone-aware timestamps ({stamps.dtype})"
        )
    stamps_ns = stamps.to_numpy(dtype="datetime64[ns]")
    ns = stamps_ns.view(np.int64)
    day_offset = ns // _DAY_NS - _FIRST_DAY
    exp_ok = ~np.isnat(stamps_ns) & (ns % _DAY_NS == 0)
    exp_ok &= (day_offset >= 0) & (day_offset < _CENTURY_DAYS)

    right = frame["right"].to_numpy(dtype=object)
    is_call = right == "C"
    right_ok = is_call | (right == "P")

    milli, strike_ok, strike_column = _milli_column(frame)
    ok = root_ok & exp_ok & right_ok & strike_ok
    bad = np.flatnonzero(~ok)
    if len(bad):
        from_milli = "strike_milli" in frame.columns
        reasons = []
        for i in bad[:_ERRORS_SHOWN]:
            parts = []
            if not root_ok[i]:
                parts.append(str(root_problems[codes[i]]))
            if not exp_ok[i]:
                parts.append(
                    f"expiration {expiration.iloc[i]!r} must be a date (midnight, no time zone) in 2000-2099"
                )
            if not right_ok[i]:
                parts.append(f"right must be 'C' or 'P', got {right[i]!r}")
            if not strike_ok[i]:
                parts.append(_strike_reason(strike_column.iloc[i], from_milli))
            reasons.append(", ".join(parts))
        message = _describe_rows(list(frame.index[bad[:_ERRORS_SHOWN]]), reasons, len(bad), "contract rows")
        raise OptionSymbolError(message, reason=reasons[0])
    first, last = _tail_words(day_offset, is_call, milli)
    symbols = _assemble((plain[codes], padded[codes]), first, last, (style,))[style]
    return pd.Series(symbols, index=frame.index, name=style, dtype=object)
