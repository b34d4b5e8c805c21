"""Turn a first run's trades and tickets into earlier sessions, for timing a later day's first run.

``bench/pipeline.py --history DAYS``: after the timed first run, each of its trades (with its events)
and tickets is copied into each of the DAYS trading sessions before it (the exchange calendar's, as
a daily schedule makes them: no weekend, no holiday), closed, under that session's date in their
ids, tags, ticket ids and order payloads, in the app database and in the warehouse, and the run's
own session is emptied again. The next run of the job is then the first run of day DAYS + 1: the
same accounts and recommendations, with the tables, their keys and the trades' copy window grown as
a daily schedule grows them.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import duckdb

from spx_pipeline.domain.market_calendar import previous_session

# What each copy of a row changes, as SQL of the row's own columns ({d}: calendar days back to the
# aged session, so the trades' ten-calendar-day copy window holds the sessions a real one would);
# other columns are copied as they are. Times keep SQLAlchemy's SQLite text form (microseconds, six
# digits). A trade's id and tag carry its session's date (``T20261124-…``, ``spx-20261124-…``), which
# is moved back too: a real day's trades sort after every earlier day's in those keys, so a new day's
# rows are appended to their B-trees rather than scattered among the history's (as a suffix would).
# The hash after the date stays the first run's: unique within a day, and as unordered as the real one.
_APP_ID_DAY = (
    "strftime('%Y%m%d', date(substr({c}, {at}, 4) || '-' || substr({c}, {at} + 4, 2) || '-' || "
    "substr({c}, {at} + 6, 2), '-{{d}} days'))"
)
_APP_SHIFT = {
    "trade_id": "'T' || " + _APP_ID_DAY.format(c="trade_id", at=2) + " || substr(trade_id, 10)",
    "tag": "'spx-' || " + _APP_ID_DAY.format(c="tag", at=5) + " || substr(tag, 13)",
    "session_date": "date(session_date, '-{d} days')",
    "expiration_date": "date(expiration_date, '-{d} days')",
    "state": "'closed'",
    "close_reason": "'target'",
    "created_at": "strftime('%Y-%m-%d %H:%M:%f', created_at, '-{d} days') || '000'",
    "updated_at": "strftime('%Y-%m-%d %H:%M:%f', updated_at, '-{d} days') || '000'",
    "closed_at": "strftime('%Y-%m-%d %H:%M:%f', updated_at, '-{d} days') || '000'",
    "occurred_at": "strftime('%Y-%m-%d %H:%M:%f', occurred_at, '-{d} days') || '000'",
}
_WAREHOUSE_ID_DAY = "strftime(strptime(substr({c}, {at}, 8), '%Y%m%d') - INTERVAL {{d}} DAY, '%Y%m%d')"
_WAREHOUSE_TAG = "'spx-' || " + _WAREHOUSE_ID_DAY.format(c="tag", at=5) + " || substr(tag, 13)"
_WAREHOUSE_SHIFT = {
    # As ids.ticket_id names a leg, and its payload carrying the tag it was sent with.
    "ticket_id": f"left(sha256({_WAREHOUSE_TAG} || '|' || leg), 20)",
    "payload_json": f"replace(CAST(payload_json AS VARCHAR), tag, {_WAREHOUSE_TAG})",
    "trade_id": "'T' || " + _WAREHOUSE_ID_DAY.format(c="trade_id", at=2) + " || substr(trade_id, 10)",
    "tag": _WAREHOUSE_TAG,
    "as_of_date": "as_of_date - {d}",
    "session_date": "session_date - {d}",
    "expiration_date": "expiration_date - {d}",
    "state": "'closed'",
    "close_reason": "'target'",
    "created_at": "created_at - INTERVAL {d} DAY",
    "updated_at": "updated_at - INTERVAL {d} DAY",
    "closed_at": "updated_at - INTERVAL {d} DAY",
    "occurred_at": "occurred_at - INTERVAL {d} DAY",
}


def _days_back(session: date, days: int) -> list[int]:
    """Calendar days from ``session`` back to each of the ``days`` trading sessions before it."""
    back, day = [], session
    for _ in range(days):
        day = previous_session(day)
        back.append((session - day).days)
    return back


def _select(columns: list[str], shift: dict[str, str], days: int) -> str:
    return ", ".join(shift[c].format(d=days) if c in shift else c for c in columns)


def age_into_history(app_db: Path, warehouse: Path, days: int) -> dict[str, int]:
    """Copy the newest session's trades, events and tickets into the ``days`` sessions before it,
    then empty that session; returns the rows each store then holds."""
    app = sqlite3.connect(app_db)
    try:
        (session,) = app.execute("SELECT max(session_date) FROM trades").fetchone()
        days_back = _days_back(date.fromisoformat(session), days)
        today = "SELECT trade_id FROM trades WHERE session_date = ?"
        for table, where in (("trades", "session_date = ?"), ("trade_events", f"trade_id IN ({today})")):
            columns = [row[1] for row in app.execute(f"PRAGMA table_info({table})")]
            for d in days_back:
                app.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"SELECT {_select(columns, _APP_SHIFT, d)} FROM {table} WHERE {where}",
                    [session],
                )
        app.execute(f"DELETE FROM trade_events WHERE trade_id IN ({today})", [session])
        app.execute("DELETE FROM trades WHERE session_date = ?", [session])
        app.commit()
        (app_trades,) = app.execute("SELECT count(*) FROM trades").fetchone()
    finally:
        app.close()
    wh = duckdb.connect(str(warehouse))
    try:
        day = f"DATE '{session}'"
        today = f"SELECT trade_id FROM trades WHERE session_date = {day}"
        wheres = {
            "order_tickets": f"as_of_date = {day}",
            "trades": f"session_date = {day}",
            "trade_events": f"trade_id IN ({today})",
        }
        for table, where in wheres.items():
            columns = [
                name
                for (name,) in wh.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
                    "ORDER BY column_index",
                    [table],
                ).fetchall()
            ]
            for d in days_back:
                wh.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"SELECT {_select(columns, _WAREHOUSE_SHIFT, d)} FROM {table} WHERE {where}"
                )
        for table in ("trade_events", "trades", "order_tickets"):  # events first: they name today's trades
            wh.execute(f"DELETE FROM {table} WHERE {wheres[table]}")
        wh.execute("CHECKPOINT")
        (tickets,) = wh.execute("SELECT count(*) FROM order_tickets").fetchone()
    finally:
        wh.close()
    return {"app trades": int(app_trades), "warehouse tickets": int(tickets)}
