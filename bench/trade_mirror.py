"""The warehouse's copy of trades over a 10-day window: what a copy costs as the window fills.

Each simulated day plans ``--trades`` trades (one session, through ``TradeStore.plan`` as the
tickets stage does), copies them (the day's first copy: everything of that day is new), copies
again (a re-run of the schedule: nothing new), then ends the session: every trade of the day is
abandoned with one event (one bulk UPDATE and INSERT here; the lifecycle would move them one by
one). A copy reads the window: by the tenth day ten days of trades and events, nearly all of them
copied long ago. The table gives each day's two copies in CPU seconds of this process (a loaded
machine stretches wall time, not CPU); run it at two commits to compare them side by side.

Run: ``.venv/bin/python bench/trade_mirror.py [--trades 20000] [--days 10]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from spx_pipeline.domain.trades import TradePlan, trade_id, trade_tag
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trade_events, trades
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.storage.warehouse.trade_mirror import mirror_trades

FIRST_SESSION = date(2026, 11, 2)  # a Monday; days advance by calendar day (weekends do not matter here)


def plans_of(session: date, n: int) -> list[tuple[TradePlan, str | None]]:
    out = []
    for i in range(n):
        account, setup = f"VA{i // 2:08d}", f"setup-{i % 2}"
        out.append(
            (
                TradePlan(
                    trade_id=trade_id(session, account, setup),
                    account_id=account,
                    setup_id=setup,
                    session=session,
                    tag=trade_tag(session, account, setup),
                    option_symbol=f"SPXW{session:%y%m%d}C06000000",
                    expiration=session,
                    planned_quantity=3,
                    limit_price=Decimal("4.40"),
                    stop_price=Decimal("2.20"),
                    t1_price=Decimal("6.60"),
                    t1_fraction=Decimal("0.5"),
                    runner_stop_limit_offset=None,
                    risk_per_contract=Decimal("225.65"),
                    cost_per_contract=Decimal("440.65"),
                    pdt_qualified=True,
                    risk_fingerprint="fp",
                    recommendation_run_id=f"rec-{session}",
                ),
                None,
            )
        )
    return out


def end_session(db: AppDatabase, session: date, at: datetime) -> None:
    """Every planned trade of ``session`` abandoned, with its event (seq = the new version)."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(trades)
            .where(trades.c.session_date == session)
            .values(state="abandoned", version=trades.c.version + 1, updated_at=at, closed_at=at)
        )
        rows = conn.execute(
            sa.select(trades.c.trade_id, trades.c.version).where(trades.c.session_date == session)
        ).all()
        conn.execute(
            sa.insert(trade_events),
            [
                {"trade_id": r.trade_id, "seq": r.version, "occurred_at": at, "from_state": "planned",
                 "to_state": "abandoned", "reason": "session ended", "filled_quantity": 0, "position": 0,
                 "realized_pnl": None, "run_id": f"close-{session}"}
                for r in rows
            ],
        )  # fmt: skip


def copy_cpu(db: AppDatabase, warehouse: Warehouse, run_id: str, now: datetime) -> float:
    """CPU seconds of one ``mirror_trades``."""
    started = time.process_time()
    mirror_trades(db, warehouse, run_id=run_id, now=now)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=20000, help="trades planned per day (default 20000)")
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spx-bench-mirror-") as tmp:
        db = AppDatabase(f"sqlite:///{Path(tmp) / 'app.sqlite'}")
        db.upgrade()
        warehouse = Warehouse(Path(tmp) / "warehouse.duckdb")
        warehouse.ensure_schema()
        store = TradeStore(db)
        print(f"{args.trades:,} trades a day, SQLite app database, DuckDB warehouse; CPU seconds per copy\n")
        print("| day | trades in the window | first copy of the day | re-run copy (nothing new) |")
        print("|---:|---:|---:|---:|")
        for day in range(args.days):
            session = FIRST_SESSION + timedelta(days=day)
            now = datetime(session.year, session.month, session.day, 15, 0, tzinfo=UTC)
            store.plan(plans_of(session, args.trades), run_id=f"rec-{session}", now=now)
            first = copy_cpu(db, warehouse, f"m1-{session}", now + timedelta(minutes=1))
            again = copy_cpu(db, warehouse, f"m2-{session}", now + timedelta(minutes=2))
            in_window = min(day + 1, 10) * args.trades
            print(f"| {day + 1} | {in_window:,} | {first:.2f} | {again:.2f} |", flush=True)
            end_session(db, session, now + timedelta(hours=6))


if __name__ == "__main__":
    main()
