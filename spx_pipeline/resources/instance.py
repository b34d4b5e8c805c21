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
import sys
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
            _upgrade_quietly(home)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _upgrade_quietly(home: Path) -> None:
    """``instance.upgrade()`` without its progress output, which is not the command's to print.

    Dagster's storages report their reindexing on stdout, and draw tqdm bars on stderr (the SQLite
    event log upgrades every run's database behind an unconditional bar; the data migrations draw
    one whenever a print function is given): a dozen bars on every start of ``demo`` and ``dev``
    once runs exist. What they wrote is shown only when the upgrade fails.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            dg.DagsterInstance.from_config(str(home)) as instance,
        ):
            instance.upgrade(print_fn=None)
    except BaseException:
        sys.stderr.write(stdout.getvalue() + stderr.getvalue())
        raise
