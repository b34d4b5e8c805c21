"""Writes inside one open warehouse transaction: validated replace-by-key, all of it or none.

Everything a frame could get wrong (unknown or duplicated columns, missing or repeated keys, text
DuckDB would guess the type of) is refused before a statement runs, and any database error aborts
the whole transaction, so a failed write leaves every table exactly as it was.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

import duckdb
import pandas as pd

from spx_pipeline.clock import Clock
from spx_pipeline.storage.warehouse import publication
from spx_pipeline.storage.warehouse.base import (
    ColumnInfo,
    WarehouseWriteError,
    WriteResult,
    first_count,
    first_line,
    table_columns,
)
from spx_pipeline.storage.warehouse.base import quote_identifier as _q
from spx_pipeline.storage.warehouse.incoming import check_columns, check_keys, check_query_keys, prepare
from spx_pipeline.storage.warehouse.parquet import ParquetStore
from spx_pipeline.storage.warehouse.schema import warehouse_schema


class WriteTarget(Protocol):
    """What a transaction needs of the warehouse it writes (``store.Warehouse`` is one).

    Declared here so the writer sits below the warehouse that opens it, not beside it in a circle.
    """

    path: Path
    parquet: ParquetStore | None

    @property
    def clock(self) -> Clock: ...

    @property
    def ddl_dir(self) -> Path: ...

    def check_table(self, table: str) -> str: ...

    def table_ref(self, table: str) -> str: ...

    def prepare_reads(self, con: duckdb.DuckDBPyConnection, sql: str) -> None: ...


class Replacement(TypedDict, total=False):
    """Which rows a frame replaces: the keywords of ``replace_rows``, on a transaction or the store."""

    key_columns: Sequence[str]  # rows whose key matches a row of the frame (default: the DDL's primary key)
    delete_where: Mapping[str, object] | None  # and every row matching column = value (a run id)


class WarehouseTransaction:
    """Writes inside one open DuckDB transaction; ``Warehouse.transaction()`` commits or rolls back."""

    def __init__(self, warehouse: WriteTarget, con: duckdb.DuckDBPyConnection) -> None:
        self.warehouse = warehouse
        self.con = con
        self._after_commit: list[Callable[[], None]] = []
        self._finally: dict[str, Callable[[], None]] = {}
        self._on_discard: list[Callable[[], None]] = []

    def after_commit(
        self,
        action: Callable[[], None],
        *,
        on_discard: Callable[[], None] | None = None,
        key: str | None = None,
    ) -> None:
        """Run ``action`` once the transaction committed (``on_discard`` if it rolled back).

        Keyed actions run once per transaction, after the unkeyed ones (a clean-up after moves).
        """
        if key is None:
            self._after_commit.append(action)
        else:
            self._finally.setdefault(key, action)
        if on_discard is not None:
            self._on_discard.append(on_discard)

    def committed(self) -> None:
        for action in [*self._after_commit, *self._finally.values()]:
            action()

    def discard(self) -> None:
        for action in self._on_discard:
            action()

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None) -> pd.DataFrame:
        """A read inside the transaction: it sees the transaction's own uncommitted writes."""
        self.warehouse.prepare_reads(self.con, sql)
        return self.con.execute(sql, params).df() if params is not None else self.con.execute(sql).df()

    def replace_rows(
        self, table: str, frame: pd.DataFrame, **replacement: Unpack[Replacement]
    ) -> WriteResult:
        """Upsert by replacement:

        1. delete rows matching ``delete_where`` (column = value, all must match; e.g. a run id),
        2. delete rows whose key matches a row of ``frame``: the table's primary key as its DDL
           states it (said once, there), or ``key_columns`` to replace by another key,
        3. insert ``frame`` (columns matched by name; table columns the frame lacks become NULL).

        Unknown columns, missing or NULL key values and duplicate keys within the frame are refused
        before anything runs; any database error fails the write (and the transaction rolls back).
        """
        name = self.warehouse.check_table(table)
        keys = self._keys(name, replacement.get("key_columns"))
        delete_where = replacement.get("delete_where") or {}
        return self._write(table, frame, keys=keys, delete_where=delete_where, delete_all=False)

    def replace_table(self, table: str, frame: pd.DataFrame) -> WriteResult:
        return self._write(table, frame, keys=[], delete_where={}, delete_all=True)

    def delete_rows(self, table: str, where: Mapping[str, object]) -> int:
        """Delete the rows matching every ``column = value`` of ``where`` (never all rows)."""
        name = self.warehouse.check_table(table)
        if not where:
            raise WarehouseWriteError(f"delete_rows({name}): give at least one condition")
        cols = {c.name for c in table_columns(self.con, name, self.warehouse.path)}
        unknown = [k for k in where if k not in cols]
        if unknown:
            raise WarehouseWriteError(f"{name}: delete condition names unknown columns: {', '.join(unknown)}")
        clause, params = _where(where)
        return first_count(
            self.con.execute(f"DELETE FROM {self.warehouse.table_ref(name)} WHERE {clause}", params)
        )

    def publish(self, run_id: str, stage: str, *, published_by: str | None = None) -> int:
        """Publish ``run_id``'s rows of ``stage`` in this transaction; returns the publication seq.

        On the Parquet backend many writers claim numbers (``parquet``); on DuckDB the file is the one writer.
        """
        by = published_by or run_id
        now = self.warehouse.clock.now()
        if self.warehouse.parquet is not None:
            return self.warehouse.parquet.publish(self, run_id, stage, published_by=by, published_at=now)
        return publication.publish_stage(
            self,
            run_id,
            stage,
            published_by=by,
            published_at=now,
            warehouse_path=self.warehouse.path,
            ddl_dir=self.warehouse.ddl_dir,
        )

    def publish_self_contained(self, table: str, frame: pd.DataFrame) -> list[int]:
        """Publish the runs of ``frame`` when ``table`` is a whole stage by itself."""
        found = publication.self_contained_stage(table)
        if found is None or frame.empty:
            return []
        return self.publish_self_contained_runs(table, frame[found[1]].dropna().astype(str).unique())

    def publish_self_contained_runs(self, table: str, runs: Iterable[str]) -> list[int]:
        """``publish_self_contained`` for rows written without a frame: the runs they belong to."""
        found = publication.self_contained_stage(table)
        if found is None:
            return []
        return [self.publish(run, found[0]) for run in sorted({str(r) for r in runs})]

    def replace_rows_from_query(
        self,
        table: str,
        select: str,
        frames: Mapping[str, pd.DataFrame],
        params: Sequence[object] = (),
        **replacement: Unpack[Replacement],
    ) -> WriteResult:
        """``replace_rows`` of the rows ``select`` makes of ``frames``, computed inside DuckDB.

        ``select`` names each frame as ``{name}`` (a key of ``frames``); its rows go to a temporary
        table, checked as a frame would be (columns of ``table``, keys present and unique), then
        replace by key. Rows that are joins of small frames (a ticket: a trade and its shape's leg)
        thus never become Python objects one by one.
        """
        name = self.warehouse.check_table(table)
        keys = self._keys(name, replacement.get("key_columns"))
        con = self.con
        views = {label: f"_spx_frame_{uuid.uuid4().hex}" for label in frames}
        incoming = f"_spx_incoming_{uuid.uuid4().hex}"
        for label, frame in frames.items():
            con.register(views[label], frame)
        try:
            try:
                con.execute(f"CREATE TEMP TABLE {_q(incoming)} AS {select.format_map(views)}", list(params))
            except duckdb.Error as exc:
                raise WarehouseWriteError(f"{name}: the rows' query failed: {first_line(exc)}") from exc
            shape = con.execute(f"SELECT * FROM {_q(incoming)} LIMIT 0").df()
            cols = {c.name: c for c in table_columns(con, name, self.warehouse.path)}
            delete_where = replacement.get("delete_where") or {}
            check_columns(name, shape, cols, keys, delete_where)
            count = first_count(con.execute(f"SELECT count(*) FROM {_q(incoming)}"))
            check_query_keys(con, name, incoming, keys, count)
            return self._replace(
                name, incoming, list(shape.columns), count, cols, keys=keys, delete_where=delete_where,
                delete_all=False,
            )  # fmt: skip
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS {_q(incoming)}")
            for view in views.values():
                with contextlib.suppress(duckdb.Error):
                    con.unregister(view)

    def _keys(self, name: str, given: Sequence[str] | None) -> list[str]:
        primary = warehouse_schema(self.warehouse.ddl_dir).tables[name].primary_key
        keys = list(primary if given is None else given)
        if not keys:  # every table of the DDL has a primary key (test_schema); an empty list does not
            raise WarehouseWriteError(f"replace_rows({name}): key_columns is empty; name the row key columns")
        return keys

    def _write(
        self,
        table: str,
        frame: pd.DataFrame,
        *,
        keys: list[str],
        delete_where: Mapping[str, object],
        delete_all: bool,
    ) -> WriteResult:
        """Validate, then delete-and-insert inside the open transaction."""
        name = self.warehouse.check_table(table)
        con = self.con
        cols = {c.name: c for c in table_columns(con, name, self.warehouse.path)}
        check_columns(name, frame, cols, keys, delete_where)
        if keys:
            check_keys(name, frame, keys)
        prepared = prepare(frame, cols)
        view = f"_spx_incoming_{uuid.uuid4().hex}"
        con.register(view, prepared)
        try:
            names = [str(c) for c in prepared.columns]
            return self._replace(
                name, view, names, len(prepared), cols, keys=keys, delete_where=delete_where,
                delete_all=delete_all,
            )  # fmt: skip
        finally:
            # After a failed statement the transaction is aborted and refuses even this; the view
            # belongs to the connection, which closes with the transaction anyway.
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)

    def _replace(
        self,
        name: str,
        source: str,
        names: list[str],
        count: int,
        cols: Mapping[str, ColumnInfo],
        *,
        keys: list[str],
        delete_where: Mapping[str, object],
        delete_all: bool,
    ) -> WriteResult:
        """Delete what the ``count`` rows of ``source`` (a view or table, checked) replace; insert them.

        Rows that replace rows already there by the table's primary key are upserted (``ON CONFLICT DO
        UPDATE``) when they hold every column, with the same outcome: DuckDB updates them in place,
        where deleting and inserting them again made the commit rewrite them (a schedule's re-run of
        60,000 tickets: 0.18 s against 0.9 s).
        """
        con = self.con
        target = self.warehouse.table_ref(name)
        try:
            deleted = 0
            if delete_all:
                deleted += first_count(con.execute(f"DELETE FROM {target}"))
            if delete_where:
                where, params = _where(delete_where)
                deleted += first_count(con.execute(f"DELETE FROM {target} WHERE {where}", params))
            upsert = False
            if keys and count:
                match = " AND ".join(f"dst.{_q(k)} = CAST(src.{_q(k)} AS {cols[k].type})" for k in keys)
                matching = f"{target} AS dst WHERE EXISTS (SELECT 1 FROM {_q(source)} AS src WHERE {match})"
                if _upsertable(con, name, keys, names, cols):
                    replaced = first_count(con.execute(f"SELECT count(*) FROM {matching}"))
                    upsert, deleted = bool(replaced), deleted + replaced
                else:
                    deleted += first_count(con.execute(f"DELETE FROM {matching}"))
            if count:
                _insert(con, name, source, names, cols, target=target, upsert_keys=keys if upsert else ())
        except duckdb.Error as exc:
            raise WarehouseWriteError(
                f"writing {count} rows to {name} failed and was rolled back: {first_line(exc)}"
            ) from exc
        return WriteResult(inserted=count, deleted=deleted)


def _upsertable(
    con: duckdb.DuckDBPyConnection,
    table: str,
    keys: Sequence[str],
    names: Sequence[str],
    cols: Mapping[str, ColumnInfo],
) -> bool:
    """Whether rows of ``names`` replace rows of ``table`` exactly by upserting them: they hold every
    column (a column left out becomes NULL on insert, but would be kept by an update) and ``keys``
    is the table's primary key as it stands (the conflict target must be that very constraint)."""
    if set(names) != set(cols):
        return False
    found = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    return len(found) == 1 and set(found[0][0]) == set(keys)


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    names: Sequence[str],
    cols: Mapping[str, ColumnInfo],
    *,
    target: str,
    upsert_keys: Sequence[str] = (),
) -> None:
    """INSERT the columns ``names`` of ``source`` (a registered view or a table) into ``table``
    (``target``: its SQL reference); with ``upsert_keys``, a row whose key is there updates it."""
    columns = ", ".join(_q(n) for n in names)
    select = ", ".join(f"CAST({_q(n)} AS {cols[n].type}) AS {_q(n)}" for n in names)
    conflict = ""
    if upsert_keys:
        updated = [n for n in names if n not in upsert_keys]
        action = (
            "DO UPDATE SET " + ", ".join(f"{_q(n)} = excluded.{_q(n)}" for n in updated)
            if updated
            else "DO NOTHING"
        )
        conflict = f" ON CONFLICT ({', '.join(_q(k) for k in upsert_keys)}) {action}"
    con.execute(f"INSERT INTO {target} ({columns}) SELECT {select} FROM {_q(source)}{conflict}")


def _where(conditions: Mapping[str, object]) -> tuple[str, list[object]]:
    parts: list[str] = []
    params: list[object] = []
    for column, value in conditions.items():
        if value is None:
            parts.append(f"{_q(column)} IS NULL")
        else:
            parts.append(f"{_q(column)} = ?")
            params.append(value)
    return " AND ".join(parts), params
