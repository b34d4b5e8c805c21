"""SQLAlchemy Core views of the app-database tables that the migrations in ``sql/app`` create.

The DDL lives in the SQL files (the one source of truth for the schema) and these ``Table`` objects
are read from it: a column added by a migration appears here without a second edit. They only
describe the columns, so queries get the same Python types back from SQLite and PostgreSQL: aware
UTC datetimes and exact ``Decimal`` money on both engines.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from spx_pipeline.storage.app.migrations import MigrationError, load_migrations

metadata = sa.MetaData()
_SCALE = Decimal("0.0001")


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
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(_SCALE)  # same scale from both engines: Decimal("1.2500")


# The portable SQL types the migrations use, and the column type each reads back as.
_TYPES: dict[str, type[TypeEngine[Any]] | TypeEngine[Any]] = {
    "TEXT": sa.Text,
    "TIMESTAMP": UtcDateTime,
    "NUMERIC(18,4)": Money,
    "INTEGER": sa.Integer,
    "BIGINT": sa.BigInteger,
    "BOOLEAN": sa.Boolean,
    "DATE": sa.Date,
    "DOUBLE PRECISION": sa.Float,
}
_TYPE = "|".join(re.escape(name) for name in sorted(_TYPES, key=len, reverse=True))
_COLUMN = re.compile(rf"^(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>{_TYPE})(?P<rest>(?:\s.*)?)$", re.IGNORECASE)
_DEFAULT = re.compile(r"\bDEFAULT\s+(?P<value>'[^']*'|\S+)", re.IGNORECASE)
_CREATE = re.compile(
    r"^CREATE TABLE (?:IF NOT EXISTS )?(?P<table>\w+) \((?P<body>.*)\)$", re.IGNORECASE | re.DOTALL
)
_ADD_COLUMN = re.compile(r"^ALTER TABLE (?P<table>\w+) ADD COLUMN (?P<column>.*)$", re.IGNORECASE | re.DOTALL)
_TABLE_KEY = re.compile(r"^PRIMARY KEY \((?P<names>[^)]*)\)", re.IGNORECASE)
_ITEM_INDENT = "    "  # columns and constraints; their continuation lines are indented further
_CONSTRAINT = re.compile(r"^(?:CONSTRAINT|CHECK|UNIQUE|FOREIGN KEY)\b", re.IGNORECASE)

# Created by the migration runner itself (it records which migrations ran), not by a migration file.
CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMP NOT NULL
)
"""


def _column(definition: str, *, table: str, primary: set[str]) -> sa.Column[Any]:
    """One column from its DDL line: name, type, NOT NULL, PRIMARY KEY and DEFAULT."""
    match = _COLUMN.match(" ".join(definition.split()))
    if match is None:
        raise MigrationError(f"{table}: cannot read the column definition {definition.strip()!r}")
    rest = match["rest"].upper()
    key = "PRIMARY KEY" in rest or match["name"] in primary
    default = _DEFAULT.search(match["rest"])
    return sa.Column(
        match["name"],
        _TYPES[match["type"].upper()],
        primary_key=key,
        nullable=key is False and "NOT NULL" not in rest,
        server_default=sa.text(default["value"]) if default else None,
    )


def _is_item(raw: str) -> bool:
    """A column or constraint line of a CREATE TABLE body, not the continuation of one."""
    return raw.startswith(_ITEM_INDENT) and not raw.startswith(_ITEM_INDENT + " ")


def _table_columns(body: str, *, table: str) -> list[sa.Column[Any]]:
    """The columns of a CREATE TABLE body; constraint and table-key lines are not columns."""
    primary: set[str] = set()
    definitions: list[str] = []
    for raw in body.splitlines():
        line = raw.strip().removesuffix(",")
        key = _TABLE_KEY.match(line)
        if key is not None:
            primary.update(name.strip() for name in key["names"].split(","))
        elif _is_item(raw) and not _CONSTRAINT.match(line):
            definitions.append(line)  # an unreadable column is an error in _column, never skipped
    return [_column(line, table=table, primary=primary) for line in definitions]


def _build(statements: list[str]) -> dict[str, sa.Table]:
    """The tables the statements create, with the columns later statements add, in that order."""
    tables: dict[str, sa.Table] = {}
    for statement in statements:
        created = _CREATE.match(statement)
        added = _ADD_COLUMN.match(statement)
        if created is not None:
            name = created["table"]
            tables[name] = sa.Table(name, metadata, *_table_columns(created["body"], table=name))
        elif added is not None:
            table = added["table"]
            tables[table].append_column(_column(added["column"], table=table, primary=set()))
    return tables


_TABLES = _build(
    [statement for migration in load_migrations() for statement in migration.statements]
    + [CREATE_SCHEMA_MIGRATIONS.strip()]
)

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
