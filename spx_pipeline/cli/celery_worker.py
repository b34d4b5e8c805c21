"""``spx-pipeline celery-worker``: a Celery worker that executes this code location's steps.

It wraps ``dagster-celery worker start`` with this project's app (``cli.celery_app``: broker
and backend from the environment) after preparing the instance DAGSTER_HOME names, so workers
starting together never race on Dagster's schema. The worker runs in a process group of its own
that SIGTERM or Ctrl-C stops whole (``dev.supervise``). Runs reach it when ``SPX_EXECUTOR=celery``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Final

import click

from spx_pipeline.cli.common import CliError, operator_errors
from spx_pipeline.cli.dev import supervise
from spx_pipeline.resources.executor import CELERY_EXTRA_HINT
from spx_pipeline.settings import Settings

CELERY_APP: Final = "spx_pipeline.cli.celery_app"


def celery_worker_command(*, name: str | None, concurrency: int, loglevel: str) -> list[str]:
    """``dagster-celery worker start`` from this virtualenv, with the app and Celery's own flags."""
    program = Path(sys.executable).parent / "dagster-celery"
    command = [str(program), "worker", "start", "-A", CELERY_APP, "--loglevel", loglevel]
    if name:
        command += ["--name", name]
    # After "--": Celery's flags. No mingle/gossip: workers need not sync with each other at start.
    return [*command, "--", f"--concurrency={concurrency}", "--without-mingle", "--without-gossip"]


@click.command("celery-worker")
@click.option("--name", default=None, help="worker name (default: dagster-<uuid>@<host>)")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True, help="steps at once")
@click.option("--loglevel", default="INFO", show_default=True, help="Celery's log level")
def celery_worker(name: str | None, concurrency: int, loglevel: str) -> int:
    """Run a Celery worker for runs with SPX_EXECUTOR=celery.

    Needs the celery extra, DAGSTER_HOME (the runs' instance: PostgreSQL when workers run on
    several hosts), the broker (SPX_CELERY_BROKER_URL) and the same store, key and SPX_IO_DIR
    settings as the runs. SIGTERM or Ctrl-C stops the worker and its pool processes.
    """
    from spx_pipeline.resources.instance import prepare_instance

    with operator_errors():
        Settings.from_env().executor_kind()  # a worker with a broken SPX_EXECUTOR would load nothing
    if importlib.util.find_spec("dagster_celery") is None:
        raise CliError(f"celery-worker needs dagster-celery, which is not installed; {CELERY_EXTRA_HINT}")
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise CliError("DAGSTER_HOME is not set: point it at the Dagster instance the runs use")
    prepare_instance(Path(home))
    # dagster-celery starts `celery` by name: this virtualenv's, also when it is not activated.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return supervise(celery_worker_command(name=name, concurrency=concurrency, loglevel=loglevel))
