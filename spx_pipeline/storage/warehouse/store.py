"""The DuckDB analyst warehouse: schema from ``sql/warehouse`` and idempotent transactional writes.

DuckDB lets one process hold a file for writing at a time, and Dagster runs steps in separate
processes, so every operation opens a short-lived connection and retries (bounded, with backoff)
while another process holds the lock. Writes are "replace by key" in one transaction: a re-run of
the same step replaces its rows instead of duplicating them, and a failure part-way leaves the
table exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final, Unpack

import duckdb

from spx_pipeline.clock import Clock, clock_from_env
from spx_pipeline.settings import WAREHOUSE_BACKEND_VAR, WAREHOUSE_BACKENDS, SettingError, Settings
from spx_pipeline.storage.paths import (
    WAREHOUSE_DDL_DIR,
    prepare_parent_dir,
    warehouse_path,
    warehouse_setting,
)
from spx_pipeline.storage.warehouse.analyst import AnalystPaths, ensure_catalog
from spx_pipeline.storage.warehouse.base import (
    ColumnInfo,
    WarehouseError,
    WarehouseLockedError,
    WarehouseWriteError,
    WriteResult,
    quote_identifier,
    table_columns,
)
from spx_pipeline.storage.warehouse.blank import place_blank
from spx_pipeline.storage.warehouse.duckdb_open import lock_holder, open_duckdb
from spx_pipeline.storage.warehouse.parquet import CLAIMS_DIR, ParquetStore
from spx_pipeline.storage.warehouse.publication import published_views_sql
from spx_pipeline.storage.warehouse.queries import query_names, read_named_query
from spx_pipeline.storage.warehouse.rekey import refill, set_aside, tables_with_changed_keys
from spx_pipeline.storage.warehouse.schema import WarehouseSchema, ddl_scripts, warehouse_schema
from spx_pipeline.storage.warehouse.shared_connection import shared_connection
from spx_pipeline.storage.warehouse.writes import Replacement, WarehouseTransaction

if TYPE_CHECKING:
    import pandas as pd

# Re-exported: callers import the warehouse's public names from here.
__all__ = [
    "ColumnInfo",
    "Warehouse",
    "WarehouseError",
    "WarehouseLockedError",
    "WarehouseTransaction",
    "WarehouseWriteError",
    "WriteResult",
    "lock_holder",
    "query_names",
    "read_named_query",
]

DEFAULT_LOCK_TIMEOUT: Final = 30.0


class Warehouse:
    """The warehouse at ``SPX_WAREHOUSE_PATH`` (default ``data/warehouse.duckdb``).

    ``SPX_WAREHOUSE_BACKEND`` (or ``backend``) picks how it is stored, here and nowhere else:
    ``duckdb``, that one file, or ``parquet``, where ``run_id``'s writes go to a scratch file of
    its own and publications to shared Parquet files beside the path (``warehouse_parquet``).
    Callers use the same methods either way.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        ddl_dir: Path | None = None,
        setting: str | None = None,
        clock: Clock | None = None,
        backend: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.path = warehouse_path(path)
        self.setting = setting or warehouse_setting(path)
        self._clock = clock
        if lock_timeout < 0:
            raise ValueError(f"lock_timeout {lock_timeout!r} must not be negative")
        self.lock_timeout = lock_timeout
        self.ddl_dir = ddl_dir or WAREHOUSE_DDL_DIR
        self.backend = _backend_name(backend)
        # Outside a run (a script, the CLI, a test) the writes of this object are a run of their own.
        self.parquet: ParquetStore | None = (
            ParquetStore(
                self.path,
                run_id=run_id or f"local-{uuid.uuid4().hex[:12]}",
                ddl_dir=self.ddl_dir,
                lock_timeout=lock_timeout,
                setting=self.setting,
            )
            if self.backend == "parquet"
            else None
        )

    @property
    def clock(self) -> Clock:
        """Stamps publications; the process clock (``SPX_NOW`` when pinned) unless one was given."""
        if self._clock is None:
            self._clock = clock_from_env()
        return self._clock

    @property
    def analyst_paths(self) -> AnalystPaths:
        """Where the published analyst copy of this warehouse lives (beside the file)."""
        return AnalystPaths.for_warehouse(self.path)

    @property
    def tables(self) -> frozenset[str]:
        """The allow-list: every table the DDL files create."""
        return frozenset(warehouse_schema(self.ddl_dir).tables)

    # -- connections ----------------------------------------------------------------------

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection (session time zone UTC) for the ``with`` block.

        It is a cursor of the process's shared connection to the file (``shared_connection``:
        opening the file costs far more than a query). Opening retries with exponential backoff
        while another process holds the file lock and gives up after ``lock_timeout`` seconds
        with ``WarehouseLockedError``. A file this process may only read is opened read-only.
        On the Parquet backend every table is a view (published rows overlaid with this run's own).
        """
        with self._connect(read_only, None) as con:
            yield con

    @contextmanager
    def _connect(self, read_only: bool, sql: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """``connect``; on the Parquet backend with views over just the tables ``sql`` names."""
        if self.parquet is not None:
            con = self.parquet.open(read_only, sql)
            try:
                yield con
            finally:
                con.close()
            return
        if read_only and not os.access(self.path, os.W_OK):
            # Only readable, or missing (``_open`` then says the warehouse does not exist yet).
            con = self._open(read_only=True)
            try:
                con.execute("SET TimeZone = 'UTC'")
                yield con
            finally:
                con.close()
            return
        shared = shared_connection(self.path)
        con = shared.borrow(lambda: self._open(read_only=False))
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            shared.give_back(con)

    def release(self) -> None:
        """Let go of the file now rather than after the linger (``shared_connection``).

        For a process that hands the file to another one next (a script before it starts a tool
        that opens the file itself): DuckDB's lock is per process, and such a tool does not wait.
        Calls still running in this process keep the connection; it closes when they end.
        """
        if self.parquet is None:
            shared_connection(self.path).close_now()

    def table_ref(self, table: str) -> str:
        """The SQL name a write targets: the table, or on the Parquet backend the run's scratch table."""
        return quote_identifier(table) if self.parquet is None else self.parquet.table_ref(table)

    def prepare_reads(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Before a read inside a transaction: the Parquet backend's views of the tables it names."""
        if self.parquet is not None:
            self.parquet.create_views(con, sql)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise WarehouseError(
                f"warehouse {self.path} does not exist yet; run the pipeline (or ensure_schema) first"
            )
        if not read_only:
            if self.path.is_dir():
                raise WarehouseError(f"{self.setting}={str(self.path)!r} is a directory, not a DuckDB file")
            prepare_parent_dir(self.path, setting=self.setting, value=self.path)
        return open_duckdb(
            self.path,
            read_only=read_only,
            lock_timeout=self.lock_timeout,
            locked=lambda holder: (
                f"warehouse {self.path} stayed locked for {self.lock_timeout:.1f}s by "
                f"{holder}; analysts read the published copy "
                f"{self.analyst_paths.catalog} (or `spx-pipeline db query`), which never blocks a run"
            ),
        )

    # -- schema ---------------------------------------------------------------------------

    def ensure_schema(self) -> list[str]:
        """Apply every DDL file in order (CREATE ... IF NOT EXISTS); return the tables created.

        A new file starts as a copy of the blank this process made from the same DDL (``blank``).
        A warehouse that already has every table, column and description of the DDL is left as it
        is (re-applying the descriptions costs more than the rest of a small step). A table whose
        primary key the DDL changed is rebuilt with its rows (``warehouse_keys``).
        """
        if self.parquet is not None:
            return self.parquet.ensure_schema()
        if not self.path.exists() and (self.analyst_paths.published_dir / CLAIMS_DIR).is_dir():
            # Its repair would delete every publication the new file has no record of.
            raise WarehouseError(
                f"{self.analyst_paths.published_dir} holds a parquet-backend warehouse; set "
                f"{WAREHOUSE_BACKEND_VAR}=parquet (or give {self.setting} another path)"
            )
        # The process's writer lock, as for a transaction: two runs of one process (threads of a
        # code server, a worker's pool) share one connection, and DDL applied from both at once
        # fails the second with a catalog write-write conflict.
        with _writer_lock(self.path):
            placed = place_blank(self.path, self.ddl_dir)  # a new file: all of the DDL at once
        with _writer_lock(self.path), self.connect() as con:
            tables = _table_comments(con)
            before = set() if placed else set(tables)
            schema = warehouse_schema(self.ddl_dir)
            rekeyed = tables_with_changed_keys(con, schema)
            current = not rekeyed and _schema_is_current(con, tables, schema)
            con.begin()
            try:
                set_aside(con, rekeyed)
                for script in [] if current else ddl_scripts(self.ddl_dir):
                    con.execute(script)
                refill(con, rekeyed)
                for statement in published_views_sql():
                    con.execute(statement)
                con.commit()
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it already
                    con.rollback()
                raise WarehouseError(f"applying warehouse DDL to {self.path} failed: {exc}") from exc
            after = set(tables) if current else set(_table_comments(con))
            # The analysts' catalog exists from the start, so their queries answer "no rows" rather
            # than failing before the first publication; built while this process holds the file,
            # so two processes never build it at once.
            ensure_catalog(self.analyst_paths, self.ddl_dir)
        return sorted(after - before)

    def columns(self, table: str) -> list[ColumnInfo]:
        name = self.check_table(table)
        if self.parquet is not None:
            spec = warehouse_schema(self.ddl_dir).tables[name]
            return [ColumnInfo(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns]
        with self.connect(read_only=True) as con:
            return table_columns(con, name, self.path)

    # -- writes ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[WarehouseTransaction]:
        """One DuckDB transaction for several writes (and a publication): all of them or none.

        Actions registered with ``after_commit`` (moving an exported analyst copy into place) run
        once the commit succeeded, while this process still holds the file.
        """
        # One writer at a time per file in this process (DuckDB's cursors would otherwise race to a
        # write-write conflict at commit); other processes queue on the file lock as before.
        # No views up front on the Parquet backend: ``tx.query`` creates those its SQL names.
        with _writer_lock(self.path), self._connect(False, "") as con:
            tx = WarehouseTransaction(self, con)
            con.begin()
            try:
                yield tx
                con.commit()
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # a failed commit has rolled back already
                    con.rollback()
                tx.discard()
                raise
            tx.committed()

    def replace_rows(
        self, table: str, frame: pd.DataFrame, **replacement: Unpack[Replacement]
    ) -> WriteResult:
        """Idempotent upsert-by-replacement in ONE transaction (see ``WarehouseTransaction``).

        Rows of a stage that is one table (the option chain, recommendations, tickets) are published
        in that same transaction: the write is the stage.
        """
        with self.transaction() as tx:
            result = tx.replace_rows(table, frame, **replacement)
            tx.publish_self_contained(table, frame)
        return result

    def replace_table(self, table: str, frame: pd.DataFrame) -> WriteResult:
        """Replace the whole content of a current-state table (e.g. broker_credentials) atomically."""
        with self.transaction() as tx:
            return tx.replace_table(table, frame)

    # -- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None) -> pd.DataFrame:
        """Run a read query on a read-only connection and return a DataFrame."""
        with self._connect(True, sql) as con:
            return con.execute(sql, params).df() if params is not None else con.execute(sql).df()

    def named_query(self, name: str) -> pd.DataFrame:
        """Run an analyst query from ``sql/queries/<name>.sql`` as it stands."""
        return self.query(read_named_query(name))

    def row_count(self, table: str) -> int:
        name = self.check_table(table)
        sql = f"SELECT count(*) FROM {quote_identifier(name)}"
        with self._connect(True, sql) as con:
            row = con.execute(sql).fetchone()
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


_WRITER_LOCKS: dict[Path, threading.RLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    """The process's lock for writing ``path`` (re-entrant: a transaction may open another read)."""
    key = path.resolve()
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.RLock())


def _backend_name(explicit: str | None) -> str:
    if explicit is None:
        return Settings.from_env().warehouse_backend_name()
    if explicit not in WAREHOUSE_BACKENDS:
        raise SettingError(
            f"warehouse backend {explicit!r} is unknown; use {' or '.join(WAREHOUSE_BACKENDS)}"
        )
    return explicit


def _table_comments(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every table of the warehouse's main schema, with its description ('' when none)."""
    rows = con.execute(
        "SELECT table_name, coalesce(comment, '') FROM duckdb_tables() WHERE schema_name = 'main'"
    ).fetchall()
    return {str(name).lower(): str(comment) for name, comment in rows}


def _schema_is_current(
    con: duckdb.DuckDBPyConnection, tables: dict[str, str], schema: WarehouseSchema
) -> bool:
    """Every table, column, type and description of ``schema`` is already in the warehouse."""
    if any(tables.get(spec.name) != spec.description for spec in schema.tables.values()):
        return False
    columns = set(
        con.execute(
            "SELECT table_name, column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
            "WHERE schema_name = 'main'"
        ).fetchall()
    )
    return all(
        (spec.name, c.name, c.type, c.description) in columns
        for spec in schema.tables.values()
        for c in spec.columns
    )
