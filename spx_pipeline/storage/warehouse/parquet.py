"""The Parquet warehouse backend (``SPX_WAREHOUSE_BACKEND=parquet``): many writers, no shared writable file.

The analyst copy already is a warehouse any host can feed: one immutable directory per publication,
``<seq>-<stage>-<run>/<table>.parquet``, and a read-only catalog of views. This backend makes it the
warehouse itself:

* A run writes into a scratch DuckDB file of its own (``<name>_runs/run_<run>.duckdb``) with the
  same validated replace-by-key transactions as the DuckDB backend, so a re-run step never
  duplicates and a failed step changes nothing. No other run ever opens it.
* Publishing a stage exports the run's rows from the scratch file as Parquet into staging, claims
  the next sequence number with an exclusive ``mkdir`` (a writer that loses the race takes the
  next number: no lock, no coordinator), and, once the scratch transaction committed, renames the
  directory into ``<name>_published/``: the publication appears whole or not at all.
* Reads see ``published.<table>`` (the catalog's views: the newest publication's row per key)
  and, unqualified, the same rows overlaid with the run's own scratch rows, which is what the
  DuckDB backend's tables show a run, minus other runs' unpublished rows.

The shared directory needs atomic ``mkdir`` and ``rename`` (a local disk or NFS); a run's steps need
its scratch file, so they share a file system with working locks (the multiprocess executor does).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Final

import duckdb

from spx_pipeline.storage.paths import prepare_parent_dir
from spx_pipeline.storage.warehouse.analyst import (
    SEQ_DIGITS,
    AnalystPaths,
    ensure_catalog,
    publication_dir_name,
    published_seqs,
)
from spx_pipeline.storage.warehouse.base import WarehouseError, first_line
from spx_pipeline.storage.warehouse.base import quote_identifier as _q
from spx_pipeline.storage.warehouse.base import sql_literal as _lit
from spx_pipeline.storage.warehouse.duckdb_open import open_duckdb
from spx_pipeline.storage.warehouse.publication import (
    OpenTransaction,
    check_stage,
    export_publication,
    move_into_place,
    stage_publication,
)
from spx_pipeline.storage.warehouse.schema import ddl_scripts, warehouse_schema

CLAIMS_DIR: Final = "_claims"  # one empty directory per claimed sequence number
_SCRATCH_MARKER: Final = "_spx_scratch"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_CATALOG_RETRIES: Final = 20


class ParquetStore:
    """One run's view of a Parquet warehouse: its scratch file and the shared published directory."""

    def __init__(self, path: Path, *, run_id: str, ddl_dir: Path, lock_timeout: float, setting: str) -> None:
        self.path = path
        self.paths = AnalystPaths.for_warehouse(path)
        self.ddl_dir = ddl_dir
        self.lock_timeout = lock_timeout
        self.setting = setting
        self.database = f"run_{_UNSAFE.sub('_', run_id)}"
        self.scratch = path.with_name(f"{path.name.removesuffix('.duckdb')}_runs") / f"{self.database}.duckdb"

    @property
    def tables(self) -> dict[str, tuple[str, ...]]:
        """Every table -> its primary key."""
        return {name: spec.primary_key for name, spec in warehouse_schema(self.ddl_dir).tables.items()}

    def table_ref(self, table: str) -> str:
        """The run's scratch table, fully qualified (unqualified names are the overlaid views)."""
        return f"{_q(self.database)}.main.{_q(table)}"

    # -- schema and connections -------------------------------------------------------------

    def ensure_schema(self) -> list[str]:
        """The shared published directory and catalog; every table when this call created them."""
        prepare_parent_dir(self.path, setting=self.setting, value=self.path)
        if self.path.is_file():
            raise WarehouseError(
                f"{self.setting}={str(self.path)!r} is a DuckDB warehouse file; the parquet backend keeps "
                f"its files beside it ({self.paths.published_dir.name}/), pick another path or backend"
            )
        for attempt in range(_CATALOG_RETRIES):
            try:
                created = ensure_catalog(self.paths, self.ddl_dir)
                break
            except OSError:  # another writer is swapping the same files in; it ends up current
                if attempt == _CATALOG_RETRIES - 1:
                    raise
                time.sleep(0.05)
        return sorted(self.tables) if created else []

    def open(self, read_only: bool, sql: str | None) -> duckdb.DuckDBPyConnection:
        """A connection with ``published`` attached and views over the tables ``sql`` names (all if None)."""
        if not self.paths.catalog.is_file():
            if read_only:
                raise WarehouseError(
                    f"warehouse {self.paths.published_dir} does not exist yet; run the pipeline "
                    "(or ensure_schema) first"
                )
            self.ensure_schema()
        has_scratch = not read_only or self.scratch.is_file()
        if has_scratch:
            self.scratch.parent.mkdir(exist_ok=True)
            con = open_duckdb(
                self.scratch,
                read_only=read_only,
                lock_timeout=self.lock_timeout,
                locked=lambda holder: (
                    f"run scratch {self.scratch} stayed locked for {self.lock_timeout:.1f}s by {holder}"
                ),
            )
        else:
            con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            if not read_only:
                self._ensure_scratch_schema(con)
            con.execute(f"ATTACH IF NOT EXISTS {_lit(str(self.paths.catalog))} AS published (READ_ONLY)")
            self.create_views(con, sql, scratch=has_scratch)
        except BaseException:
            con.close()
            raise
        return con

    def create_views(self, con: duckdb.DuckDBPyConnection, sql: str | None, *, scratch: bool = True) -> None:
        """Temporary views, named as the tables, over published rows overlaid with the run's own."""
        wanted: Iterable[str] = self.tables if sql is None else _named_tables(sql, self.tables)
        for table in wanted:
            key = self.tables[table]
            published = f"SELECT * FROM published.{_q(table)}"
            if scratch:
                own = self.table_ref(table)
                if key:
                    match = " AND ".join(f"s.{_q(k)} IS NOT DISTINCT FROM p.{_q(k)}" for k in key)
                    published = (
                        f"SELECT * FROM published.{_q(table)} AS p "
                        f"WHERE NOT EXISTS (SELECT 1 FROM {own} AS s WHERE {match})"
                    )
                body = f"SELECT * FROM {own} UNION ALL BY NAME {published}"
            else:
                body = published
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(table)} AS {body}")

    def _ensure_scratch_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        digest = warehouse_schema(self.ddl_dir).digest
        marker = self.table_ref(_SCRATCH_MARKER)
        try:
            row = con.execute(f"SELECT digest FROM {marker}").fetchone()
        except duckdb.CatalogException:
            row = None
        if row is not None and row[0] == digest:
            return
        con.begin()
        try:
            for script in ddl_scripts(self.ddl_dir):
                con.execute(script)
            con.execute(f"CREATE OR REPLACE TABLE {marker} (digest VARCHAR)")
            con.execute(f"INSERT INTO {marker} VALUES (?)", [digest])
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise WarehouseError(f"preparing run scratch {self.scratch} failed: {first_line(exc)}") from exc

    # -- publication ------------------------------------------------------------------------

    def publish(
        self, tx: OpenTransaction, run_id: str, stage: str, *, published_by: str, published_at: datetime
    ) -> int:
        """Export the stage's scratch rows, claim a sequence number, rename into place after commit."""
        check_stage(stage)
        seq = claim_seq(self.paths)
        stage_publication(
            tx,
            self.paths,
            seq=seq,
            run_id=run_id,
            stage=stage,
            published_at=published_at,
            published_by=published_by,
            source=self.table_ref,
        )
        tx.after_commit(lambda: self.repair_own(tx.con), key="repair_own_publications")
        return seq

    def repair_own(self, con: duckdb.DuckDBPyConnection) -> int:
        """Export again this run's publications a crash left committed but never renamed into place."""
        recorded = con.execute(
            f"SELECT seq, run_id, stage FROM {self.table_ref('run_publications')}"
        ).fetchall()
        present = published_seqs(self.paths)
        repaired = 0
        for seq, run_id, stage in recorded:
            if int(seq) in present:
                continue
            name = publication_dir_name(int(seq), str(stage), str(run_id))
            staged = export_publication(
                con,
                self.paths,
                seq=int(seq),
                stage=str(stage),
                run_id=str(run_id),
                name=name,
                source=self.table_ref,
            )
            move_into_place(self.paths, staged, name)
            repaired += 1
        return repaired


def claim_seq(paths: AnalystPaths) -> int:
    """The next free publication number, taken by an exclusive ``mkdir`` (losers try the next one)."""
    claims = paths.published_dir / CLAIMS_DIR
    claims.mkdir(parents=True, exist_ok=True)
    taken = [int(entry.name) for entry in os.scandir(claims) if entry.name.isdigit()]
    seq = max([*taken, *published_seqs(paths)], default=0) + 1
    while True:
        try:
            (claims / f"{seq:0{SEQ_DIGITS}d}").mkdir()
            return seq
        except FileExistsError:
            seq += 1


def _named_tables(sql: str, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if re.search(rf"\b{re.escape(t)}\b", sql, re.IGNORECASE)]
