"""One open DuckDB database per warehouse file and process, kept for a moment between uses.

Opening a DuckDB file starts a database instance (15-30 ms of CPU), and a pipeline step makes
dozens of short calls (schema check, reads, a write, row counts). Calls borrow a cursor of one
connection instead; the connection is closed once nobody in the process has used it for
``LINGER_SECONDS``, so the file lock DuckDB takes per process is released right after a step and
another process waiting for it (``Warehouse`` retries with backoff) gets it a moment later.

A file replaced or removed while the connection lingers is noticed (its inode changed) and
reopened. Idle connections are closed before a fork (DuckDB's per-process database cache must not
reach the child), and a child never touches one its parent was using. They are also closed at
exit, before the interpreter stops its daemon threads: a linger timer stopped inside DuckDB's
``close`` would abort the process.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

import duckdb

LINGER_SECONDS: Final = 0.1


class SharedConnection:
    """The process's connection to one file; ``borrow`` and ``give_back`` count its users."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._base: duckdb.DuckDBPyConnection | None = None
        self._identity: tuple[int, int] | None = None
        self._users = 0
        self._uses = 0
        self._timer: threading.Timer | None = None

    def borrow(self, open_base: Callable[[], duckdb.DuckDBPyConnection]) -> duckdb.DuckDBPyConnection:
        """A cursor (its own transactions) on the shared connection, opened by ``open_base`` if needed."""
        with self._lock:
            if self._base is not None and self._users == 0 and self._identity != _identity(self.path):
                self._close()
            if self._base is None:
                self._base = open_base()
                self._identity = _identity(self.path)
            self._users += 1
            self._uses += 1
            try:
                return self._base.cursor()
            except BaseException:
                self._users -= 1
                raise

    def give_back(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            cursor.close()
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._schedule_close(self._uses)

    def close_now(self) -> None:
        """Close at once if nobody is using it (tests, and before handing the file to another process)."""
        with self._lock:
            if self._users == 0:
                self._close()

    def _schedule_close(self, uses: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(LINGER_SECONDS, self._close_if_idle, args=(uses,))
        self._timer.daemon = True
        self._timer.start()

    def _close_if_idle(self, uses: int) -> None:
        with self._lock:
            if self._users == 0 and self._uses == uses:
                self._close()

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._base is not None:
            base, self._base, self._identity = self._base, None, None
            base.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections: dict[Path, SharedConnection] = {}
        # A forked child must neither use nor close (checkpoint) its parent's connections: they
        # are kept alive here, unused.
        self.inherited: list[SharedConnection] = []

    def forget_after_fork(self) -> None:
        self.lock = threading.Lock()
        self.inherited.extend(self.connections.values())
        self.connections = {}


_REGISTRY = _Registry()


def shared_connection(path: Path) -> SharedConnection:
    key = path.resolve()
    with _REGISTRY.lock:
        found = _REGISTRY.connections.get(key)
        if found is None:
            found = _REGISTRY.connections[key] = SharedConnection(key)
        return found


def close_idle_connections() -> None:
    """Release every file this process holds and nobody uses (another process needs it now)."""
    with _REGISTRY.lock:
        shared = list(_REGISTRY.connections.values())
    for each in shared:
        each.close_now()


os.register_at_fork(before=close_idle_connections, after_in_child=_REGISTRY.forget_after_fork)
atexit.register(close_idle_connections)
