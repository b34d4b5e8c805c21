"""A new warehouse file copied from the process's blank one is the file the DDL would have made."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from spx_pipeline.storage.warehouse import blank, store
from spx_pipeline.storage.warehouse.analyst import SCHEMA_DIR
from spx_pipeline.storage.warehouse.store import Warehouse

# What a file's schema is: tables and columns with their types, nullability, defaults and
# descriptions, constraints (keys, checks), indexes, views and schemas.
_CATALOG = {
    "tables": "SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY ALL",
    "columns": (
        "SELECT schema_name, table_name, column_name, column_index, data_type, is_nullable, "
        "column_default, comment FROM duckdb_columns() WHERE database_name = current_database() "
        "ORDER BY ALL"
    ),
    "constraints": (
        "SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints() "
        "ORDER BY ALL"
    ),
    "indexes": "SELECT schema_name, table_name, index_name, sql FROM duckdb_indexes() ORDER BY ALL",
    "views": ("SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL"),
}


def _catalog(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in _CATALOG.items()}


def _schema_files(path: Path) -> dict[str, bytes]:
    schema_dir = Warehouse(path).analyst_paths.published_dir / SCHEMA_DIR
    return {p.name: p.read_bytes() for p in sorted(schema_dir.iterdir())}


def test_a_warehouse_started_from_the_blank_is_the_one_the_ddl_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed: list[bool] = []
    monkeypatch.setattr(store, "place_blank", lambda *a: placed.append(blank.place_blank(*a)) or placed[-1])
    copied = Warehouse(tmp_path / "copied" / "w.duckdb")
    copied.path.parent.mkdir()
    assert set(copied.ensure_schema()) == copied.tables  # every table reported created
    copied.release()
    assert placed == [True]  # the new file started from the blank

    monkeypatch.setattr(store, "place_blank", lambda path, ddl_dir: False)  # the DDL applied as before
    applied = Warehouse(tmp_path / "applied" / "w.duckdb")
    applied.path.parent.mkdir()
    assert set(applied.ensure_schema()) == applied.tables
    applied.release()

    ours, reference = _catalog(copied.path), _catalog(applied.path)
    assert len(ours["columns"]) > 100 and all(row[-1] for row in ours["tables"] if row[0] == "main")
    assert ours == reference
    # The analysts' empty schema files are the ones exported for this DDL, byte for byte.
    assert _schema_files(copied.path) == _schema_files(applied.path)


def test_the_blank_never_replaces_a_file_that_is_there(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"somebody else's file")
    assert not blank.place_blank(path, Warehouse(path).ddl_dir)
    assert path.read_bytes() == b"somebody else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["w.duckdb"]  # no staged copy left behind


def test_a_blank_that_cannot_be_written_leaves_the_error_to_the_ddl(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    path = tmp_path / "a-file" / "w.duckdb"
    assert not blank.place_blank(path, Warehouse(path).ddl_dir)
    assert not blank.place_blank(tmp_path / "missing" / "w.duckdb", Warehouse(path).ddl_dir)
    assert not (tmp_path / "missing").exists()
