"""The one way records and app-database rows meet: by field name, pydantic validating the way back.

Every record the app database stores is a frozen dataclass (the domain's own, or a store's) whose
fields are its table's columns; a ``RowMapping`` pairs the two once. Writing takes the fields by
name (enums as their wire text); reading validates the row mapping with pydantic's ``TypeAdapter``
over the dataclass, which rebuilds enums, ints and bools from what either engine returns and
refuses a row that does not fit the record. Adding a column is one field, one ``sa.Column`` and the
migration; a field without a column (or a rename to a column that is not there) fails at import.

Why pydantic over SQLAlchemy's declarative ORM: the stores run Core statements in transactions they
control (compare-and-set, claims), the records are the domain's frozen dataclasses (the domain
imports no SQLAlchemy), and pydantic already types the broker's records.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import TypeAdapter

R = TypeVar("R")

# Values bound as they are (a subclass, an enum, or an int for a text column goes through ``_bind``).
_AS_IS = frozenset({str, float, bool, Decimal, datetime, date, type(None)})
_AS_IS_OR_INT = _AS_IS | {int}  # an int goes to a text column as text, elsewhere as it is


def _getter(columns: Mapping[str, str]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields' values as a tuple (``attrgetter`` of one name returns the bare value, of none fails)."""
    names = list(columns)
    if len(names) > 1:
        return operator.attrgetter(*names)
    return lambda record: tuple(getattr(record, name) for name in names)


class RowMapping(Generic[R]):
    """``record`` <-> rows of ``table``.

    ``renamed``: field -> column where a column says more (``session`` is ``session_date``).
    ``not_stored``: fields no column holds (they take their defaults when read). ``nested``: fields
    whose records are stored in the same row (``Trade.plan``). A ``nullable`` record nested in
    another reads as None when the column of its first field is NULL, and None writes its defaults.
    """

    def __init__(
        self,
        record: type[R],
        table: sa.Table,
        *,
        renamed: Mapping[str, str] | None = None,
        not_stored: Iterable[str] = (),
        nested: Mapping[str, RowMapping[Any]] | None = None,
        nullable: bool = False,
    ) -> None:
        self.record = record
        self.table = table
        self.nested = dict(nested or {})
        self.nullable = nullable
        skipped = set(not_stored) | set(self.nested)
        renames = dict(renamed or {})
        fields = [f for f in dataclasses.fields(record) if f.name not in skipped]  # type: ignore[arg-type]
        self.columns = {f.name: renames.get(f.name, f.name) for f in fields}
        self.defaults = {
            self.columns[f.name]: None if f.default is dataclasses.MISSING else f.default for f in fields
        }
        missing = sorted(column for column in self.columns.values() if column not in table.c)
        if missing:
            raise TypeError(f"{record.__name__}: {table.name} has no column(s) {', '.join(missing)}")
        self._items = tuple(self.columns.items())
        self._get = _getter(self.columns)
        self._text = frozenset(c.name for c in table.columns if isinstance(c.type, sa.Text))
        self._adapter: TypeAdapter[R] = TypeAdapter(record)

    def values(self, record: R | None, **extra: Any) -> dict[str, Any]:
        """Every column the record holds, plus ``extra`` (columns it does not), ready to bind."""
        if record is None:
            values = dict(self.defaults)
        else:
            values = {
                column: value if type(value) in _AS_IS else self._bind(value, column)
                for column, value in zip(self.columns.values(), self._get(record), strict=True)
            }
        for name, inner in self.nested.items():
            values.update(inner.values(None if record is None else getattr(record, name)))
        return values | extra

    def column_values(self, records: Sequence[R | None]) -> dict[str, list[Any]]:
        """``values`` of many records, column by column (what a bulk insert binds): no dict per row."""
        out: dict[str, list[Any]] = {}
        bind = self._bind
        for name, column in self.columns.items():
            default = self.defaults[column]
            as_is = _AS_IS if column in self._text else _AS_IS_OR_INT
            out[column] = [
                default
                if record is None
                else value
                if type(value := getattr(record, name)) in as_is
                else bind(value, column)
                for record in records
            ]
        for name, inner in self.nested.items():
            out.update(inner.column_values([None if r is None else getattr(r, name) for r in records]))
        return out

    def read(self, row: Mapping[str, Any]) -> R:
        """The record of one row (a result row's ``_mapping``, or any mapping of column -> value)."""
        return self._adapter.validate_python(self._fields(row))

    def _fields(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        fields = {name: row[column] for name, column in self.columns.items()}
        if self.nullable and next(iter(fields.values())) is None:
            return None
        for name, inner in self.nested.items():
            fields[name] = inner._fields(row)
        return fields

    def _bind(self, value: Any, column: str) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if column in self._text and isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # broker order ids: Tradier's numbers, stored as text
        return value
