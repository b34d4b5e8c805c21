"""The app database's portfolio history: a run's rows replace that run's and any row with their key."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.snapshots import _COLUMNS, _value, read_snapshots, replace_snapshots
from spx_pipeline.storage.app.tables import portfolio_snapshots

AT = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 15, 45, tzinfo=UTC)


def _rows(run_id: str, *keys: tuple[str, datetime], equity: float = 1000.0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "account_id": account,
                "captured_at": pd.Timestamp(at),
                "account_type": "margin",
                "environment": "sandbox",
                "total_equity": equity,
                "cash": 10.5,
                "option_buying_power": 99.25,
                "day_trade_buying_power": None,
                "pending_orders_count": 0,
                "pdt_qualified": False,
                "run_id": run_id,
            }
            for account, at in keys
        ]
    )


def test_a_run_replaces_its_own_rows_and_every_row_with_one_of_its_keys(app_db: AppDatabase) -> None:
    replace_snapshots(app_db, _rows("r1", ("VA1", AT), ("VA2", AT), ("VA3", AT)), run_id="r1")
    replace_snapshots(app_db, _rows("r2", ("VA1", AT), ("VA2", LATER), equity=2000.0), run_id="r2")
    replace_snapshots(app_db, _rows("r3", ("VA4", AT)), run_id="r3")
    stored = read_snapshots(app_db)
    got = {(r.account_id, r.captured_at.astimezone(UTC), r.run_id) for r in stored.itertuples()}
    assert got == {
        ("VA1", AT, "r2"),
        ("VA2", AT, "r1"),
        ("VA2", LATER, "r2"),
        ("VA3", AT, "r1"),
        ("VA4", AT, "r3"),
    }
    replace_snapshots(app_db, _rows("r1", ("VA3", LATER)), run_id="r1")  # r1 again: its old rows go
    stored = read_snapshots(app_db)
    assert sorted((r.account_id, r.run_id) for r in stored.itertuples()) == [
        ("VA1", "r2"), ("VA2", "r2"), ("VA3", "r1"), ("VA4", "r3"),
    ]  # fmt: skip
    assert {str(v) for v in stored["total_equity"]} >= {"2000.0000", "1000.0000"} or set(
        stored["total_equity"]
    )


def _replace_the_old_way(appdb: AppDatabase, frame: pd.DataFrame, *, run_id: str) -> None:
    """The row-by-row write ``replace_snapshots`` made before it bound column by column."""
    table = portfolio_snapshots
    rows = [{c: _value(row[c]) for c in _COLUMNS} for row in frame.to_dict("records")]
    with appdb.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.run_id == run_id))
        same_key = sa.delete(table).where(
            table.c.account_id == sa.bindparam("_account"), table.c.captured_at == sa.bindparam("_at")
        )
        conn.execute(same_key, [{"_account": r["account_id"], "_at": r["captured_at"]} for r in rows])
        conn.execute(sa.insert(table), rows)


def _stored(appdb: AppDatabase) -> list[tuple[object, ...]]:
    with appdb.engine.connect() as conn:  # the raw values the driver returns, not the column types'
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM portfolio_snapshots ORDER BY 1, 2, 11")]


def test_the_column_by_column_write_stores_what_the_row_by_row_write_stored(app_db: AppDatabase) -> None:
    rows = _rows("r1", *((f"VA{i}", AT) for i in range(6)), ("VA0", LATER))
    rows["total_equity"] = [1000.0, -0.0, 1e-05, 123456789.1234, 0.1 + 0.2, 2.5, 3.0]
    rows["day_trade_buying_power"] = [None, 5.25, float("nan"), 0.0, 7.0, None, 1.0]
    rows["pending_orders_count"] = [0, 1, 2, 3, 4, 5, 6]
    rows["pdt_qualified"] = [True, False, True, False, True, False, True]
    earlier = _rows("r0", ("VA1", AT), ("VA9", AT))  # VA1's key is taken over by r1, VA9 stays
    stored = []
    for write in (_replace_the_old_way, replace_snapshots):
        with app_db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM portfolio_snapshots")
        write(app_db, earlier, run_id="r0")
        write(app_db, rows, run_id="r1")
        write(app_db, rows.iloc[2:], run_id="r1")  # r1 again: its rows are replaced
        stored.append(_stored(app_db))
    assert stored[0] == stored[1]
    assert len(stored[1]) == 5 + 1
