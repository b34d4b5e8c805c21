"""Money as the domain handles it: exact Decimal parsed once, or int64 units of 1/10,000 dollar.

The warehouse stores money as DECIMAL(18,4), so both the scalar (Decimal) and the vectorized
(int64 units) paths floor to that grid and agree to the last unit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final

import numpy as np

MoneyLike = Decimal | int | str | float
# $1 trillion: far above any account, low enough that 1/10,000-dollar units never overflow int64.
MAX_MONEY = Decimal("1000000000000")
UNITS = 10_000  # int64 money columns count 1/10,000 dollars
UNKNOWN = -1  # an unknown amount in an int64 money column


@dataclass(frozen=True, slots=True)
class NumberWording:
    """How a refusal of ``to_decimal`` reads, one ``str.format`` template per reason.

    The templates see ``field``, ``value`` and ``kind`` (the value's type name). The parser is one;
    the words are its callers': a CLI user is told what to type, a broker answer what it sent.
    """

    boolean: str
    not_a_number: str
    wrong_type: str
    not_finite: str


# The domain's own wording, for values people type (CLI options, setups, limits).
INPUT_WORDING: Final = NumberWording(
    boolean="{field} must be a number, got bool {value!r}",
    not_a_number="{field} is not a number: {value!r}",
    wrong_type="{field} must be a Decimal, int, str or float, got {kind} {value!r}",
    not_finite="{field} must be finite, got {value!r}",
)


def to_decimal(
    value: object,
    field: str,
    *,
    wording: NumberWording = INPUT_WORDING,
    error: type[Exception] = ValueError,
) -> Decimal:
    """``value`` as an exact, finite Decimal, else ``error`` worded by ``wording`` naming ``field``.

    The one reading of a number the domain and the broker's answers share: booleans are refused
    (``True`` is an ``int``), floats (numpy's too) go through ``str`` so 0.1 stays 0.1, surrounding
    white space is ignored, NaN and infinities fail.
    """

    def refuse(template: str) -> Exception:
        return error(template.format(field=field, value=value, kind=type(value).__name__))

    if isinstance(value, bool):
        raise refuse(wording.boolean)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float | str | np.integer | np.floating):
        text = str(value.item()) if isinstance(value, np.integer | np.floating) else str(value).strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise refuse(wording.not_a_number) from None
    else:
        raise refuse(wording.wrong_type)
    if not amount.is_finite():
        raise refuse(wording.not_finite)
    return amount


def to_money(value: MoneyLike | None, field: str, *, maximum: Decimal | None = MAX_MONEY) -> Decimal | None:
    """Parse money for ``field``: None passes through; negative, NaN, infinite and absurd are refused."""
    if value is None:
        return None
    amount = to_decimal(value, field)
    if amount < 0:
        raise ValueError(f"{field} must not be negative, got {value!r}")
    if maximum is not None and amount > maximum:
        raise ValueError(f"{field} must be at most {maximum:,}, got {value!r}")
    return amount


def floor_units(amount: Decimal | None) -> Decimal | None:
    """Floor to 1/10,000 dollar; flooring a limit can only make sizing more conservative."""
    if amount is None:
        return None
    return amount.quantize(Decimal("0.0001"), rounding=ROUND_FLOOR)


def four_places(amount: Decimal, field: str, value: object) -> Decimal:
    """``amount`` when it has at most 4 decimals (the money grid), else an error naming ``field``."""
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValueError(f"{field} {value!r} has more than 4 decimal places")
    return amount


def to_units(amount: Decimal | None) -> int:
    """Decimal money as floored 1/10,000-dollar units; ``UNKNOWN`` for None."""
    if amount is None:
        return UNKNOWN
    return int((amount * UNITS).to_integral_value(ROUND_FLOOR))


def exact_units(amount: Decimal, field: str) -> int:
    """Decimal money as units, refusing an amount off the 1/10,000-dollar grid."""
    scaled = amount * UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{field} {amount} has more than 4 decimal places")
    return int(scaled)


@functools.lru_cache(maxsize=1 << 16)
def _units_to_decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)  # exact: 12345 -> 1.2345, 25000000 -> 2500.0000


def units_to_decimal(units: int) -> Decimal:
    """Back from 1/10,000 dollars to Decimal money (exact, four decimal places)."""
    return _units_to_decimal(int(units))


def percent_text(fraction: Decimal | float | int | None) -> str:
    """A fraction as people read a percentage: ``0.5`` -> ``50%``, ``0.125`` -> ``12.5%``; "" when missing.

    Setups store their T1 gain and share as fractions (exact Decimal); previews and listings show
    them as percentages, never ``0.5000``.
    """
    if fraction is None:
        return ""
    try:
        value = Decimal(str(fraction)) * 100
    except InvalidOperation:
        return ""
    if not value.is_finite():
        return ""
    text = format(value.quantize(Decimal("0.01")).normalize(), "f")
    return f"{text}%"
