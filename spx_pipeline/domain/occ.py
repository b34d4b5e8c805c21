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

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final, Literal, get_args

__all__ = [
    "OptionContract",
    "OptionSymbolError",
    "Right",
    "Style",
    "format_option_symbol",
    "parse_option_symbol",
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
