"""The DuckDB analyst warehouse: schema from ``sql/warehouse`` and idempotent transactional writes.

DuckDB lets one process hold a file for writing at a time, and Dagster runs steps in separate
processes, so every operation opens a short-lived connection and retries (bounded, with backoff)
while another process holds the lock. Writes are "replace by key" in one transaction: a re-run of
the same step replaces its rows instead of duplicating them, and a failure part-way leaves the
table exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd
import psutil

from spx_pipeline.clock import Clock, clock_from_env
from spx_pipeline.storage.analyst import AnalystPaths, ensure_catalog
from spx_pipeline.storage.paths import (
    QUERIES_DIR,
    WAREHOUSE_DDL_DIR,
    prepare_parent_dir,
    warehouse_path,
    warehouse_setting,
)
from spx_pipeline.storage.publication import published_views_sql
from spx_pipeline.storage.warehouse_schema import ddl_scripts, warehouse_schema

_QUERY_NAME = re.compile(r"^[a-z0-9_]+$")
DEFAULT_LOCK_TIMEOUT: Final = 30.0


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the file or table involved."""


class WarehouseLockedError(WarehouseError):
    """Another process kept the DuckDB file locked for longer than the retry budget."""


class WarehouseWriteError(WarehouseError):
    """A write was refused or failed and was rolled back: nothing was changed."""


@dataclass(frozen=True)
class WriteResult:
    """Rows inserted and rows deleted (replaced or cleared) by one write."""

    inserted: int
    deleted: int


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool


class Warehouse:
    """One DuckDB warehouse file (``SPX_WAREHOUSE_PATH``, default ``data/warehouse.duckdb``)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        ddl_dir: Path | None = None,
        setting: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = warehouse_path(path)
        self.setting = setting or warehouse_setting(path)
        self._clock = clock
        if lock_timeout < 0:
            raise ValueError(f"lock_timeout {lock_timeout!r} must not be negative")
        self.lock_timeout = lock_timeout
        self._ddl_dir = ddl_dir or WAREHOUSE_DDL_DIR

    @property
    def clock(self) -> Clock:
        """Stamps publications; the process clock (``SPX_NOW`` when pinned) unless one was given."""
        if self._clock is None:
            self._clock = clock_from_env()
        return self._clock

    @property
    def ddl_dir(self) -> Path:
        return self._ddl_dir

    @property
    def analyst_paths(self) -> AnalystPaths:
        """Where the published analyst copy of this warehouse lives (beside the file)."""
        return AnalystPaths.for_warehouse(self.path)

    @property
    def tables(self) -> frozenset[str]:
        """The allow-list: every table the DDL files create."""
        return frozenset(warehouse_schema(self._ddl_dir).tables)

    # -- connections ----------------------------------------------------------------------

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection (session time zone UTC), closed on exit.

        Opening retries with exponential backoff while another process holds the file lock and
        gives up after ``lock_timeout`` seconds with ``WarehouseLockedError``.
        """
        con = self._open(read_only)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise WarehouseError(
                f"warehouse {self.path} does not exist yet; run the pipeline (or ensure_schema) first"
            )
        if not read_only:
            if self.path.is_dir():
                raise WarehouseError(f"{self.setting}={str(self.path)!r} is a directory, not a DuckDB file")
            prepare_parent_dir(self.path, setting=self.setting, value=self.path)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.ConnectionException as exc:
                # This process already has the file open read-write (DuckDB shares one instance
                # per process); a reader can use that configuration safely.
                if read_only and "different configuration" in str(exc):
                    read_only = False
                    continue
                raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WarehouseLockedError(
                        f"warehouse {self.path} stayed locked for {self.lock_timeout:.1f}s by "
                        f"{lock_holder(str(exc))}; analysts read the published copy "
                        f"{self.analyst_paths.catalog} (or `spx-pipeline db query`), which never blocks a run"
                    ) from exc
                time.sleep(min(delay * (0.5 + random.random()), remaining))
                delay = min(delay * 2, 1.0)

    # -- schema ---------------------------------------------------------------------------

    def ensure_schema(self) -> list[str]:
        """Apply every DDL file in order (CREATE ... IF NOT EXISTS); return the tables created."""
        with self.connect() as con:
            before = _existing_tables(con)
            con.begin()
            try:
                for script in ddl_scripts(self._ddl_dir):
                    con.execute(script)
                for statement in published_views_sql():
                    con.execute(statement)
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise WarehouseError(f"applying warehouse DDL to {self.path} failed: {exc}") from exc
            after = _existing_tables(con)
            # The analysts' catalog exists from the start, so their queries answer "no rows" rather
            # than failing before the first publication; built while this process holds the file,
            # so two processes never build it at once.
            ensure_catalog(self.analyst_paths, self._ddl_dir)
        return sorted(after - before)

    def columns(self, table: str) -> list[ColumnInfo]:
        name = self.check_table(table)
        with self.connect(read_only=True) as con:
            return _columns(con, name, self.path)

    # -- writes ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[WarehouseTransaction]:
        """One DuckDB transaction for several writes (and a publication): all of them or none.

        Actions registered with ``after_commit`` (moving an exported analyst copy into place) run
        once the commit succeeded, while this process still holds the file.
        """
        with self.connect() as con:
            tx = WarehouseTransaction(self, con)
            con.begin()
            try:
                yield tx
                con.commit()
            except BaseException:
                con.rollback()
                tx.discard()
                raise
            tx.committed()

    def replace_rows(
        self,
        table: str,
        frame: pd.DataFrame,
        *,
        key_columns: Sequence[str],
        delete_where: Mapping[str, object] | None = None,
    ) -> WriteResult:
        """Idempotent upsert-by-replacement in ONE transaction (see ``WarehouseTransaction``).

        Rows of a stage that is one table (the option chain, recommendations, tickets) are published
        in that same transaction: the write is the stage.
        """
        with self.transaction() as tx:
            result = tx.replace_rows(table, frame, key_columns=key_columns, delete_where=delete_where)
            tx.publish_self_contained(table, frame)
        return result

    def replace_table(self, table: str, frame: pd.DataFrame) -> WriteResult:
        """Replace the whole content of a current-state table (e.g. broker_credentials) atomically."""
        with self.transaction() as tx:
            return tx.replace_table(table, frame)

    # -- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None) -> pd.DataFrame:
        """Run a read query on a read-only connection and return a DataFrame."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params).df() if params is not None else con.execute(sql).df()

    def named_query(self, name: str) -> pd.DataFrame:
        """Run an analyst query from ``sql/queries/<name>.sql`` as it stands."""
        return self.query(read_named_query(name))

    def row_count(self, table: str) -> int:
        name = self.check_table(table)
        with self.connect(read_only=True) as con:
            row = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()
        return int(row[0]) if row else 0

    def check_table(self, table: str) -> str:
        name = (table or "").lower()
        if name not in self.tables:
            raise WarehouseError(
                f"table {table!r} is not a warehouse table; known tables: {', '.join(sorted(self.tables))}"
            )
        return name

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"


_LOCK_PID = re.compile(r"PID (\d+)")


def lock_holder(message: str) -> str:
    """Who holds a DuckDB lock, from DuckDB's own error text: the process id and its command line."""
    match = _LOCK_PID.search(message)
    if match is None:
        return f"another process ({_first_line(RuntimeError(message))})"
    pid = int(match.group(1))
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.Error, OSError):
        return f"process {pid} (no longer running)"
    if len(command) > 160:
        command = command[:157] + "..."
    return f"process {pid} ({command})"


def query_names() -> list[str]:
    """Names of the analyst queries shipped in ``sql/queries``."""
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


def read_named_query(name: str) -> str:
    if not _QUERY_NAME.match(name or "") or not (QUERIES_DIR / f"{name}.sql").is_file():
        raise WarehouseError(f"no analyst query named {name!r}; available: {', '.join(query_names())}")
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


class WarehouseTransaction:
    """Writes inside one open DuckDB transaction; ``Warehouse.transaction()`` commits or rolls back."""

    def __init__(self, warehouse: Warehouse, con: duckdb.DuckDBPyConnection) -> None:
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
        return self.con.execute(sql, params).df() if params is not None else self.con.execute(sql).df()

    def replace_rows(
        self,
        table: str,
        frame: pd.DataFrame,
        *,
        key_columns: Sequence[str],
        delete_where: Mapping[str, object] | None = None,
    ) -> WriteResult:
        """Upsert by replacement:

        1. delete rows matching ``delete_where`` (column = value, all must match; e.g. a run id),
        2. delete rows whose ``key_columns`` match any row of ``frame``,
        3. insert ``frame`` (columns matched by name; table columns the frame lacks become NULL).

        Unknown columns, missing or NULL key values and duplicate keys within the frame are refused
        before anything runs; any database error fails the write (and the transaction rolls back).
        """
        keys = list(key_columns)
        if not keys:
            raise WarehouseWriteError(
                f"replace_rows({table}): key_columns is empty; name the row key columns"
            )
        return self._write(table, frame, keys=keys, delete_where=delete_where or {}, delete_all=False)

    def replace_table(self, table: str, frame: pd.DataFrame) -> WriteResult:
        return self._write(table, frame, keys=[], delete_where={}, delete_all=True)

    def delete_rows(self, table: str, where: Mapping[str, object]) -> int:
        """Delete the rows matching every ``column = value`` of ``where`` (never all rows)."""
        name = self.warehouse.check_table(table)
        if not where:
            raise WarehouseWriteError(f"delete_rows({name}): give at least one condition")
        cols = {c.name for c in _columns(self.con, name, self.warehouse.path)}
        unknown = [k for k in where if k not in cols]
        if unknown:
            raise WarehouseWriteError(f"{name}: delete condition names unknown columns: {', '.join(unknown)}")
        clause, params = _where(where)
        return _count(self.con.execute(f"DELETE FROM {_q(name)} WHERE {clause}", params))

    def publish(self, run_id: str, stage: str, *, published_by: str | None = None) -> int:
        """Publish ``run_id``'s rows of ``stage`` in this transaction; returns the publication seq."""
        from spx_pipeline.storage.publication import publish_stage

        return publish_stage(self, run_id, stage, published_by=published_by or run_id)

    def publish_self_contained(self, table: str, frame: pd.DataFrame) -> list[int]:
        """Publish the runs of ``frame`` when ``table`` is a whole stage by itself."""
        from spx_pipeline.storage.publication import self_contained_stage

        found = self_contained_stage(table)
        if found is None or frame.empty:
            return []
        stage, run_column = found
        return [
            self.publish(str(run), stage) for run in sorted(frame[run_column].dropna().astype(str).unique())
        ]

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
        cols = {c.name: c for c in _columns(con, name, self.warehouse.path)}
        _check_columns(name, frame, cols, keys, delete_where)
        if keys:
            _check_keys(name, frame, keys)
        prepared = _prepare(frame, cols)
        view = f"_spx_incoming_{uuid.uuid4().hex}"
        con.register(view, prepared)
        try:
            deleted = 0
            if delete_all:
                deleted += _count(con.execute(f"DELETE FROM {_q(name)}"))
            if delete_where:
                where, params = _where(delete_where)
                deleted += _count(con.execute(f"DELETE FROM {_q(name)} WHERE {where}", params))
            if keys and len(prepared):
                match = " AND ".join(
                    f"{_q(name)}.{_q(k)} = CAST(src.{_q(k)} AS {cols[k].type})" for k in keys
                )
                deleted += _count(
                    con.execute(
                        f"DELETE FROM {_q(name)} WHERE EXISTS (SELECT 1 FROM {_q(view)} AS src WHERE {match})"
                    )
                )
            if len(prepared):
                _insert(con, name, view, prepared, cols)
        except duckdb.Error as exc:
            raise WarehouseWriteError(
                f"writing {len(frame)} rows to {name} failed and was rolled back: {_first_line(exc)}"
            ) from exc
        finally:
            # After a failed statement the transaction is aborted and refuses even this; the view
            # belongs to the connection, which closes with the transaction anyway.
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)
        return WriteResult(inserted=len(prepared), deleted=deleted)


# -- helpers --------------------------------------------------------------------------------


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {str(r[0]).lower() for r in rows}


def _columns(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> list[ColumnInfo]:
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    if not rows:
        raise WarehouseError(f"table {table} does not exist in warehouse {path}; run ensure_schema() first")
    return [ColumnInfo(name=str(r[0]), type=str(r[1]), nullable=str(r[2]).upper() == "YES") for r in rows]


def _check_columns(
    table: str,
    frame: pd.DataFrame,
    cols: Mapping[str, ColumnInfo],
    keys: Sequence[str],
    delete_where: Mapping[str, object],
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise WarehouseWriteError(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise WarehouseWriteError(f"{table}: frame has duplicate column names: {', '.join(duplicated)}")
    unknown = [n for n in names if n not in cols]
    if unknown:
        raise WarehouseWriteError(f"{table}: frame has columns the table does not have: {', '.join(unknown)}")
    bad_keys = [k for k in keys if k not in cols or k not in names]
    if bad_keys:
        raise WarehouseWriteError(
            f"{table}: key_columns {', '.join(bad_keys)} must be columns of both the table and the frame"
        )
    bad_where = [k for k in delete_where if k not in cols]
    if bad_where:
        raise WarehouseWriteError(f"{table}: delete_where names unknown columns: {', '.join(bad_where)}")


def _check_keys(table: str, frame: pd.DataFrame, keys: Sequence[str]) -> None:
    if frame.empty:
        return
    for key in keys:
        if frame[key].isna().any():
            raise WarehouseWriteError(f"{table}: key column {key} has missing values")
    dupes = frame.duplicated(subset=list(keys), keep=False)
    if dupes.any():
        first = frame.loc[dupes, list(keys)].iloc[0].to_dict()
        raise WarehouseWriteError(
            f"{table}: frame has {int(dupes.sum())} rows sharing a key, e.g. {first}; keys must be unique"
        )


def _prepare(frame: pd.DataFrame, cols: Mapping[str, ColumnInfo]) -> pd.DataFrame:
    """Object columns DuckDB cannot infer reliably become text it can CAST exactly."""
    out = frame.reset_index(drop=True).copy()
    for name in out.columns:
        series = out[name]
        declared = cols[str(name)].type.upper()
        if series.dtype != object:
            continue
        if declared.startswith("DECIMAL"):
            out[name] = series.map(_decimal_text).astype(object)
        elif declared == "JSON":
            out[name] = series.map(_json_text).astype(object)
    return out


def _decimal_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, bool):
        raise WarehouseWriteError(f"boolean {value!r} given for a DECIMAL column")
    return format(Decimal(str(value)), "f")


def _json_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, view: str, frame: pd.DataFrame, cols: Mapping[str, ColumnInfo]
) -> None:
    names = [str(c) for c in frame.columns]
    target = ", ".join(_q(n) for n in names)
    select = ", ".join(f"CAST({_q(n)} AS {cols[n].type}) AS {_q(n)}" for n in names)
    con.execute(f"INSERT INTO {_q(table)} ({target}) SELECT {select} FROM {_q(view)}")


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


def _count(result: duckdb.DuckDBPyConnection) -> int:
    row = result.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
