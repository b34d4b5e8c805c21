"""The warehouse's calls share one open database per process for a moment, then let the file go."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

from spx_pipeline.storage.warehouse.shared_connection import LINGER_SECONDS, close_idle_connections
from spx_pipeline.storage.warehouse.store import Warehouse

# A global setting lives in the database instance: it survives between calls only while the
# instance (the shared connection) stays open.
MARK = "SET GLOBAL threads = 3"
THREADS = "SELECT current_setting('threads')"
EMPTY = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"


def _threads(wh: Warehouse) -> int:
    with wh.connect(read_only=True) as con:
        return int(con.execute(THREADS).fetchone()[0])  # type: ignore[index]


def test_calls_in_a_row_share_one_database_and_it_closes_once_idle(warehouse: Warehouse) -> None:
    with warehouse.connect() as con:
        con.execute(MARK)
    assert _threads(warehouse) == 3  # the next call (read-only too) used the same open database
    assert _threads(Warehouse(warehouse.path)) == 3  # any Warehouse object of the file in this process
    # Idle past the linger: closed, a fresh database is opened. Each look is itself a use, so look
    # after a few lingers of quiet, as often as a loaded machine needs for its timer to fire.
    deadline = time.monotonic() + 60
    while True:
        time.sleep(LINGER_SECONDS * 5)
        if _threads(warehouse) != 3 or time.monotonic() > deadline:
            break
    assert _threads(warehouse) != 3


def test_another_process_gets_the_file_right_after_the_linger(warehouse: Warehouse) -> None:
    warehouse.row_count("portfolio_snapshots")
    probe = (
        "import duckdb, sys, time; t = time.monotonic()\n"
        "while True:\n"
        "    try: duckdb.connect(sys.argv[1]).close(); break\n"
        "    except duckdb.IOException: time.sleep(0.01)\n"
        "print(time.monotonic() - t)"
    )
    # The file is let go once the linger is over: the probe gets it (held for good, it would loop
    # until the generous timeout). How soon is printed, not asserted.
    waited = subprocess.run(
        [sys.executable, "-c", probe, str(warehouse.path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    print(f"another process opened the file {float(waited.stdout):.2f}s after it started")


def test_a_released_file_is_free_for_another_process_at_once(warehouse: Warehouse) -> None:
    """``release``: no linger, so a tool that opens the file without waiting gets it."""
    warehouse.row_count("portfolio_snapshots")  # the connection is open and would linger
    warehouse.release()
    subprocess.run([sys.executable, "-c", EMPTY, str(warehouse.path)], timeout=120, check=True)
    assert warehouse.row_count("portfolio_snapshots") == 0  # and this process opens it again


def test_a_file_replaced_while_the_connection_lingers_is_reopened(warehouse: Warehouse) -> None:
    assert "portfolio_snapshots" in set(warehouse.query("SHOW TABLES")["name"])
    warehouse.path.unlink()
    Path(f"{warehouse.path}.wal").unlink(missing_ok=True)
    # Another process puts an empty database in its place.
    subprocess.run([sys.executable, "-c", EMPTY, str(warehouse.path)], timeout=60, check=True)
    assert warehouse.query("SHOW TABLES").empty


def test_threads_borrow_at_once_and_none_sees_a_closed_connection(warehouse: Warehouse) -> None:
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(20):
                warehouse.row_count("portfolio_snapshots")
                close_idle_connections()  # closing while others use it must wait for them
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(60)
    assert errors == []


def _write_in_child(path: str) -> None:
    with Warehouse(path).connect() as con:
        con.execute("CREATE TABLE written_by_child AS SELECT 42 AS answer")


def test_a_forked_child_writes_the_file_not_a_copy_of_the_parents_database(warehouse: Warehouse) -> None:
    warehouse.row_count("portfolio_snapshots")  # the parent's connection is open (lingering)
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(str(warehouse.path),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert warehouse.query("SELECT answer FROM written_by_child")["answer"].tolist() == [42]


EXIT_DURING_LINGER = """
import sys, time
from spx_pipeline.storage.warehouse.shared_connection import LINGER_SECONDS
from spx_pipeline.storage.warehouse.store import Warehouse
Warehouse(sys.argv[1]).row_count("portfolio_snapshots")
time.sleep(LINGER_SECONDS * float(sys.argv[2]))  # the linger timer fires as the interpreter stops
"""


def test_a_process_exiting_while_its_connection_lingers_exits_cleanly(warehouse: Warehouse) -> None:
    """Without the close at exit this aborted ('FATAL: exception not rethrown', status -6)."""
    close_idle_connections()  # this process lets go of the file: each child opens it itself
    for factor in ("1.0", "1.02", "1.05"):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_DURING_LINGER, str(warehouse.path), factor],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (factor, done.returncode, done.stderr[-500:])
