"""The analysts' side of the warehouse: published Parquet files and a read-only catalog of views.

DuckDB lets one process write a database file, and a reader's lock blocks that writer (and the
writer's lock fails the reader). So analysts never open the file runs write. Every publication of
a run's stage exports that stage's rows as immutable Parquet files into a directory of its own,
moved into ``<warehouse>_published/`` in one atomic rename; a small DuckDB file of views
(``<warehouse>_analyst.duckdb``) reads them. Nobody ever opens that catalog for writing: when its
views must change it is rebuilt beside itself and swapped in with ``os.replace``, so a reader keeps
the version it opened. New publications show up in the views without touching the catalog.

Views defined in ``sql/analyst/`` (summaries such as blocked reasons per day) are created on top
of the table views, with their descriptions, whenever the catalog is built.

Each view shows, for every primary key, the row of the newest publication that holds it (a later
run's recommendation for the same key replaces an earlier one, as in the writer's tables). Only
published directories are read, so rows of a run that died are never in view.

The layout (one directory per publication, ``<seq>-<stage>-<run>/<table>.parquet``) is also what a
warehouse with many writers can share: any writer can export a directory; publishing it is the
rename.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from spx_pipeline.settings import Settings
from spx_pipeline.storage.paths import ANALYST_VIEWS_DIR, WAREHOUSE_DDL_DIR, warehouse_path
from spx_pipeline.storage.warehouse.base import quote_identifier as _q
from spx_pipeline.storage.warehouse.base import sql_literal as _lit
from spx_pipeline.storage.warehouse.queries import read_named_query
from spx_pipeline.storage.warehouse.schema import TableSpec, ddl_digest, ddl_scripts, warehouse_schema

CATALOG_FORMAT: Final = 3  # 2: views carry the DDL's descriptions; 3: views of sql/analyst
SEQ_DIGITS: Final = 12
SCHEMA_DIR: Final = "0" * SEQ_DIGITS + "-schema-ddl"
PUBLICATION_FILE: Final = "_publication"
_DIR_NAME = re.compile(rf"^(?P<seq>[0-9]{{{SEQ_DIGITS}}})-(?P<stage>[a-z_]+)-(?P<run>[A-Za-z0-9_-]+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class AnalystCopyError(RuntimeError):
    """The analyst copy is missing or cannot be read; the message names the path."""


@dataclass(frozen=True)
class AnalystPaths:
    """Where the analyst copy of one warehouse file lives (beside it)."""

    published_dir: Path
    staging_dir: Path
    catalog: Path

    @classmethod
    def for_warehouse(cls, path: Path) -> AnalystPaths:
        stem = path.name.removesuffix(".duckdb")
        return cls(
            published_dir=path.with_name(f"{stem}_published"),
            staging_dir=path.with_name(f"{stem}_staging"),
            catalog=path.with_name(f"{stem}_analyst.duckdb"),
        )


def publication_dir_name(seq: int, stage: str, run_id: str) -> str:
    """``<seq>-<stage>-<run>``: sortable, and the seq is readable from any file path inside it."""
    return f"{seq:0{SEQ_DIGITS}d}-{stage}-{_UNSAFE.sub('_', run_id)}"


def published_seqs(paths: AnalystPaths) -> dict[int, str]:
    """seq -> directory name of every publication present in the analyst copy (schema excluded)."""
    if not paths.published_dir.is_dir():
        return {}
    found: dict[int, str] = {}
    for entry in os.scandir(paths.published_dir):
        match = _DIR_NAME.match(entry.name)
        if match and entry.is_dir() and int(match["seq"]) > 0:
            found[int(match["seq"])] = entry.name
    return found


def analyst_view_scripts(directory: Path = ANALYST_VIEWS_DIR) -> list[str]:
    """The SQL of ``sql/analyst/*.sql`` in file-name order: views over the table views, described."""
    return [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.sql"))]


def ensure_catalog(paths: AnalystPaths, ddl_dir: Path = WAREHOUSE_DDL_DIR) -> bool:
    """Create or refresh the schema files and the catalog of views; True when (re)built.

    Readers are never blocked: the schema directory and the catalog are written beside their
    final place and renamed over it.
    """
    schema = warehouse_schema(ddl_dir)
    views = analyst_view_scripts()
    digest = "\n".join([schema.digest, *views])
    ddl_hash = hashlib.sha256(f"format {CATALOG_FORMAT}\n{digest}".encode()).hexdigest()
    if _seen_current(paths, ddl_hash) or _catalog_matches(paths, ddl_hash):
        _remember_current(paths, ddl_hash)
        return False
    paths.published_dir.mkdir(parents=True, exist_ok=True)
    paths.staging_dir.mkdir(parents=True, exist_ok=True)
    _write_schema_files(paths, ddl_dir)
    tmp = paths.catalog.with_name(f".{paths.catalog.name}.{uuid.uuid4().hex}.tmp")
    con = duckdb.connect(str(tmp))
    try:
        con.begin()  # one commit for the whole catalog, not one per statement
        for table, spec in schema.tables.items():
            if table == "run_publications":
                continue
            con.execute(f"CREATE VIEW {_q(table)} AS {_latest_rows_sql(paths, table, spec.primary_key)}")
        glob = _lit((paths.published_dir / "*" / f"{PUBLICATION_FILE}.parquet").as_posix())
        con.execute(
            "CREATE VIEW run_publications AS SELECT * EXCLUDE (filename) FROM "
            f"read_parquet({glob}, filename = true, union_by_name = true) ORDER BY seq"
        )
        con.execute(";\n".join(_describe_view_sql(spec) for spec in schema.tables.values()))
        for script in views:
            con.execute(script)
        con.execute("CREATE TABLE _spx_catalog (format INTEGER, ddl_hash VARCHAR, published_dir VARCHAR)")
        con.execute(
            "INSERT INTO _spx_catalog VALUES (?, ?, ?)",
            [CATALOG_FORMAT, ddl_hash, str(paths.published_dir.resolve())],
        )
        con.commit()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, paths.catalog)
    _remember_current(paths, ddl_hash)
    return True


# Catalogs this process checked, by path: (inode, size, mtime) of the file it found current. Opening a
# DuckDB file costs milliseconds and every publication asks; an unchanged file needs no second look.
_current: dict[Path, tuple[int, int, int, str]] = {}


def _fingerprint(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _seen_current(paths: AnalystPaths, ddl_hash: str) -> bool:
    seen = _current.get(paths.catalog)
    found = _fingerprint(paths.catalog)
    return (
        seen is not None
        and found is not None
        and (*found, ddl_hash) == seen
        and (paths.published_dir / SCHEMA_DIR).is_dir()
    )


def _remember_current(paths: AnalystPaths, ddl_hash: str) -> None:
    found = _fingerprint(paths.catalog)
    if found is not None:
        _current[paths.catalog] = (*found, ddl_hash)


def _latest_rows_sql(paths: AnalystPaths, table: str, key: Sequence[str]) -> str:
    """Every published row of ``table``, the newest publication winning for each primary key."""
    glob = _lit((paths.published_dir.resolve() / "*" / f"{table}.parquet").as_posix())
    seq = rf"CAST(regexp_extract(filename, '([0-9]{{{SEQ_DIGITS}}})-[^/]*/[^/]*$', 1) AS BIGINT)"
    partition = ", ".join(_q(k) for k in key)
    return (
        "SELECT * EXCLUDE (filename, _spx_seq) FROM ("
        f"SELECT *, {seq} AS _spx_seq FROM read_parquet({glob}, filename = true, union_by_name = true)"
        f") QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _spx_seq DESC) = 1"
    )


def _describe_view_sql(spec: TableSpec) -> str:
    """The table's descriptions on its view, so analysts read them with ``duckdb_columns()`` here too."""
    statements = [f"COMMENT ON VIEW {_q(spec.name)} IS {_lit(spec.description)}"]
    statements += [
        f"COMMENT ON COLUMN {_q(spec.name)}.{_q(column.name)} IS {_lit(column.description)}"
        for column in spec.columns
    ]
    return ";\n".join(statements)


def _catalog_matches(paths: AnalystPaths, ddl_hash: str) -> bool:
    if not paths.catalog.is_file() or not (paths.published_dir / SCHEMA_DIR).is_dir():
        return False
    try:
        con = duckdb.connect(str(paths.catalog), read_only=True)
    except duckdb.Error:
        return False
    try:
        row = con.execute("SELECT format, ddl_hash, published_dir FROM _spx_catalog").fetchone()
    except duckdb.Error:
        return False
    finally:
        con.close()
    return row == (CATALOG_FORMAT, ddl_hash, str(paths.published_dir.resolve()))


def _write_schema_files(paths: AnalystPaths, ddl_dir: Path) -> None:
    """Empty Parquet files with every table's columns: the views' types before any publication."""
    staged = paths.staging_dir / f"schema-{uuid.uuid4().hex}"
    staged.mkdir(parents=True)
    scripts = ddl_scripts(ddl_dir)
    digest = ddl_digest(scripts)
    made = _SCHEMA_FILES.get(digest)
    if made is None:
        _export_schema_files(scripts, staged)
        _SCHEMA_FILES.setdefault(digest, {p.name: p.read_bytes() for p in sorted(staged.glob("*.parquet"))})
    else:
        for name, data in made.items():
            (staged / name).write_bytes(data)
    final = paths.published_dir / SCHEMA_DIR
    old = paths.staging_dir / f"old-schema-{uuid.uuid4().hex}"
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    shutil.rmtree(old, ignore_errors=True)


# DDL digest -> file name -> bytes of the empty Parquet files: they depend on the DDL's text alone
# (keyed by it as read now), so a process that builds many catalogs (the test suite, a bench)
# exports them once.
_SCHEMA_FILES: dict[str, dict[str, bytes]] = {}


def _export_schema_files(scripts: Sequence[str], into: Path) -> None:
    con = duckdb.connect()
    try:
        for script in scripts:
            con.execute(script)
        tables = [
            str(r[0])
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for table in tables:
            name = PUBLICATION_FILE if table == "run_publications" else table
            target = _lit((into / f"{name}.parquet").as_posix())
            con.execute(f"COPY (SELECT * FROM {_q(table)} LIMIT 0) TO {target} (FORMAT parquet)")
    finally:
        con.close()


class AnalystCatalog:
    """Read-only SQL over the published analyst copy of a warehouse (never takes the writer's lock)."""

    def __init__(self, path: str | Path | None = None) -> None:
        # The copy is the same whichever backend wrote it, but a mistyped SPX_WAREHOUSE_BACKEND is
        # a mistyped deployment: refused here as the pipeline refuses it, not silently ignored.
        Settings.from_env().warehouse_backend_name()
        self.warehouse_path = warehouse_path(path)
        self.paths = AnalystPaths.for_warehouse(self.warehouse_path)

    @property
    def catalog_path(self) -> Path:
        return self.paths.catalog

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.paths.catalog.is_file():
            raise AnalystCopyError(
                f"no published data yet: {self.paths.catalog} does not exist (it appears when a run "
                f"publishes into the warehouse {self.warehouse_path}); run the pipeline first"
            )
        try:
            con = duckdb.connect(str(self.paths.catalog), read_only=True)
        except duckdb.Error as exc:
            raise AnalystCopyError(f"cannot open the analyst catalog {self.paths.catalog}: {exc}") from exc
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            try:
                return con.execute(sql, params).df() if params is not None else con.execute(sql).df()
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise AnalystCopyError(f"query on {self.paths.catalog} failed: {first}") from exc

    def named_query(self, name: str) -> pd.DataFrame:
        return self.query(read_named_query(name))

    def __repr__(self) -> str:
        return f"AnalystCatalog({str(self.paths.catalog)!r})"
