"""Create and migrate a Dagster instance once, before any run or worker uses it.

Every process that opens a fresh SQLite instance creates its tables and stamps Dagster's schema
version; two doing so at once (two Celery workers starting together, a worker and a run) both
migrate it and can leave ``alembic_version`` with two heads, after which the instance refuses to
open. ``prepare_instance`` does that work under an exclusive lock on a file in DAGSTER_HOME, so
concurrent callers take turns and the later ones find nothing left to do. The demo, ``dev`` and
``celery-worker`` call it before anything else touches the instance.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
from pathlib import Path
from typing import Final

import dagster as dg

LOCK_NAME: Final = ".spx-instance.lock"


def prepare_instance(dagster_home: Path) -> None:
    """The instance of ``dagster_home/dagster.yaml`` with every table created and migrated (idempotent)."""
    home = Path(dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK_NAME).open("a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Dagster's storages report their reindexing on stdout; a command's output is its own.
            with (
                contextlib.redirect_stdout(io.StringIO()),
                dg.DagsterInstance.from_config(str(home)) as instance,
            ):
                instance.upgrade(print_fn=lambda _message: None)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
