"""SQLAlchemy Core views of the app-database tables that the migrations in ``sql/app`` create.

The DDL lives in the SQL files (the one source of truth for the schema); these ``Table`` objects
only describe the columns so queries get the same Python types back from SQLite and PostgreSQL:
aware UTC datetimes and exact ``Decimal`` money on both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

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


broker_credentials = sa.Table(
    "broker_credentials",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("label", sa.Text),
    sa.Column("environment", sa.Text, nullable=False),
    sa.Column("token_ciphertext", sa.Text, nullable=False),
    sa.Column("token_fingerprint", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("activated_at", UtcDateTime),
    sa.Column("rotated_at", UtcDateTime),
    sa.Column("deactivated_at", UtcDateTime),
    sa.Column("change_seq", sa.BigInteger, nullable=False),
    sa.Column("last_change", sa.Text, nullable=False),
    # 0006: which key encrypted the token (credential_keys.key_id)
    sa.Column("key_id", sa.Text),
)

app_counters = sa.Table(
    "app_counters",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

portfolio_snapshots = sa.Table(
    "portfolio_snapshots",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("captured_at", UtcDateTime, primary_key=True),
    sa.Column("account_type", sa.Text, nullable=False),
    sa.Column("environment", sa.Text, nullable=False),
    sa.Column("total_equity", Money, nullable=False),
    sa.Column("cash", Money, nullable=False),
    sa.Column("option_buying_power", Money, nullable=False),
    sa.Column("day_trade_buying_power", Money),
    sa.Column("pending_orders_count", sa.Integer, nullable=False),
    sa.Column("pdt_qualified", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.Text),
)

spx_setup_instances = sa.Table(
    "spx_setup_instances",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("label", sa.Text),
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("target_delta", sa.Float, nullable=False),
    sa.Column("stop_premium", Money),
    sa.Column("t1_gain_pct", Money, nullable=False),
    sa.Column("t1_fraction", Money, nullable=False),
    sa.Column("runner_stop_limit_offset", Money),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # 0004: execution fidelity
    sa.Column("broker", sa.Text),
    sa.Column("broker_order_id", sa.Text),
    sa.Column("entry_order_tag", sa.Text),
    sa.Column("intended_entry_price", Money),
    sa.Column("entry_fill_price", Money),
    sa.Column("entry_slippage", Money),
    sa.Column("t1_fill_price", Money),
    sa.Column("runner_exit_price", Money),
    sa.Column("filled_contracts", sa.Integer),
    sa.Column("executed_at", UtcDateTime),
    # 0005: budget order
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
)

order_placements = sa.Table(
    "order_placements",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("leg", sa.Text, nullable=False),
    sa.Column("tag", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("broker_order_id", sa.Text),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
)

trades = sa.Table(
    "trades",
    metadata,
    sa.Column("trade_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("setup_id", sa.Text, nullable=False),
    sa.Column("session_date", sa.Date, nullable=False),
    sa.Column("tag", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("option_symbol", sa.Text, nullable=False),
    sa.Column("expiration_date", sa.Date, nullable=False),
    sa.Column("planned_quantity", sa.Integer, nullable=False),
    sa.Column("limit_price", Money, nullable=False),
    sa.Column("stop_price", Money),
    sa.Column("t1_price", Money),
    sa.Column("t1_fraction", Money, nullable=False),
    sa.Column("runner_stop_limit_offset", Money),
    sa.Column("risk_per_contract", Money, nullable=False),
    sa.Column("cost_per_contract", Money, nullable=False),
    sa.Column("pdt_qualified", sa.Boolean),
    sa.Column("risk_fingerprint", sa.Text, nullable=False),
    sa.Column("recommendation_run_id", sa.Text, nullable=False),
    sa.Column("blocked_reason", sa.Text),
    sa.Column("close_reason", sa.Text),
    sa.Column("filled_quantity", sa.Integer, nullable=False),
    sa.Column("exited_quantity", sa.Integer, nullable=False),
    sa.Column("entry_price", Money),
    sa.Column("realized_pnl", Money),
    sa.Column("risk_committed", Money, nullable=False),
    sa.Column("entry_sent_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime),
)

trade_orders = sa.Table(
    "trade_orders",
    metadata,
    sa.Column("tag", sa.Text, primary_key=True),
    sa.Column("trade_id", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("leg", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("order_class", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("order_type", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("price", Money),
    sa.Column("stop_price", Money),
    sa.Column("duration", sa.Text, nullable=False),
    sa.Column("session_date", sa.Date, nullable=False),
    sa.Column("local_status", sa.Text, nullable=False),
    sa.Column("payload_json", sa.Text, nullable=False),
    sa.Column("broker_order_id", sa.Text),
    sa.Column("broker_status", sa.Text),
    sa.Column("open_filled", sa.Integer, nullable=False),
    sa.Column("open_avg", Money),
    sa.Column("target_filled", sa.Integer, nullable=False),
    sa.Column("target_avg", Money),
    sa.Column("stop_filled", sa.Integer, nullable=False),
    sa.Column("stop_avg", Money),
    sa.Column("working_open", sa.Integer, nullable=False),
    sa.Column("working_target", sa.Integer, nullable=False),
    sa.Column("working_stop", sa.Integer, nullable=False),
    sa.Column("broker_reason", sa.Text),
    sa.Column("reported_at", UtcDateTime),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("claimed_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

trade_events = sa.Table(
    "trade_events",
    metadata,
    sa.Column("trade_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("filled_quantity", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("realized_pnl", Money),
    sa.Column("run_id", sa.Text, nullable=False),
)

account_limits = sa.Table(
    "account_limits",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("max_daily_risk", Money),
    sa.Column("max_trade_risk", Money),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

acknowledged_positions = sa.Table(
    "acknowledged_positions",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("option_symbol", sa.Text, primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("acknowledged_at", UtcDateTime, nullable=False),
)

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)
