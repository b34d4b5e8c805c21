"""The app database's portfolio history: a run's rows replace that run's and any row with their key."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.snapshots import read_snapshots, replace_snapshots

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
