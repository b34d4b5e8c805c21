"""Field types of the response models: each of Tradier's quirks absorbed by one validator.

``Money``, ``Count``, ``Text``, ``Flag``, ``Day``, ``Stamp``, ``Epoch`` and ``HourMinute`` read a
scalar through ``normalize`` (every spelling of "nothing" is None, money is ``Decimal``, a bad value
is a ``TradierMalformedResponseError`` naming ``model.field``), and their ``Required*`` forms refuse
"nothing"; ``Listed[T]`` takes a collapsed
collection (one bare object, ``"null"``, a list) as a tuple; ``Maybe[T]`` takes an empty marker as
None before reading a nested object; ``Vocabulary`` reads a wire word into its string enum,
keeping words Tradier may add later as text. ``parse`` is the one entry point: it turns pydantic's
own validation errors into the same one-line ``TradierMalformedResponseError``.

Why pydantic (2, installed with Dagster): the models become declarations (types, aliases such as
``class`` → ``order_class``, nested models and collections) instead of hand-copied ``from_json``
bodies, while pydantic dataclasses keep the records frozen, comparable without ``raw`` and cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BeforeValidator,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from spx_pipeline.broker.tradier import normalize
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.domain.tradier.enums import _WireEnum

T = TypeVar("T")
M = TypeVar("M")


def _where(info: ValidationInfo) -> str:
    title = info.config.get("title") if info.config else None
    return f"{title}.{info.field_name}" if title else str(info.field_name)


def _scalar(read: Callable[..., Any]) -> PlainValidator:
    return PlainValidator(lambda value, info: read(value, field=_where(info)))


# Money and counts are bounded by the warehouse columns they land in (``normalize.opt_money``).
Money = Annotated[Decimal | None, _scalar(normalize.opt_money)]
Count = Annotated[int | None, _scalar(normalize.bounded_int(normalize.INT64_LIMIT))]
SmallCount = Annotated[int | None, _scalar(normalize.bounded_int(normalize.INT32_LIMIT))]
Text = Annotated[str | None, _scalar(normalize.opt_str)]
Flag = Annotated[bool | None, _scalar(normalize.opt_bool)]
Day = Annotated[date | None, _scalar(normalize.opt_date)]
Stamp = Annotated[datetime | None, _scalar(normalize.opt_datetime)]
Epoch = Annotated[datetime | None, _scalar(normalize.opt_epoch)]
HourMinute = Annotated[time | None, _scalar(normalize.opt_hhmm)]


def _required(read: Callable[..., Any]) -> PlainValidator:
    def check(value: object, info: ValidationInfo) -> Any:
        result = read(value, field=_where(info))
        if result is None:
            raise TradierMalformedResponseError(f"{_where(info)} is missing")
        return result

    return PlainValidator(check)


RequiredText = Annotated[str, _required(normalize.opt_str)]
RequiredMoney = Annotated[Decimal, _required(normalize.opt_money)]
RequiredDay = Annotated[date, _required(normalize.opt_date)]

Listed = Annotated[
    tuple[T, ...], BeforeValidator(lambda value, info: normalize.as_list(value, field=_where(info)))
]
Maybe = Annotated[T | None, BeforeValidator(lambda value: None if normalize.is_empty(value) else value)]


def Vocabulary(kind: type[_WireEnum]) -> Any:
    """A wire word as a member of ``kind``; a word outside it stays text (Tradier adds values)."""

    def read(value: object, info: ValidationInfo) -> _WireEnum | str | None:
        text = normalize.opt_str(value, field=_where(info))
        return None if text is None else kind.known(text.strip())

    return Annotated[kind | str | None, PlainValidator(read)]


class KeepsRaw:
    """Mixin of every response model: the object as Tradier sent it lands in ``raw``.

    Storage snapshots ``raw`` verbatim and Tradier adds fields without notice, so the typed view
    never replaces the document it was read from.
    """

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "raw" not in data:
            return {**data, "raw": data}
        return data


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def parse(model: type[M], data: object, *, where: str) -> M:
    """``data`` (one JSON object) as ``model``; ``where`` starts the path errors name."""
    if not isinstance(data, Mapping):
        raise TradierMalformedResponseError(f"{where} is {type(data).__name__} {data!r:.60}, not an object")
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS.setdefault(model, TypeAdapter(model))
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise TradierMalformedResponseError(_describe(exc, where)) from None


def _describe(exc: ValidationError, where: str) -> str:
    """pydantic's first error as one line: the path from ``where``, what came, what was wrong."""
    first = exc.errors(include_url=False)[0]
    path = ".".join([where, *(str(part) for part in first["loc"])])
    if first["type"] == "missing":
        return f"{path} is missing"
    value = first.get("input")
    if first["type"] in ("dataclass_type", "dataclass_args", "model_type"):
        return f"{path} is {type(value).__name__} {value!r:.60}, not an object"
    return f"{path} is {value!r:.60}: {first['msg']}"
