"""What every verb module shares: the operator error, the app-database option and plain tables.

``CliError`` is a ``click.ClickException`` so a message meant for the operator ends the command
with exit code 2 and one ``spx-pipeline: error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import click
import sqlalchemy as sa

from spx_pipeline.clock import InstantError
from spx_pipeline.settings import SettingError
from spx_pipeline.storage.app.credentials import CredentialError, CredentialsKeyError
from spx_pipeline.storage.app.database import AppDatabase, MigrationError, missing_sqlite_file
from spx_pipeline.storage.app.setups import SetupError
from spx_pipeline.storage.paths import app_db_url
from spx_pipeline.storage.warehouse.analyst import AnalystCopyError
from spx_pipeline.storage.warehouse.store import WarehouseError

PROG = "spx-pipeline"

OPERATOR_ERRORS: tuple[type[Exception], ...] = (
    InstantError,
    MigrationError,
    CredentialsKeyError,
    CredentialError,
    SetupError,
    WarehouseError,
    SettingError,
    AnalystCopyError,
)

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """An error whose message is meant for the operator as it stands (exit code 2)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{PROG}: error: {self.format_message()}", file=file or sys.stderr)


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn store errors (already worded for people) into ``CliError``: exit 2, no traceback."""
    try:
        yield
    except OPERATOR_ERRORS as exc:
        raise CliError(str(exc)) from exc
    except sa.exc.DBAPIError as exc:
        raise CliError(f"cannot use the app database: {str(exc.orig).strip().splitlines()[0]}") from exc


def db_url_option(func: F) -> F:
    """``--db-url`` (alias ``--url``): the app database a verb works on."""
    return click.option(
        "--db-url",
        "--url",
        "db_url",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of the app database (default: $SPX_APP_DB_URL or sqlite:///data/app.sqlite)",
    )(func)


def app_database(url: str | None) -> AppDatabase:
    """The app database of ``--db-url`` (named in errors as such), else of ``SPX_APP_DB_URL``."""
    return AppDatabase(url, setting="--db-url" if url else None)


def open_app_db(url: str | None) -> AppDatabase:
    """The app database with every migration applied; what got applied is reported on stderr.

    Verbs migrate first, so a missing table is created rather than a write silently skipped.
    """
    with operator_errors():
        db = app_database(url)
        applied = db.upgrade()
    if applied:
        click.echo(f"applied migrations to {db.display_url}: {', '.join(applied)}", err=True)
    return db


def open_existing_app_db(url: str | None) -> AppDatabase:
    """The app database for a verb that only reads: never created, never migrated.

    Connecting to a SQLite file that is not there creates it, and migrating is a write: a listing
    pointed at a mistyped path must say so in one line instead of leaving a new database behind.
    """
    setting = "--db-url" if url else "SPX_APP_DB_URL"
    resolved = app_db_url(url)
    missing = missing_sqlite_file(resolved)
    if missing is not None:
        raise CliError(
            f"{setting}={resolved!r}: {missing} does not exist; this command only reads and creates "
            "nothing (`spx-pipeline db upgrade` creates a database)"
        )
    with operator_errors():
        db = app_database(url)
        pending = db.pending()
    if pending:
        raise CliError(
            f"{setting}={db.display_url!r}: {len(pending)} migration(s) pending ({', '.join(pending)}); "
            "this command only reads: run `spx-pipeline db upgrade` first"
        )
    return db


def data_dir_option(func: F) -> F:
    """``--data-dir``: where ``demo`` and ``dev`` keep the local stores, key and Dagster instance."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=Path("data"),
        show_default=True,
        help="where local stores live",
    )(func)
