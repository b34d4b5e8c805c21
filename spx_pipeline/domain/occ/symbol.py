"""One contract, three spellings: OSI (padded), Tradier (unpadded) and Massive (``O:`` prefix).

Parsing reads from the right (the last 15 characters are YYMMDD, C/P and the strike field), the
one rule that reads padded and unpadded input alike; slicing at column 6 would misread
``SPXW251219C06000000`` as root ``SPXW25``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from spx_pipeline.domain.occ.rules import (
    MASSIVE_PREFIX,
    MAX_BODY,
    ROOT_WIDTH,
    TAIL_WIDTH,
    OptionSymbolError,
    Right,
    Style,
    check_style,
    date_problem,
    reject,
    root_problem,
    strike_milli,
    underlying_for_root,
)

_ASCII_DIGITS: Final = frozenset("0123456789")


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
        problem = root_problem(self.root)
        if problem is not None:
            raise OptionSymbolError(problem, symbol=self.root, reason=problem)
        if isinstance(self.expiration, datetime) or not isinstance(self.expiration, date):
            raise TypeError(f"expiration must be a datetime.date (not a datetime), got {self.expiration!r}")
        _check_year_and_right(self.expiration, self.right, year_note=" (YY is read as 20YY)")
        object.__setattr__(self, "strike", _canonical_strike(self.strike))

    @property
    def underlying(self) -> str:
        return underlying_for_root(self.root)

    @property
    def strike_milli(self) -> int:
        """Strike × 1000 as an exact integer (the OCC strike field's value)."""
        return strike_milli(self.strike)

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
    return Decimal(strike_milli(value)) / 1000


def split_fields(text: object) -> tuple[str, int, int, int, str, int]:
    """(root, year, month, day, right, strike_milli) of ``text``, or the reason it is invalid.

    The order of checks only shapes the message; any failing check rejects the symbol, and the
    vectorized parser applies the same set of checks.
    """
    if not isinstance(text, str):
        raise reject(text, f"expected a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise reject(text, "empty symbol")
    massive = stripped.startswith(MASSIVE_PREFIX)
    body = stripped[len(MASSIVE_PREFIX) :] if massive else stripped

    digits_run = len(body) - len(body.rstrip("0123456789"))
    if digits_run != 8:
        field = body[len(body) - digits_run :] if digits_run else body[-8:]
        if digits_run > 8:
            raise reject(
                text,
                f"strike field {field!r} has {digits_run} digits; OCC allows exactly 8 "
                "(strike × 1000, at most 99999.999)",
            )
        raise reject(text, f"strike field must be exactly 8 digits at the end, got {field!r}")
    if len(body) < TAIL_WIDTH:
        raise reject(text, "too short: expected root, YYMMDD, C or P and an 8-digit strike")
    right = body[-9]
    if right not in ("C", "P"):
        if right in ("c", "p"):
            raise reject(text, f"option type {right!r} must be upper case 'C' or 'P'")
        raise reject(text, f"option type {right!r} must be 'C' or 'P'")
    yymmdd = body[-15:-9]
    if len(yymmdd) != 6 or not _ASCII_DIGITS.issuperset(yymmdd):
        raise reject(text, f"expiry {yymmdd!r} must be 6 digits YYMMDD")

    head = body[:-TAIL_WIDTH]
    if not head:
        raise reject(text, "missing root before the expiry")
    if head.startswith("o:"):
        raise reject(text, "the Massive prefix is upper-case 'O:'")
    if head != head.strip() or any(ch.isspace() for ch in head):
        if massive:
            raise reject(text, "Massive tickers carry no spaces after 'O:'")
        root = head.rstrip(" ")
        if len(body) != MAX_BODY or " " in root or not root or any(ch.isspace() for ch in root):
            raise reject(
                text,
                "padded OSI form needs the root left-justified and space-padded to exactly "
                f"{ROOT_WIDTH} characters (e.g. 'SPXW  251219C06000000'); got {head!r}",
            )
    else:
        root = head
    problem = root_problem(root)
    if problem is not None:
        raise reject(text, problem)

    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    problem = date_problem(year, month, day)
    if problem is not None:
        raise reject(text, problem)
    milli = int(body[-8:])
    if milli == 0:
        raise reject(text, "strike field 00000000 is zero; strikes must be positive")
    return root, year, month, day, right, milli


def parse_option_symbol(text: str) -> OptionContract:
    """Read an OSI, Tradier or Massive symbol; raise :class:`OptionSymbolError` if it is not one.

    A run reads the same few contracts once per account and leg, so parsed strings are remembered
    (the contract is frozen; a refused string is not remembered and raises every time).
    """
    if type(text) is str:
        return _parse_cached(text)
    return _parse(text)


@functools.lru_cache(maxsize=1 << 13)
def _parse_cached(text: str) -> OptionContract:
    return _parse(text)


def _parse(text: str) -> OptionContract:
    root, year, month, day, right, milli = split_fields(text)
    return OptionContract(root, date(year, month, day), right, Decimal(milli) / 1000)  # type: ignore[arg-type]


def _format_fields(root: str, expiration: date, right: str, milli: int, style: str) -> str:
    field = f"{expiration:%y%m%d}{right}{milli:08d}"
    if style == "tradier":
        return root + field
    if style == "osi":
        return root.ljust(ROOT_WIDTH) + field
    return MASSIVE_PREFIX + root + field


def _check_year_and_right(expiration: date, right: str, *, year_note: str = "") -> None:
    """The OCC fields a two-digit year and a one-letter right can hold: 20YY, C or P."""
    if not 2000 <= expiration.year <= 2099:
        reason = f"expiration {expiration.isoformat()} is outside 2000-2099{year_note}"
        raise OptionSymbolError(reason, reason=reason)
    if right not in ("C", "P"):
        reason = f"right must be 'C' or 'P', got {right!r}"
        raise OptionSymbolError(reason, reason=reason)


def format_option_symbol(contract: OptionContract, style: Style = "tradier") -> str:
    """Write ``contract`` in ``style``: "osi" (padded), "tradier" (unpadded) or "massive" (``O:``).

    Remembered per (contract, style): equal contracts have equal fields, so a contract whose
    fields were bypassed is a different key and is checked afresh.
    """
    if type(contract) is OptionContract and type(style) is str:
        return _format_cached(contract, style)
    return _format(contract, style)


@functools.lru_cache(maxsize=1 << 13)
def _format_cached(contract: OptionContract, style: str) -> str:
    return _format(contract, style)  # type: ignore[arg-type]


def _format(contract: OptionContract, style: Style) -> str:
    check_style(style)
    if not isinstance(contract, OptionContract):
        raise TypeError(f"contract must be an OptionContract, got {type(contract).__name__}")
    # Fields are re-checked: a frozen dataclass can still be bypassed with object.__setattr__.
    problem = root_problem(contract.root) if isinstance(contract.root, str) else "root is not a str"
    if problem is not None:
        raise OptionSymbolError(problem, symbol=contract.root, reason=problem)
    _check_year_and_right(contract.expiration, contract.right)
    milli = strike_milli(contract.strike)
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
