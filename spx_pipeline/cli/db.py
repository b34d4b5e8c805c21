"""``spx-pipeline db``: app-database migrations and the analyst warehouse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from spx_pipeline.cli import CliError
from spx_pipeline.settings import SettingError
from spx_pipeline.storage.analyst import AnalystCatalog, AnalystCopyError
from spx_pipeline.storage.appdb import AppDatabase, MigrationError
from spx_pipeline.storage.credentials import CredentialError, CredentialsKeyError
from spx_pipeline.storage.setups import SetupError
from spx_pipeline.storage.warehouse import Warehouse, WarehouseError, query_names

_OPERATOR_ERRORS = (
    MigrationError,
    CredentialsKeyError,
    CredentialError,
    SetupError,
    WarehouseError,
    SettingError,
    AnalystCopyError,
)


def add_db_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db-url",
        "--url",
        dest="db_url",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of the app database (default: $SPX_APP_DB_URL or sqlite:///data/app.sqlite)",
    )


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn store errors (already worded for people) into ``CliError``: exit 2, no traceback."""
    try:
        yield
    except _OPERATOR_ERRORS as exc:
        raise CliError(str(exc)) from exc
    except sa.exc.DBAPIError as exc:
        raise CliError(f"cannot use the app database: {str(exc.orig).strip().splitlines()[0]}") from exc


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
        print(f"applied migrations to {db.display_url}: {', '.join(applied)}", file=sys.stderr)
    return db


def _upgrade(args: argparse.Namespace) -> int:
    with operator_errors():
        db = app_database(args.db_url)
        applied = db.upgrade()
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print(f"{db.display_url} is up to date (version {db.current_version():04d})")
    return 0


def _status(args: argparse.Namespace) -> int:
    with operator_errors():
        db = app_database(args.db_url)
        rows = db.status()
    print(f"database: {db.display_url}")
    for row in rows:
        when = row.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if row.applied_at else "-"
        print(f"  {row.version:04d}  {row.state:<8}  {when:<23}  {row.name}")
    pending = [r for r in rows if r.state == "pending"]
    broken = [r for r in rows if r.state in {"changed", "unknown"}]
    if broken:
        print(f"{len(broken)} migration(s) do not match the files; `db upgrade` will refuse to run")
        return 1
    print(f"{len(pending)} pending" if pending else "up to date")
    return 0


def _warehouse_init(args: argparse.Namespace) -> int:
    with operator_errors():
        warehouse = Warehouse(args.path, setting="--path" if args.path else None)
        created = warehouse.ensure_schema()
    outcome = f"created {', '.join(created)}" if created else "all tables present"
    print(f"warehouse {warehouse.path}: {outcome}")
    return 0


def _query(args: argparse.Namespace) -> int:
    # The published analyst copy: reading it never takes (or waits for) the writers' lock.
    with operator_errors():
        frame = AnalystCatalog(args.path).named_query(args.name)
    if frame.empty:
        print("(no rows)")
    else:
        print(frame.to_string(index=False))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="app-database migrations and warehouse queries")
    verbs = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    add_db_url_argument(verb("upgrade", _upgrade, "apply pending app-database migrations"))
    add_db_url_argument(verb("status", _status, "list applied and pending migrations"))
    init = verb("warehouse-init", _warehouse_init, "create any missing warehouse tables")
    init.add_argument("--path", default=None, help="DuckDB file (default: $SPX_WAREHOUSE_PATH or data/)")
    query = verb(
        "query",
        _query,
        "run an analyst query from sql/queries on the published analyst copy (never blocks a run)",
    )
    query.add_argument("name", choices=query_names(), help="query name (file name without .sql)")
    query.add_argument(
        "--path", default=None, help="the warehouse's DuckDB file (default: $SPX_WAREHOUSE_PATH or data/)"
    )
