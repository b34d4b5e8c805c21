"""A new warehouse file copied from the process's blank one is the file the DDL would have made."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.synchronize import Event as EventType
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


def test_threads_making_one_new_warehouse_at_once_all_succeed_and_one_made_it(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    gate = threading.Barrier(4)
    created: list[list[str]] = []
    errors: list[BaseException] = []

    def make() -> None:
        gate.wait(timeout=60)
        try:
            created.append(Warehouse(path).ensure_schema())
        except BaseException as exc:  # reported below, whatever it is
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(len(tables) for tables in created) == [0, 0, 0, len(Warehouse(path).tables)]
    Warehouse(path).release()
    assert _catalog(path)["tables"]


def _make_in_a_process(path: str, go: EventType, queue: multiprocessing.Queue[str]) -> None:
    go.wait(timeout=60)
    try:
        made = Warehouse(Path(path), lock_timeout=60.0).ensure_schema()
        Warehouse(Path(path)).release()
        queue.put(f"ok {len(made)}")
    except BaseException as exc:  # reported to the test, whatever it is
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_making_one_new_warehouse_at_once_both_succeed(tmp_path: Path) -> None:
    """Two runs starting at once on a new deployment: one file, made once, opened by both."""
    ctx = multiprocessing.get_context("spawn")  # a forked child would share this process's DuckDB state
    go, queue = ctx.Event(), ctx.Queue()
    path = tmp_path / "w.duckdb"
    procs = [ctx.Process(target=_make_in_a_process, args=(str(path), go, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    go.set()
    outcomes = sorted(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    assert outcomes == ["ok 0", f"ok {len(Warehouse(path).tables)}"]
    assert len(_catalog(path)["columns"]) > 100
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".blank")] == []
