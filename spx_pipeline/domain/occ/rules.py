"""The OCC field rules both parsers share, so a frame's verdict on a row is the single parser's.

Strictness is decided here once: a wrong guess about a malformed symbol yields a different, still
plausible, contract, so anything ambiguous is refused, and strikes never pass through a float.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final, Literal, get_args

Right = Literal["C", "P"]
Style = Literal["osi", "tradier", "massive"]
STYLES: Final[tuple[str, ...]] = get_args(Style)

MASSIVE_PREFIX: Final = "O:"
ROOT_WIDTH: Final = 6
TAIL_WIDTH: Final = 15  # YYMMDD + C|P + 8-digit strike field
MAX_STRIKE_MILLI: Final = 99_999_999  # the field holds 99999.999 at most
MAX_BODY: Final = ROOT_WIDTH + TAIL_WIDTH
MAX_STRIPPED: Final = len(MASSIVE_PREFIX) + MAX_BODY

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


def reject(symbol: object, reason: str) -> OptionSymbolError:
    return OptionSymbolError(f"{symbol!r}: {reason}", symbol=symbol, reason=reason)


def root_problem(root: str) -> str | None:
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


def date_problem(year: int, month: int, day: int) -> str | None:
    if not 1 <= month <= 12:
        return f"month {month:02d} is not a real month"
    last = _days_in_month(year, month)
    if not 1 <= day <= last:
        return f"day {day:02d} does not exist in {_MONTH_NAMES[month - 1]} {year} (it has {last} days)"
    return None


def strike_milli(strike: Decimal) -> int:
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
    problem = root_problem(root)
    if problem is not None:
        raise OptionSymbolError(problem, symbol=root, reason=problem)
    base = root.rstrip("0123456789")
    return ROOT_UNDERLYING.get(base, base)


def check_style(style: object) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown symbol style {style!r}; expected one of {', '.join(STYLES)}")
    return style  # type: ignore[return-value]
