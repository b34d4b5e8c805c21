"""Publishing a run's stage: its rows become visible to downstream assets and analysts, whole.

A stage is the set of tables one part of the pipeline completes together (the portfolio sync
writes credentials, balances, failures and snapshots over three steps). Its rows are written as
the run goes, but nothing reads them until the stage is published: a ``run_publications`` record,
written last in the same DuckDB transaction as the stage's final rows. Downstream assets read the
``published.*`` views (rows of published runs only); analysts read the Parquet copy exported in
that same transaction and moved into place right after the commit. A run that dies part-way
leaves rows that no view shows, and the next publication repairs the analyst copy (a directory
missing after a crash between commit and rename is exported again; a directory of a publication
the warehouse does not have is removed).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

import duckdb

from spx_pipeline.storage.paths import WAREHOUSE_DDL_DIR
from spx_pipeline.storage.warehouse.analyst import (
    PUBLICATION_FILE,
    AnalystPaths,
    ensure_catalog,
    publication_dir_name,
    published_seqs,
)
from spx_pipeline.storage.warehouse.base import quote_identifier

# stage -> its tables, in export order.
STAGE_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "portfolio_sync": ("broker_credentials", "tradier_balances", "sync_failures", "portfolio_snapshots"),
    "market_data": ("spx_option_chain",),
    "recommendations": ("contract_recommendations",),
    "setups": ("spx_setups",),
    "orders": ("order_tickets",),
    "adhoc_recommendations": ("adhoc_contract_recommendations",),
    # Reconciliation's reads of the broker: a failed fetch is a sync_failures row of the same run.
    "broker_state": ("tradier_positions", "tradier_orders", "sync_failures"),
    "execution_fidelity": ("execution_fidelity",),
    "position_reconciliation": ("position_reconciliation",),
    "execution_guardrails": ("execution_guardrails",),
    "placements": ("order_placements",),
    # The app database's trades, copied: versions of trades and orders, and their events.
    "trades": ("trades", "trade_orders", "trade_events"),
}
# The column holding the run id of a row: ``run_id`` but where a table names it otherwise.
RUN_COLUMN: Final[Mapping[str, str]] = {"adhoc_contract_recommendations": "request_run_id"}
# stage -> (table, column holding the run id of the row), in export order.
STAGES: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    stage: tuple((table, RUN_COLUMN.get(table, "run_id")) for table in tables)
    for stage, tables in STAGE_TABLES.items()
}
PUBLISHED_SCHEMA: Final = "published"


class PublicationError(RuntimeError):
    """A publication names an unknown stage or could not be exported."""


class OpenTransaction(Protocol):
    """What publishing needs of an open write transaction (``writes.WarehouseTransaction`` is one).

    Declared here, below the writer, so the writer can publish without this module importing it.
    """

    @property
    def con(self) -> duckdb.DuckDBPyConnection: ...

    def after_commit(
        self,
        action: Callable[[], None],
        *,
        on_discard: Callable[[], None] | None = None,
        key: str | None = None,
    ) -> None: ...


def stage_of(table: str) -> tuple[str, str] | None:
    """(stage, run-id column) of a warehouse table, or None for tables outside any stage."""
    for stage, tables in STAGES.items():
        for name, column in tables:
            if name == table:
                return stage, column
    return None


def self_contained_stage(table: str) -> tuple[str, str] | None:
    """(stage, run-id column) when ``table`` is a stage by itself: writing it completes the stage."""
    found = stage_of(table)
    if found is None or len(STAGES[found[0]]) != 1:
        return None
    return found


def published_views_sql() -> list[str]:
    """``published.<table>``: the rows of published runs only, for downstream assets."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {PUBLISHED_SCHEMA}"]
    # A table may complete several stages (sync_failures: the balance sync and the broker reads).
    stages_of: dict[tuple[str, str], list[str]] = {}
    for stage, tables in STAGES.items():
        for table, column in tables:
            stages_of.setdefault((table, column), []).append(f"'{stage}'")
    for (table, column), stages in stages_of.items():
        published = f"SELECT run_id FROM main.run_publications WHERE stage IN ({', '.join(stages)})"
        statements.append(
            f'CREATE OR REPLACE VIEW {PUBLISHED_SCHEMA}."{table}" AS SELECT * FROM main."{table}" '
            f'WHERE "{column}" IN ({published})'
        )
    return statements


def check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise PublicationError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")


def publish_stage(
    tx: OpenTransaction,
    run_id: str,
    stage: str,
    *,
    published_by: str,
    published_at: datetime,
    warehouse_path: Path,
    ddl_dir: Path,
) -> int:
    """Record the publication (last write of the transaction) and stage its analyst copy.

    The DuckDB backend's way (the Parquet backend claims its number in ``parquet``). The Parquet
    files are exported inside the transaction (they see its uncommitted rows) into a staging
    directory, which is moved into the published directory once the commit succeeded.
    """
    check_stage(stage)
    row = tx.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM run_publications").fetchone()
    seq = int(row[0]) if row else 1
    paths = AnalystPaths.for_warehouse(warehouse_path)
    stage_publication(
        tx, paths, seq=seq, run_id=run_id, stage=stage, published_at=published_at, published_by=published_by
    )
    tx.after_commit(lambda: repair_analyst_copy(tx.con, paths, ddl_dir), key="repair_analyst_copy")
    return seq


def repair_analyst_copy(
    con: duckdb.DuckDBPyConnection, paths: AnalystPaths, ddl_dir: Path = WAREHOUSE_DDL_DIR
) -> dict[str, int]:
    """Make the analyst copy hold exactly the warehouse's publications; counts of what was fixed.

    Call it holding the warehouse for writing (no publication can then be half-way): staging
    directories left are orphans of writers that died, publications recorded but absent were
    committed by a writer that died before its rename (exported again now), and directories the
    warehouse has no record of (a warehouse restored from an older backup) are removed.
    """
    ensure_catalog(paths, ddl_dir)
    recorded = {
        int(seq): (str(run_id), str(stage))
        for seq, run_id, stage in con.execute("SELECT seq, run_id, stage FROM run_publications").fetchall()
    }
    present = published_seqs(paths)
    fixed = {"orphans_removed": 0, "reexported": 0, "unknown_removed": 0}
    if paths.staging_dir.is_dir():
        for entry in os.scandir(paths.staging_dir):
            shutil.rmtree(entry.path, ignore_errors=True)
            fixed["orphans_removed"] += 1
    for seq in sorted(set(recorded) - set(present)):
        run_id, stage = recorded[seq]
        name = publication_dir_name(seq, stage, run_id)
        staged = export_publication(con, paths, seq=seq, stage=stage, run_id=run_id, name=name)
        os.replace(staged, paths.published_dir / name)
        fixed["reexported"] += 1
    for seq in sorted(set(present) - set(recorded)):
        shutil.rmtree(paths.published_dir / present[seq], ignore_errors=True)
        fixed["unknown_removed"] += 1
    return fixed


def _count_rows(con: duckdb.DuckDBPyConnection, source: str, column: str, run_id: str) -> int:
    sql = f"SELECT count(*) FROM {source} WHERE {quote_identifier(column)} = ?"
    row = con.execute(sql, [run_id]).fetchone()
    return int(row[0]) if row else 0


def stage_publication(
    tx: OpenTransaction,
    paths: AnalystPaths,
    *,
    seq: int,
    run_id: str,
    stage: str,
    published_at: datetime,
    published_by: str,
    source: Callable[[str], str] = quote_identifier,
) -> None:
    """Record publication ``seq`` and export it into staging; moved into place once committed.

    Both backends publish this way once they have their number; ``source`` names the tables to read
    (the Parquet backend's run scratch tables). The ``run_publications`` row is the transaction's
    last write; a rolled-back transaction removes the staged directory.
    """
    con = tx.con
    counts = {table: _count_rows(con, source(table), column, run_id) for table, column in STAGES[stage]}
    con.execute(
        f"INSERT INTO {source('run_publications')} "
        "(seq, run_id, stage, published_at, published_by, row_counts) VALUES (?, ?, ?, ?, ?, ?)",
        [seq, run_id, stage, published_at, published_by, json.dumps(counts, sort_keys=True)],
    )
    name = publication_dir_name(seq, stage, run_id)
    staged = export_publication(con, paths, seq=seq, stage=stage, run_id=run_id, name=name, source=source)
    tx.after_commit(
        lambda: move_into_place(paths, staged, name),
        on_discard=lambda: shutil.rmtree(staged, ignore_errors=True),
    )


def export_publication(
    con: duckdb.DuckDBPyConnection,
    paths: AnalystPaths,
    *,
    seq: int,
    stage: str,
    run_id: str,
    name: str,
    source: Callable[[str], str] = quote_identifier,
) -> str:
    """Write the stage's rows of ``run_id`` and the publication record as Parquet into staging.

    ``source`` names the table to read (the Parquet backend reads the run's scratch tables).
    """
    staged = paths.staging_dir / name
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    literal = "'" + run_id.replace("'", "''") + "'"  # COPY takes no parameters
    try:
        for table, column in STAGES[stage]:
            target = (staged / f"{table}.parquet").as_posix()
            rows = f'SELECT * FROM {source(table)} WHERE "{column}" = {literal}'
            con.execute(f"COPY ({rows}) TO '{target}' (FORMAT parquet)")
        target = (staged / f"{PUBLICATION_FILE}.parquet").as_posix()
        con.execute(
            f"COPY (SELECT * FROM {source('run_publications')} WHERE seq = {int(seq)}) "
            f"TO '{target}' (FORMAT parquet)"
        )
    except duckdb.Error as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise PublicationError(f"exporting publication {name} to {paths.staging_dir} failed: {exc}") from exc
    return str(staged)


def move_into_place(paths: AnalystPaths, staged: str, name: str) -> None:
    """Publish an exported directory: one rename (its name is unique, so it never replaces one)."""
    paths.published_dir.mkdir(parents=True, exist_ok=True)
    os.replace(staged, paths.published_dir / name)
