"""Opening a DuckDB file another process may hold: bounded retry with backoff, naming the holder.

DuckDB lets one process hold a file for writing. Both warehouse backends open files that another
process can hold for a moment (the shared file, or a run's scratch file that another step of the
run is writing), so both wait here the same way and fail the same way.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psutil

from spx_pipeline.storage.warehouse.base import WarehouseError, WarehouseLockedError, first_line

_LOCK_PID = re.compile(r"PID (\d+)")


def open_duckdb(
    path: Path, *, read_only: bool, lock_timeout: float, locked: Callable[[str], str]
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` retried while the file is locked; ``locked(holder)`` words the give-up."""
    deadline = time.monotonic() + lock_timeout
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.ConnectionException as exc:
            # This process already has the file open read-write (DuckDB shares one instance
            # per process); a reader can use that configuration safely.
            if read_only and "different configuration" in str(exc):
                read_only = False
                continue
            raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockedError(locked(lock_holder(str(exc)))) from exc
            time.sleep(min(delay * (0.5 + random.random()), remaining))
            delay = min(delay * 2, 1.0)


def lock_holder(message: str) -> str:
    """Who holds a DuckDB lock, from DuckDB's own error text: the process id and its command line."""
    match = _LOCK_PID.search(message)
    if match is None:
        return f"another process ({first_line(RuntimeError(message))})"
    pid = int(match.group(1))
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.Error, OSError):
        return f"process {pid} (no longer running)"
    if len(command) > 160:
        command = command[:157] + "..."
    return f"process {pid} ({command})"
