"""A new warehouse file copied from the process's blank one is the file the DDL would have made."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import duckdb
import pytest

from spx_pipeline.storage.warehouse import analyst, blank, store
from spx_pipeline.storage.warehouse.analyst import SCHEMA_DIR
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline_tests.fixtures.trades import race

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
    "views": "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
}


def _warehouse(path: Path) -> Warehouse:
    """The DuckDB-file backend whatever the shell sets: the blank is that backend's."""
    return Warehouse(path, backend="duckdb", lock_timeout=60.0)


def _catalog(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in _CATALOG.items()}


def _schema_files(path: Path) -> dict[str, bytes]:
    schema_dir = _warehouse(path).analyst_paths.published_dir / SCHEMA_DIR
    return {p.name: p.read_bytes() for p in sorted(schema_dir.iterdir())}


def _new(root: Path) -> Warehouse:
    root.mkdir()
    return _warehouse(root / "w.duckdb")


def _stray(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".blank" in p.name)


def test_a_warehouse_started_from_the_blank_is_the_one_the_ddl_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed: list[bool] = []
    monkeypatch.setattr(store, "place_blank", lambda *a: placed.append(blank.place_blank(*a)) or placed[-1])
    copied = _new(tmp_path / "copied")
    assert set(copied.ensure_schema()) == copied.tables  # every table reported created
    copied.release()
    assert placed == [True]  # the new file started from the blank

    # The reference: the DDL applied to a new file, the schema files exported anew.
    monkeypatch.setattr(store, "place_blank", lambda path, ddl_dir: False)
    monkeypatch.setattr(analyst, "_SCHEMA_FILES", {})
    applied = _new(tmp_path / "applied")
    assert set(applied.ensure_schema()) == applied.tables
    applied.release()

    ours, reference = _catalog(copied.path), _catalog(applied.path)
    assert len(ours["columns"]) > 100 and all(row[-1] for row in ours["tables"] if row[0] == "main")
    assert ours == reference
    assert _schema_files(copied.path) == _schema_files(applied.path)  # the analysts' empty files too
    assert _stray(copied.path.parent) == []


def test_the_blank_never_replaces_a_file_that_is_there(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"somebody else's file")
    assert not blank.place_blank(path, _warehouse(path).ddl_dir)
    assert path.read_bytes() == b"somebody else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["w.duckdb"]  # no staged copy left behind


def test_a_blank_that_cannot_be_written_leaves_the_error_to_the_ddl(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    ddl_dir = _warehouse(tmp_path / "w.duckdb").ddl_dir
    assert not blank.place_blank(tmp_path / "a-file" / "w.duckdb", ddl_dir)
    assert not blank.place_blank(tmp_path / "missing" / "w.duckdb", ddl_dir)
    assert not (tmp_path / "missing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("name", ["w.duckdb", "w[1].duckdb"])
def test_copies_a_killed_process_left_beside_the_warehouse_are_removed_and_nothing_else(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    hex_a, hex_b = "0a" * 16, "2c" * 16
    ours = [f".{name}.{hex_a}.blank", f".{name}.{hex_a}.blank.wal", f".{name}.{hex_b}.blank"]
    others = [
        f".{name}.2.{hex_a}.blank",  # warehouse `<name>.2`'s copy, staged right now
        f".{name}.keep.blank.notes",
        f".{name}.{hex_a}.blankets",
        f".other.duckdb.{hex_a}.blank",
        f".w1.duckdb.{hex_a}.blank",  # warehouse `w1.duckdb`'s: what `w[1]` matches as a pattern
    ]
    for leftover in ours + others:
        (tmp_path / leftover).write_bytes(b"half a copy")
    assert blank.place_blank(path, _warehouse(path).ddl_dir)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != name) == sorted(others)
    assert _catalog(path)["tables"]


def test_a_file_made_while_the_blank_is_staged_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the warehouse between this one's look and its link: the link
    refuses, the other file stays as it is, and this one applies (here: finds) the DDL."""
    ddl_dir = _warehouse(tmp_path / "x.duckdb").ddl_dir
    assert blank.place_blank(tmp_path / "first.duckdb", ddl_dir)  # the blank is in the memo now
    path = tmp_path / "w.duckdb"
    write = blank._write_synced

    def staged_then_taken(staged: Path, data: bytes) -> None:
        write(staged, data)
        path.write_bytes(b"the other process's warehouse")

    monkeypatch.setattr(blank, "_write_synced", staged_then_taken)
    assert not blank.place_blank(path, ddl_dir)
    assert path.read_bytes() == b"the other process's warehouse"
    assert _stray(tmp_path) == []


def test_a_ddl_that_cannot_be_read_places_nothing_and_leaves_the_error_to_the_ddl(tmp_path: Path) -> None:
    ddl_dir = tmp_path / "ddl"
    shutil.copytree(_warehouse(tmp_path / "x.duckdb").ddl_dir, ddl_dir)
    (ddl_dir / "000_not_text.sql").write_bytes(b"\xff\xfe not UTF-8")
    assert not blank.place_blank(tmp_path / "w.duckdb", ddl_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddl"]


def test_no_folder_but_the_warehouses_own_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process's first blank is made beside the warehouse: a full or missing temporary folder
    does not stop a warehouse from being made."""
    monkeypatch.setattr(blank, "_BLANKS", {})
    monkeypatch.setattr(analyst, "_SCHEMA_FILES", {})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    wh = _new(tmp_path / "own")
    assert set(wh.ensure_schema()) == wh.tables
    wh.release()
    assert blank._BLANKS and analyst._SCHEMA_FILES  # both made here, from this process's DDL
    assert _stray(wh.path.parent) == []


def test_a_ddl_edited_while_the_process_runs_is_never_copied_stale(tmp_path: Path) -> None:
    ddl_dir = tmp_path / "ddl"
    shutil.copytree(_warehouse(tmp_path / "x.duckdb").ddl_dir, ddl_dir)
    first = tmp_path / "first.duckdb"
    assert blank.place_blank(first, ddl_dir)
    last = sorted(ddl_dir.glob("*.sql"))[-1]
    last.write_text(last.read_text() + "\nCREATE TABLE IF NOT EXISTS added_later (id INTEGER);\n")
    second = tmp_path / "second.duckdb"
    assert blank.place_blank(second, ddl_dir)
    tables = {row[1] for row in _catalog(second)["tables"]}
    assert "added_later" in tables and "added_later" not in {row[1] for row in _catalog(first)["tables"]}


def test_threads_making_one_new_warehouse_at_once_all_succeed_and_one_made_it(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    created = race(*(lambda: _warehouse(path).ensure_schema() for _ in range(4)), timeout=120)
    _warehouse(path).release()
    assert sorted(len(tables) for tables in created) == [0, 0, 0, len(_warehouse(path).tables)]
    assert _catalog(path)["tables"] and _stray(tmp_path) == []


def _make_in_a_process(path: str, go: EventType, queue: multiprocessing.Queue[str]) -> None:
    go.wait(timeout=60)
    try:
        made = _warehouse(Path(path)).ensure_schema()
        _warehouse(Path(path)).release()
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
    assert outcomes == ["ok 0", f"ok {len(_warehouse(path).tables)}"]
    assert len(_catalog(path)["columns"]) > 100
    assert _stray(tmp_path) == []
