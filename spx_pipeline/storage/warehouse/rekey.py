"""Bring a warehouse file made by an earlier DDL to the DDL's primary keys, rows kept.

``CREATE TABLE IF NOT EXISTS`` leaves an existing table as it is, and DuckDB cannot alter a
primary key in place. A table whose key the DDL changed (``contract_recommendations`` gained
``run_id`` so every run's rows are kept) is renamed aside, created anew by the DDL, refilled from
the old rows and the old one dropped, all inside the schema transaction: a failure leaves the file
as it was. Only a finer key is supported this way (every old row stays unique under it).
"""

from __future__ import annotations

import duckdb

from spx_pipeline.storage.warehouse.base import quote_identifier as _q
from spx_pipeline.storage.warehouse.schema import WarehouseSchema

ASIDE_SUFFIX = "__spx_rekey"


def primary_keys(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """table -> primary-key columns of every table of the main schema that has one."""
    rows = con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND schema_name = 'main'"
    ).fetchall()
    return {str(table).lower(): tuple(str(c) for c in columns) for table, columns in rows}


def tables_with_changed_keys(con: duckdb.DuckDBPyConnection, schema: WarehouseSchema) -> list[str]:
    """Existing tables whose primary key differs from the one the DDL gives them."""
    found = primary_keys(con)
    return sorted(
        name
        for name, spec in schema.tables.items()
        if name in found and spec.primary_key and found[name] != spec.primary_key
    )


def set_aside(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Rename the tables out of the DDL's way (inside the caller's transaction)."""
    for table in tables:
        con.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(table + ASIDE_SUFFIX)}")


def refill(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Copy the set-aside rows into the tables the DDL just created, then drop the old tables."""
    for table in tables:
        aside = _q(table + ASIDE_SUFFIX)
        con.execute(f"INSERT INTO {_q(table)} BY NAME SELECT * FROM {aside}")
        con.execute(f"DROP TABLE {aside}")
