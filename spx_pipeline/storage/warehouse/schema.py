"""The warehouse schema exactly as the DDL in ``sql/warehouse`` defines it, read back from DuckDB.

The SQL files are the one statement of every table, column, type, key and description; Python
asks DuckDB what they mean (by applying them to an in-memory database) instead of restating them,
so the writers' column lists, the published views, the analyst catalog and Dagster's column
schemas cannot drift from the DDL.

A DDL file whose header holds a ``-- tables: a, b`` line is a template applied once per table:
``{table}`` becomes the name, and a line ending in ``-- only: <table>`` is kept for that table
alone (two tables sharing one definition, e.g. scheduled and ad-hoc recommendations).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spx_pipeline.storage.paths import WAREHOUSE_DDL_DIR

_TEMPLATE_TABLES = re.compile(r"^--\s*tables:\s*(?P<names>.+)$", re.MULTILINE)
_ONLY = re.compile(r"--\s*only:\s*(?P<table>[A-Za-z_][A-Za-z0-9_]*)\s*$")


@dataclass(frozen=True)
class ColumnSpec:
    """One column: DuckDB type text, nullability and the description from ``COMMENT ON COLUMN``."""

    name: str
    type: str
    nullable: bool
    description: str


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table as the DDL defines it."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class WarehouseSchema:
    """Every table of the DDL, and a digest of the DDL text (changes whenever the DDL does)."""

    digest: str
    tables: dict[str, TableSpec]


def ddl_files(directory: Path | None = None) -> list[Path]:
    """The warehouse DDL files in the order they apply (file-name order: 001_, 002_, ...)."""
    return sorted((directory or WAREHOUSE_DDL_DIR).glob("*.sql"))


def render_ddl(text: str) -> str:
    """The SQL a DDL file stands for: itself, or a template applied to each of its tables."""
    header = _TEMPLATE_TABLES.search(text)
    if header is None:
        return text
    names = [name.strip() for name in header["names"].split(",") if name.strip()]
    rendered: list[str] = []
    for name in names:
        lines = []
        for line in text.splitlines():
            only = _ONLY.search(line)
            if only is not None and only["table"] != name:
                continue
            lines.append(line.replace("{table}", name))
        rendered.append("\n".join(lines))
    return "\n\n".join(rendered)


def ddl_scripts(directory: Path | None = None) -> list[str]:
    """The SQL of every DDL file, templates rendered, in the order it applies."""
    return [render_ddl(path.read_text(encoding="utf-8")) for path in ddl_files(directory)]


def ddl_digest(scripts: Sequence[str]) -> str:
    """What names a DDL's text: equal digests, equal DDL."""
    return hashlib.sha256("\n".join(scripts).encode("utf-8")).hexdigest()


@cache
def warehouse_schema(directory: Path = WAREHOUSE_DDL_DIR) -> WarehouseSchema:
    """The schema the DDL in ``directory`` creates (applied once per process to an in-memory DuckDB)."""
    import duckdb

    scripts = ddl_scripts(directory)
    digest = ddl_digest(scripts)
    con = duckdb.connect()
    try:
        for script in scripts:
            con.execute(script)
        tables = con.execute(
            "SELECT table_name, coalesce(comment, '') FROM duckdb_tables() "
            "WHERE schema_name = 'main' ORDER BY table_name"
        ).fetchall()
        columns = con.execute(
            "SELECT table_name, column_name, data_type, is_nullable, coalesce(comment, '') "
            "FROM duckdb_columns() WHERE schema_name = 'main' ORDER BY table_name, column_index"
        ).fetchall()
        keys = con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY' AND schema_name = 'main'"
        ).fetchall()
    finally:
        con.close()
    by_table: dict[str, list[ColumnSpec]] = {}
    for table, name, type_, nullable, comment in columns:
        by_table.setdefault(str(table), []).append(
            ColumnSpec(name=str(name), type=str(type_), nullable=bool(nullable), description=str(comment))
        )
    primary = {str(table): tuple(str(c) for c in names) for table, names in keys}
    specs = {
        str(table): TableSpec(
            name=str(table),
            description=str(comment),
            columns=tuple(by_table.get(str(table), ())),
            primary_key=primary.get(str(table), ()),
        )
        for table, comment in tables
    }
    return WarehouseSchema(digest=digest, tables=specs)


def table_spec(table: str, directory: Path = WAREHOUSE_DDL_DIR) -> TableSpec:
    """The DDL's definition of ``table`` (KeyError naming the known tables when there is none)."""
    tables = warehouse_schema(directory).tables
    if table not in tables:
        raise KeyError(f"{table!r} is not a warehouse table; known tables: {', '.join(sorted(tables))}")
    return tables[table]


def column_names(table: str) -> tuple[str, ...]:
    """The columns of ``table`` in DDL order: the column list every writer of it uses."""
    return table_spec(table).column_names
