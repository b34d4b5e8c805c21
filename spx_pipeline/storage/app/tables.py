"""SQLAlchemy Core views of the app-database tables that the migrations in ``sql/app`` create.

The DDL lives in the SQL files (the one source of truth for the schema) and these ``Table`` objects
are read from it: a column added by a migration appears here without a second edit. They only
describe the columns, so queries get the same Python types back from SQLite and PostgreSQL: aware
UTC datetimes and exact ``Decimal`` money on both engines.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from spx_pipeline.storage.app.migrations import MigrationError, load_migrations

metadata = sa.MetaData()
_SCALE = Decimal("0.0001")
_LIMIT = Decimal("1e14")  # NUMERIC(18,4): 14 digits before the point


class UtcDateTime(TypeDecorator[datetime]):
    """TIMESTAMP holding UTC without a zone; Python sees aware UTC datetimes.

    Naive values are refused on the way in: guessing a zone for a timestamp is how audit trails
    drift by hours.
    """

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """NUMERIC(18,4) that round-trips ``Decimal`` on both engines.

    SQLite has no decimal type and SQLAlchemy's Numeric warns about float conversion there, so on
    SQLite the value is bound as text (NUMERIC affinity stores it as a number) and read back through
    ``str`` which is exact for the 4-decimal values we keep.

    Both engines store the same number: a value is rounded to 4 places here as PostgreSQL rounds
    it (halves away from zero), so SQLite never keeps digits PostgreSQL drops; one past 14 digits
    before the point fails on both, naming it, where only PostgreSQL refused it.
    """

    impl = sa.Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.Numeric(18, 4))

    def process_bind_param(self, value: Decimal | float | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if not number.is_finite():
            raise ValueError(f"money value {value!r} is not a finite number")
        rounded = number.quantize(_SCALE, rounding=ROUND_HALF_UP) if abs(number) < _LIMIT else number
        if abs(rounded) >= _LIMIT:
            raise ValueError(f"money value {value!r} does not fit NUMERIC(18,4) (14 digits before the point)")
        return str(rounded) if dialect.name == "sqlite" else rounded

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        # Same scale from both engines (Decimal("1.2500")), rounded as the bind rounds.
        return number.quantize(_SCALE, rounding=ROUND_HALF_UP)


# The portable SQL types the migrations use, and the column type each reads back as.
_TYPES: dict[str, Any] = {
    "TEXT": sa.Text,
    "INTEGER": sa.Integer,
    "BIGINT": sa.BigInteger,
    "BOOLEAN": sa.Boolean,
    "DATE": sa.Date,
    "DOUBLE PRECISION": sa.Float,
    "TIMESTAMP": UtcDateTime,
    "NUMERIC(18,4)": Money,
}

# Created by the migration runner itself (it records which migrations ran), not by a migration file.
CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMP NOT NULL
)
"""


def _column_type(table: str, column: str, declared: str) -> Any:
    try:
        return _TYPES[" ".join(declared.upper().split())]
    except KeyError:
        raise MigrationError(
            f"{table}.{column}: declared type {declared!r} has no column type here; add it to _TYPES"
        ) from None


def _reflect(target: sa.MetaData) -> None:
    """Add to ``target`` every table the migrations create, columns in the order they were added.

    SQLite reads the DDL (an in-memory database, the migrations applied as the runner applies
    them) and reports each column's declared type, NOT NULL, default and key position, so no
    parser of ours stands between the SQL files and these tables.
    """
    con = sqlite3.connect(":memory:")
    try:
        con.execute(CREATE_SCHEMA_MIGRATIONS)
        for migration in load_migrations():
            for statement in migration.statements:
                con.execute(statement)
        names = [
            row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        for name in names:
            # cid, name, declared type, notnull, default, position in the primary key (0: not in it)
            info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
            sa.Table(
                name,
                target,
                *(
                    sa.Column(
                        column,
                        _column_type(name, column, declared),
                        primary_key=key > 0,
                        nullable=not (notnull or key),
                        server_default=None if default is None else sa.text(default),
                    )
                    for _, column, declared, notnull, default, key in info
                ),
            )
    finally:
        con.close()


_reflect(metadata)
_TABLES = metadata.tables

broker_credentials = _TABLES["broker_credentials"]
app_counters = _TABLES["app_counters"]
portfolio_snapshots = _TABLES["portfolio_snapshots"]
spx_setup_instances = _TABLES["spx_setup_instances"]
order_placements = _TABLES["order_placements"]
trades = _TABLES["trades"]
trade_orders = _TABLES["trade_orders"]
trade_events = _TABLES["trade_events"]
account_limits = _TABLES["account_limits"]
acknowledged_positions = _TABLES["acknowledged_positions"]
schema_migrations = _TABLES["schema_migrations"]
