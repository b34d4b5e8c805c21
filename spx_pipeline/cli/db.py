"""``spx-pipeline db``: app-database migrations and the analyst warehouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
import duckdb

from spx_pipeline.cli.common import CliError, app_database, db_url_option, operator_errors
from spx_pipeline.cli.render import FORMATS, QueryResult, render
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse, query_names, read_named_query

T = TypeVar("T")
_PATH_HELP = "the warehouse's DuckDB file (default: $SPX_WAREHOUSE_PATH or data/warehouse.duckdb)"


@click.group()
def db() -> None:
    """App-database migrations and analyst queries on the warehouse.

    \b
    Examples:
      spx-pipeline db status --db-url postgresql+psycopg2://spx@db.internal/spx
      spx-pipeline db upgrade
      spx-pipeline db query latest_snapshot_per_account
      spx-pipeline db query recommendations_of_the_day --format csv > today.csv
    """


def _migrations(db_url: str | None, step: Callable[[AppDatabase], T]) -> tuple[AppDatabase, T]:
    """``step`` on the app database of ``--db-url`` (else the settings'); a store error is one line."""
    with operator_errors():
        database = app_database(db_url)
        return database, step(database)


@db.command()
@db_url_option
def upgrade(db_url: str | None) -> int:
    """Apply pending app-database migrations."""
    database, applied = _migrations(db_url, AppDatabase.upgrade)
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo(f"{database.display_url} is up to date (version {database.current_version():04d})")
    return 0


@db.command()
@db_url_option
def status(db_url: str | None) -> int:
    """List applied and pending migrations (exit 1 when a file no longer matches)."""
    database, rows = _migrations(db_url, AppDatabase.status)
    click.echo(f"database: {database.display_url}")
    for row in rows:
        when = row.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if row.applied_at else "-"
        click.echo(f"  {row.version:04d}  {row.state:<8}  {when:<23}  {row.name}")
    pending = [r for r in rows if r.state == "pending"]
    broken = [r for r in rows if r.state in {"changed", "unknown"}]
    if broken:
        click.echo(f"{len(broken)} migration(s) do not match the files; `db upgrade` will refuse to run")
        return 1
    click.echo(f"{len(pending)} pending" if pending else "up to date")
    return 0


@db.command("warehouse-init")
@click.option("--path", default=None, help=_PATH_HELP)
def warehouse_init(path: str | None) -> int:
    """Create any missing warehouse tables."""
    with operator_errors():
        warehouse = Warehouse(path, setting="--path" if path else None)
        created = warehouse.ensure_schema()
    outcome = f"created {', '.join(created)}" if created else "all tables present"
    click.echo(f"warehouse {warehouse.path}: {outcome}")
    return 0


def run_named_query(name: str, path: str | None) -> QueryResult:
    """The rows of ``sql/queries/NAME.sql`` on the published analyst copy, as DuckDB returns them."""
    with operator_errors():
        catalog = AnalystCatalog(path)
        sql = read_named_query(name)
        with catalog.connect() as con:
            try:
                cursor = con.execute(sql)
                columns = [d[0] for d in cursor.description or ()]
                return QueryResult(columns, cursor.fetchall())
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise CliError(f"query {name} on {catalog.catalog_path} failed: {first}") from exc


_QUERY_HELP = """Run an analyst query from sql/queries on the published analyst copy (never blocks a run).

    NAME is one of: {names}.

    \b
    The table fits the terminal: NULL as NULL, money with two decimals, dates
    without a time, long text cut with "…"; a result too wide for the terminal
    is shown one record at a time. --format json prints an array of objects:
    DECIMAL values as strings ("52480.5500", exact), dates and times as
    ISO 8601 strings, NULL as null.
""".format(names=", ".join(query_names()))


@db.command(help=_QUERY_HELP, short_help="Run an analyst query (sql/queries/NAME.sql) on the published copy.")
@click.argument("name", type=click.Choice(query_names()), metavar="NAME")
@click.option("--path", default=None, help=_PATH_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; csv (exact values, empty for NULL) or json (Decimal as string) for scripts",
)
def query(name: str, path: str | None, fmt: str) -> int:
    click.echo(render(run_named_query(name, path), fmt))
    return 0
