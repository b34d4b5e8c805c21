"""What every warehouse module shares: its errors, its small result types and column introspection.

Split out so the writer (``writes``) and the connection holder (``store``) can both use
them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


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


def quote_identifier(identifier: str) -> str:
    """A DuckDB identifier in double quotes (embedded quotes doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A DuckDB string literal in single quotes (embedded quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def table_columns(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> list[ColumnInfo]:
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    if not rows:
        raise WarehouseError(f"table {table} does not exist in warehouse {path}; run ensure_schema() first")
    return [ColumnInfo(name=str(r[0]), type=str(r[1]), nullable=str(r[2]).upper() == "YES") for r in rows]


def first_count(result: duckdb.DuckDBPyConnection) -> int:
    """The first column of a statement's first row as a count (a DELETE's rows, a ``count(*)``)."""
    row = result.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
