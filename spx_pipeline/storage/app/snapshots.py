"""The app database's copy of the portfolio history (its ``portfolio_snapshots`` table).

The TypeScript app reads balances from its own Postgres, not from the analysts' DuckDB file, so
each sync also lands there. Writes are per source run and atomic: a re-run replaces its rows and
a failure leaves none. The app database is the system of record for this history: its commit is
the point at which a sync counts as done (see ``storage.reconcile``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from spx_pipeline.storage.app.bulk import delete_keys, insert_columns
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import portfolio_snapshots

_COLUMNS = tuple(c.name for c in portfolio_snapshots.columns)


def _value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float):
        return Decimal(str(value))
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def replace_snapshots(appdb: AppDatabase, frame: pd.DataFrame, *, run_id: str) -> int:
    """Replace the rows of ``run_id`` (and any row with the same key) with ``frame``, atomically.

    Converted and bound column by column (``bulk``): a sync writes one row per account.
    """
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"portfolio_snapshots rows lack column(s) {missing}")
    columns = {c: [_value(v) for v in frame[c].tolist()] for c in _COLUMNS}
    table = portfolio_snapshots
    with appdb.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.run_id == run_id))
        # One executemany of the keyed deletes, then one of the inserts.
        delete_keys(conn, table, {"account_id": columns["account_id"], "captured_at": columns["captured_at"]})
        insert_columns(conn, table, columns)
    return len(frame)


def read_snapshots(appdb: AppDatabase) -> pd.DataFrame:
    with appdb.engine.connect() as conn:
        result = conn.execute(sa.select(portfolio_snapshots).order_by("account_id", "captured_at"))
        return pd.DataFrame(result.mappings().all(), columns=list(_COLUMNS))


def snapshot_counts(appdb: AppDatabase, *, since: datetime) -> dict[str, int]:
    """Rows per source run captured at or after ``since`` (what reconciliation compares)."""
    table = portfolio_snapshots
    with appdb.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.run_id, sa.func.count())
            .where(table.c.captured_at >= since, table.c.run_id.is_not(None))
            .group_by(table.c.run_id)
        ).all()
    return {str(run_id): int(count) for run_id, count in rows}


def read_run_snapshots(appdb: AppDatabase, run_id: str) -> pd.DataFrame:
    """The rows one source run wrote, in the warehouse's column names."""
    with appdb.engine.connect() as conn:
        result = conn.execute(
            sa.select(portfolio_snapshots)
            .where(portfolio_snapshots.c.run_id == run_id)
            .order_by("account_id", "captured_at")
        )
        return pd.DataFrame(result.mappings().all(), columns=list(_COLUMNS))
