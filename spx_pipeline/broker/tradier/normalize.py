"""The one place where Tradier's XML-heritage JSON is made regular.

Tradier collapses one-element collections into a bare object, spells "empty" as the string
``"null"`` (sometimes nested: ``{"orders": {"order": "null"}}``, sometimes JSON ``null``), reports
downstream failures inside HTTP 200 as an ``errors`` object whose ``error`` is a string or a list, and
sends money with 20+ decimal digits. Every model parser goes through these helpers so that no
endpoint grows its own half-fix (the bugs other Python clients for Tradier have).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Final

from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.domain.money import NumberWording, to_decimal
from spx_pipeline.domain.quotes import epoch_datetime

_EMPTY_STRINGS = frozenset({"null", ""})


def loads(text: str | bytes, *, where: str = "response") -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (no float rounding of money)."""
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise TradierMalformedResponseError(
            f"{where} is not JSON ({type(exc).__name__}); starts with {raw[:80]!r}"
        ) from None


def is_empty(value: object) -> bool:
    """True for every spelling of "nothing": JSON null, ``"null"``, ``""``, ``{}``, ``[]``."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in _EMPTY_STRINGS
    if isinstance(value, Mapping | list | tuple):
        return len(value) == 0
    return False


def as_list(value: object, *, field: str) -> list[Any]:
    """Coerce a collapsed collection member (``orders.order``) to a list, dropping empty markers."""
    if is_empty(value):
        return []
    if isinstance(value, list | tuple):
        return [item for item in value if not is_empty(item)]
    return [value]


def collection(body: object, outer: str, inner: str) -> list[Any]:
    """``body[outer][inner]`` as a list, whatever quirk Tradier used for zero or one element.

    Handles ``{"orders": "null"}``, ``{"orders": null}``, ``{"orders": {"order": "null"}}``,
    ``{"orders": {"order": {...}}}`` and the plain list. A present but non-collection ``outer``
    (e.g. a number) is a malformed response, named by its path.
    """
    if not isinstance(body, Mapping):
        raise TradierMalformedResponseError(
            f"expected a JSON object with {outer!r}, got {type(body).__name__}"
        )
    if outer not in body:
        raise TradierMalformedResponseError(f"response has no {outer!r} key (keys: {sorted(body)[:8]})")
    container = body[outer]
    if is_empty(container):
        return []
    if not isinstance(container, Mapping):
        raise TradierMalformedResponseError(
            f"{outer} is {type(container).__name__} {container!r:.60}, not an object"
        )
    items = as_list(container.get(inner), field=f"{outer}.{inner}")
    for index, item in enumerate(items):
        if not isinstance(item, Mapping | str | int | Decimal):
            raise TradierMalformedResponseError(f"{outer}.{inner}[{index}] is {type(item).__name__}")
    return items


def member(body: object, key: str) -> Mapping[str, Any]:
    """``body[key]`` as an object (single-resource endpoints such as ``balances``, ``clock``)."""
    if not isinstance(body, Mapping):
        raise TradierMalformedResponseError(f"expected a JSON object with {key!r}, got {type(body).__name__}")
    value = body.get(key)
    if not isinstance(value, Mapping):
        raise TradierMalformedResponseError(f"{key} is {type(value).__name__} {value!r:.60}, not an object")
    return value


def error_messages(body: object) -> list[str] | None:
    """Tradier's ``errors.error`` as a list of strings, or None when the body reports no error.

    Every empty spelling (``"null"``, JSON null, ``{}``, ``{"error": "null"}``) means "no errors",
    as everywhere else in Tradier's JSON: calling it an error would turn a possibly accepted order
    into ``TradierOrderRejectedError``. A body with neither errors nor the expected object is left
    to the endpoint's parser, which reports it as malformed. An ``errors`` object with content but
    no ``error`` text is still an error, quoted so the caller sees what Tradier sent.
    """
    if not isinstance(body, Mapping) or "errors" not in body:
        return None
    errors = body["errors"]
    if is_empty(errors):
        return None
    if isinstance(errors, Mapping):
        messages = as_list(errors.get("error"), field="errors.error")
        if not messages:
            rest = {key: value for key, value in errors.items() if key != "error" and not is_empty(value)}
            return [f"errors object without error text: {rest!r:.200}"] if rest else None
    elif isinstance(errors, str):
        messages = [errors]
    else:
        messages = as_list(errors, field="errors")
    return [str(message) for message in messages] or None


# The broker's wording of a refused number: what Tradier sent, and what was expected instead.
_ANSWER_WORDING: Final = NumberWording(
    boolean="{field} is a boolean ({value!r}), expected a number",
    not_a_number="{field} is {value!r}, expected a number",
    wrong_type="{field} is {kind} {value!r:.40}, expected a number",
    not_finite="{field} is {value!r}, expected a finite number",
)


def opt_decimal(value: object, *, field: str) -> Decimal | None:
    """Money/quantity as Decimal; None for any "nothing" spelling; numeric strings accepted.

    A finite ``Decimal`` or a plain ``int`` (what ``loads`` makes of a JSON number) is taken as the
    full reading would take it, without its checks: every figure of every answer passes here.
    """
    kind = type(value)
    if kind is Decimal and value.is_finite():  # type: ignore[attr-defined]
        return value  # type: ignore[return-value]
    if kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    if is_empty(value):
        return None
    return to_decimal(value, field, wording=_ANSWER_WORDING, error=TradierMalformedResponseError)


# What the warehouse stores: money as DECIMAL(18,4) (|x| < 1e14), counts as INTEGER or BIGINT. A
# broker figure beyond them is refused where the answer is read, so it fails its own account
# (one ``sync_failures`` row naming the field and the value) instead of the whole write.
MONEY_LIMIT: Final = Decimal("1e14")
_MONEY_NOUN: Final = f"{MONEY_LIMIT:.0e} a money figure"
INT32_LIMIT: Final = 2**31
INT64_LIMIT: Final = 2**63


def _within(number: Decimal | None, limit: Decimal, *, field: str, noun: str) -> Decimal | None:
    """``number`` unless its magnitude reaches ``limit`` (the column's type): then a refusal.

    ``copy_abs`` is exact whatever its exponent; ``abs()`` rounds in the default context, which
    overflows on a broker's ``1e9999999`` (a bare ``decimal.Overflow`` instead of this refusal).
    """
    if number is not None and number.copy_abs() >= limit:
        raise TradierMalformedResponseError(f"{field} is {number}, beyond the {noun} can be; refused")
    return number


def opt_money(value: object, *, field: str) -> Decimal | None:
    """``opt_decimal`` within what DECIMAL(18,4) holds: below 1e14 in magnitude."""
    return _within(opt_decimal(value, field=field), MONEY_LIMIT, field=field, noun=_MONEY_NOUN)


def bounded_int(limit: int) -> Callable[..., int | None]:
    """A whole number (``1.00000000`` is one, ``1.5`` is malformed) whose magnitude stays below
    ``limit`` (the column's integer type)."""

    noun, bound = f"{limit} a count", Decimal(limit)

    def read(value: object, *, field: str) -> int | None:
        # Bounded before the int is made: a broker's 1e9999999 would take minutes to convert.
        number = _within(opt_decimal(value, field=field), bound, field=field, noun=noun)
        return _whole(number, value, field=field)

    return read


def _whole(number: Decimal | None, value: object, *, field: str) -> int | None:
    """Counts and ids; ``1.00000000`` is accepted, ``1.5`` is malformed."""
    if number is None:
        return None
    if number != number.to_integral_value():
        raise TradierMalformedResponseError(f"{field} is {value!r}, expected a whole number")
    return int(number)


def opt_str(value: object, *, field: str) -> str | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise TradierMalformedResponseError(f"{field} is {type(value).__name__} {value!r:.40}, expected text")


def opt_bool(value: object, *, field: str) -> bool | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise TradierMalformedResponseError(f"{field} is {value!r}, expected true/false")


def opt_date(value: object, *, field: str) -> date | None:
    text = opt_str(value, field=field)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise TradierMalformedResponseError(f"{field} is {text!r}, expected YYYY-MM-DD") from None


def opt_datetime(value: object, *, field: str) -> datetime | None:
    """ISO timestamps (``2021-03-01T14:02:11.000Z``); naive ones are taken as UTC."""
    text = opt_str(value, field=field)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TradierMalformedResponseError(f"{field} is {text!r}, expected an ISO timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def opt_epoch(value: object, *, field: str) -> datetime | None:
    """Epoch seconds or milliseconds, told apart by magnitude (the domain's one conversion).

    0 is Tradier's "never" (no trade yet), not 1970-01-01.
    """
    return epoch_datetime(opt_decimal(value, field=field))


def opt_hhmm(value: object, *, field: str) -> time | None:
    text = opt_str(value, field=field)
    if text is None:
        return None
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise TradierMalformedResponseError(f"{field} is {text!r}, expected HH:MM") from None


def clean(value: Any) -> Any:
    """Recursively turn empty markers into None (for rows returned as plain dicts)."""
    if isinstance(value, Mapping):
        return {key: clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, str) and value.strip() == "null":
        return None
    return value


opt_int: Final = bounded_int(INT64_LIMIT)
"""Counts and ids: a whole number that fits BIGINT."""
