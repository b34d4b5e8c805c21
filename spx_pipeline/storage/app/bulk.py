"""Set-based inserts and reads: values converted column by column, not row by row.

SQLAlchemy's executemany builds and converts every row's parameters one by one (a dict, a cache
key, each column's bind processor); at 10,000 trades that per-row work cost more than the insert.
Here each column's processor (the same one SQLAlchemy would use, ``Money``/``UtcDateTime``
included) runs once over the column's values, and the compiled INSERT goes to the driver as one
executemany, so the stored bytes are those of ``conn.execute(sa.insert(table), rows)``, in the
caller's transaction, with the table's unique keys enforced as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

IN_CHUNK = 500  # bound on IN (...) lists (SQLite allows 32,766 parameters; PostgreSQL more)


def in_chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    """``values`` in slices short enough for one ``IN (...)`` list each."""
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start : start + IN_CHUNK])


def _processed(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``[process(v) for v in values]``, once per distinct object: a run's rows share their
    timestamps and most of their prices as the very same objects. Keyed by identity, never by
    value (``Decimal("1.10") == Decimal("1.1")`` but they are stored as different text). Every
    value must stay alive meanwhile, so that no identity is reused: a list or tuple holds its
    values, but a pandas Series makes a new object for each value it yields, so anything else is
    listed first."""
    held = values if isinstance(values, list | tuple) else list(values)
    done: dict[int, Any] = {}
    out = []
    for value in held:
        key = id(value)
        if key in done:
            out.append(done[key])
        else:
            out.append(done.setdefault(key, process(value)))
    return out


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every row with the same columns) into ``table`` in one executemany."""
    if rows:
        insert_columns(conn, table, {name: [row[name] for row in rows] for name in rows[0]})


def insert_columns(conn: Connection, table: sa.Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert the rows whose values ``columns`` holds column by column (all of one length)."""
    names = list(columns)
    if names and len(columns[names[0]]):
        _execute_many(conn, sa.insert(table), table, columns)


def delete_keys(conn: Connection, table: sa.Table, keys: Mapping[str, Sequence[Any]]) -> None:
    """Delete every row whose columns equal one of the key tuples ``keys`` holds column by column.

    The same statements as ``conn.execute(delete ... where c = :c and ..., rows)``, one executemany.
    """
    names = list(keys)
    if names and len(keys[names[0]]):
        condition = sa.and_(*(table.c[name] == sa.bindparam(name) for name in names))
        _execute_many(conn, sa.delete(table).where(condition), table, keys)


def _execute_many(
    conn: Connection, statement: sa.Insert | sa.Delete, table: sa.Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Run ``statement`` once per row of ``columns``, each column bound by its own type's processor."""
    names = list(columns)
    dialect = conn.dialect
    converted: list[Sequence[Any]] = []
    for name in names:
        values = columns[name]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        converted.append(_processed(process, values) if process is not None else values)
    compiled = statement.compile(dialect=dialect, column_keys=names)
    if compiled.positional:
        order = [names.index(key) for key in compiled.positiontup or ()]
        params: list[Any] = list(zip(*(converted[i] for i in order), strict=True))
    else:
        params = [dict(zip(names, row, strict=True)) for row in zip(*converted, strict=True)]
    conn.exec_driver_sql(str(compiled), params)


def read_columns(conn: Connection, query: sa.Select[Any]) -> dict[str, list[Any]]:
    """The rows of ``query`` (columns of tables, or expressions whose type reads them as they are)
    column by column.

    Each value is converted by its column's result processor, the one SQLAlchemy would apply row by
    row (``Money``, ``UtcDateTime`` included), once per distinct raw value: the processors are pure,
    and a run's rows repeat their timestamps and prices (equal raw values convert equally: ``Money``
    quantizes, so ``1`` and ``1.0`` both read ``Decimal("1.0000")``). The raw values are fetched
    untyped (``type_coerce`` to ``NullType``), so SQLAlchemy converts nothing twice.
    """
    selected = list(query.selected_columns)
    raw = query.with_only_columns(*(sa.type_coerce(c, sa.types.NullType()).label(c.key) for c in selected))
    result = conn.execute(raw)
    coltypes = [d[1] for d in result.cursor.description]  # the driver's type codes (psycopg2 needs them)
    # The driver's tuples: SQLAlchemy would wrap each in a Row only for it to be taken apart again.
    rows = result.cursor.fetchall()
    result.close()
    dialect = conn.dialect
    out: dict[str, list[Any]] = {}
    for i, column in enumerate(selected):
        values = [row[i] for row in rows]
        process = column.type.dialect_impl(dialect).result_processor(dialect, coltypes[i])
        if process is not None:
            try:
                done: dict[Any, Any] = {}
                values = [done[v] if v in done else done.setdefault(v, process(v)) for v in values]
            except TypeError:  # an unhashable raw value (none of our column types returns one)
                values = [process(v) for v in values]
        out[column.key] = values
    return out


def as_text(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """``column`` as text for a reader that types the values itself (the warehouse's copy, in
    DuckDB): an amount, a time, a date or a flag as the engine spells it; whole numbers and text as
    they are. PostgreSQL's NUMERIC(18,4) keeps its four decimals; SQLite keeps an amount as a number
    (``Money``) and spells it with 15 significant digits, the ones it stores exactly (a fixed four
    decimals would print the float's own digits beyond them)."""
    if isinstance(column.type, sa.Integer | sa.String):
        return column
    return sa.cast(column, sa.Text).label(column.key)


def read_columns_in(
    conn: Connection, query: sa.Select[Any], column: sa.ColumnElement[Any], values: Sequence[Any]
) -> dict[str, list[Any]]:
    """``read_columns`` of the rows of ``query`` whose ``column`` is one of ``values`` (any number of
    them: read ``IN_CHUNK`` at a time and joined column by column)."""
    out: dict[str, list[Any]] = {c.key: [] for c in query.selected_columns}
    for chunk in in_chunks(sorted(set(values))):
        for name, got in read_columns(conn, query.where(column.in_(chunk))).items():
            out[name].extend(got)
    return out
