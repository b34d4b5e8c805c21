"""The app database: system of record for credentials, setups and portfolio history.

SQLite (``sqlite:///data/app.sqlite`` relative to the working directory) is the embedded default so
a fresh clone runs with nothing installed; deployments point ``SPX_APP_DB_URL`` at PostgreSQL
(``postgresql+psycopg2://user@host/db``). The schema comes only from the ordered migrations in
``sql/app``, applied before use, so a missing table is created rather than a write skipped.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from spx_pipeline.clock import Clock, clock_from_env
from spx_pipeline.settings import APP_DB_URL_VAR, SettingError
from spx_pipeline.storage.app.migrations import Migration, MigrationError, load_migrations
from spx_pipeline.storage.app.tables import CREATE_SCHEMA_MIGRATIONS, schema_migrations
from spx_pipeline.storage.paths import app_db_url, prepare_parent_dir

__all__ = ["AppDatabase", "MigrationError", "MigrationStatus"]

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_SQLITE_HEADER = b"SQLite format 3\x00"
_PASSWORD_IN_TEXT = re.compile(r"(?<=:)[^:@/]+(?=@)")

# Pages a SQLite connection keeps (KiB; SQLite's default is 2 MiB, allocated as used). A day's
# planning inserts ~20,000 trades whose (account, setup, session) keys land all over that index; once
# the history outgrows the cache, SQLite spills dirty pages mid-transaction, each spill a journal
# write and an fsync (on a tenth day: 14 fsyncs and 2.3x the page reads and writes of 16 MiB).
# The bound is per open connection (a pool holds up to 15, each process its own pool), but pages are
# taken only as a transaction touches them, and a rollback-journal connection drops its cache when
# another one writes: in practice one large transaction's pages at a time.
SQLITE_CACHE_KIB = 64 * 1024

# Any constant works; it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK = zlib.crc32(b"spx_pipeline.schema_migrations")


@dataclass(frozen=True)
class MigrationStatus:
    """One line of ``db status``: state is applied | pending | changed | unknown."""

    version: int
    name: str
    state: str
    applied_at: datetime | None


class AppDatabase:
    """Engine plus migration bookkeeping for one app database URL.

    ``clock`` stamps every row the stores write (created/updated/applied times); by default the
    process clock (``SPX_NOW`` when pinned, else real time).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        migrations_dir: Path | None = None,
        clock: Clock | None = None,
        setting: str | None = None,
    ) -> None:
        self.url = app_db_url(url)
        # What to name when the URL is wrong: the CLI option, or the environment variable.
        self.setting = setting or (APP_DB_URL_VAR if url is None else "app database URL")
        self.clock: Clock = clock if clock is not None else clock_from_env()
        self._migrations_dir = migrations_dir
        self.engine: Engine = _create_engine(self.url, self.setting)

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def shared_by_threads(self) -> bool:
        """Whether every thread that connects reaches this same database: a file's or a server's
        (a ``QueuePool``). SQLite's ``:memory:`` is another, empty database on each thread."""
        return isinstance(self.engine.pool, sa.pool.QueuePool)

    def migrations(self) -> list[Migration]:
        return load_migrations(self._migrations_dir)

    def upgrade(self) -> list[str]:
        """Apply every pending migration, each in its own transaction; return the names applied.

        Re-running applies nothing. A migration whose statements changed after it was applied, or
        an applied version this code does not know, stops everything before any change is made.
        """
        migrations = self.migrations()
        with self.engine.begin() as conn:
            self._lock(conn)
            conn.exec_driver_sql(CREATE_SCHEMA_MIGRATIONS)
            _check_history(migrations, _applied(conn), self.display_url)
        applied: list[str] = []
        for migration in migrations:
            with self.engine.begin() as conn:
                self._lock(conn)
                if migration.version in _applied(conn):  # another process got there first
                    continue
                for statement in migration.statements:
                    try:
                        conn.exec_driver_sql(statement)
                    except sa.exc.DBAPIError as exc:
                        raise MigrationError(
                            f"migration {migration.name} failed on {self.display_url} "
                            f"(rolled back): {_first_line(exc)}"
                        ) from exc
                conn.execute(
                    schema_migrations.insert().values(
                        version=migration.version,
                        name=migration.name,
                        checksum=migration.checksum,
                        applied_at=self.clock.now(),
                    )
                )
            applied.append(migration.name)
        return applied

    def status(self) -> list[MigrationStatus]:
        """Every known or recorded migration with its state, without changing anything."""
        migrations = {m.version: m for m in self.migrations()}
        recorded = self._recorded()
        rows: list[MigrationStatus] = []
        for version in sorted(set(migrations) | set(recorded)):
            migration = migrations.get(version)
            record = recorded.get(version)
            if record is None:
                assert migration is not None
                rows.append(MigrationStatus(version, migration.name, "pending", None))
            elif migration is None:
                rows.append(MigrationStatus(version, record["name"], "unknown", record["applied_at"]))
            else:
                state = "applied" if record["checksum"] == migration.checksum else "changed"
                rows.append(MigrationStatus(version, migration.name, state, record["applied_at"]))
        return rows

    def current_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        return max(self._recorded(), default=0)

    def pending(self) -> list[str]:
        """Names of migrations not yet applied, in the order ``upgrade`` would apply them."""
        recorded = self._recorded()
        return [m.name for m in self.migrations() if m.version not in recorded]

    def dispose(self) -> None:
        """Close pooled connections (tests drop databases afterwards)."""
        self.engine.dispose()

    def _recorded(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_migrations"):
                return {}
            return _applied(conn)

    def _lock(self, conn: Connection) -> None:
        # SQLite serializes writers with its database lock (BEGIN IMMEDIATE below); PostgreSQL
        # needs an explicit lock so two processes cannot apply the same migration at once.
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})

    def __repr__(self) -> str:
        return f"AppDatabase({self.display_url!r})"


def _applied(conn: Connection) -> dict[int, dict[str, Any]]:
    rows = conn.execute(sa.select(schema_migrations)).mappings()
    return {row["version"]: dict(row) for row in rows}


def _check_history(migrations: list[Migration], recorded: dict[int, dict[str, Any]], where: str) -> None:
    known = {m.version: m for m in migrations}
    unknown = sorted(set(recorded) - set(known))
    if unknown:
        names = ", ".join(recorded[v]["name"] for v in unknown)
        raise MigrationError(
            f"{where} has migrations this code does not know ({names}); it was upgraded by a newer version"
        )
    for version, record in recorded.items():
        migration = known[version]
        if record["checksum"] != migration.checksum:
            raise MigrationError(
                f"migration {migration.name} was changed after it was applied to {where} "
                f"(recorded checksum {record['checksum'][:12]}, file {migration.checksum[:12]}); "
                "restore the file and put the change in a new migration"
            )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist yet (connecting would create it), else None."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None  # not a URL: ``AppDatabase`` names the setting and the value
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def _masked(url: str) -> str:
    """The URL text for a message, any password replaced (it may not even parse)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return _PASSWORD_IN_TEXT.sub("***", url)


def _create_engine(url: str, setting: str = APP_DB_URL_VAR) -> Engine:
    """An engine for a supported URL; anything else is one ``SettingError`` naming the setting.

    Checked before any connection: the URL parses, names SQLite or PostgreSQL with an installed
    driver, and a SQLite file that already exists really is one (SQLite would only say "file is not
    a database" at the first query, in the middle of a migration).
    """
    shown = _masked(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise SettingError(
            f"{setting}={shown!r} is not a database URL; use e.g. sqlite:///data/app.sqlite or "
            "postgresql+psycopg2://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise SettingError(
            f"{setting}={shown!r}: {backend} is not supported; the app database is SQLite "
            "(sqlite:///path) or PostgreSQL (postgresql+psycopg2://user@host/db)"
        )
    if backend != "sqlite":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise SettingError(
                f"{setting}={shown!r}: the driver {parsed.drivername!r} is not installed ({exc}); "
                "use postgresql+psycopg2:// (psycopg2 ships with spx-pipeline)"
            ) from None
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        if path.is_dir():
            raise SettingError(f"{setting}={shown!r}: {path} is a directory, not a SQLite file")
        if path.is_file():
            _check_sqlite_file(path, setting, shown)
        else:
            prepare_parent_dir(path, setting=setting, value=shown)
    engine = sa.create_engine(parsed, connect_args={"timeout": 30})

    # pysqlite opens transactions lazily and never before DDL, so a failing migration would leave
    # half its tables behind. Taking over BEGIN makes every transaction real (and IMMEDIATE takes
    # the write lock up front, so concurrent upgraders queue instead of deadlocking).
    @sa.event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check_sqlite_file(path: Path, setting: str, shown: str) -> None:
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise SettingError(f"{setting}={shown!r}: cannot read {path}: {exc.strerror or exc}") from None
    if header and header != _SQLITE_HEADER:  # an empty file is a new, empty SQLite database
        raise SettingError(
            f"{setting}={shown!r}: {path} is not a SQLite database; point the setting at the app "
            "database (or at a new file name)"
        )
