"""The warehouse's copy of the app database's trades, and the repair of placements a dead run left.

The app database decides; the warehouse holds what analysts read. Each copy takes what the
warehouse does not have yet (newer versions of trades and orders, newer events) from a recent
window plus every live trade, writes it in one transaction and publishes it as the ``trades``
stage, so every run that touched trades, including one killed before it published, is caught up
by the next. Only keys and versions of the window are read to find what is missing; whole rows
are read for those alone (by the tenth day a window holds ten days of trades, nearly all of them
copied long ago). Placement runs that died before publishing their ``order_placements`` rows are
published by the next copy too, once they are older than a placement can take.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress
from typing import Any

import pandas as pd
import sqlalchemy as sa

from spx_pipeline.domain.trades import TERMINAL
from spx_pipeline.storage.app.bulk import as_text, read_columns, read_columns_in
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import order_placements, trade_events, trade_orders, trades
from spx_pipeline.storage.warehouse.base import first_line, quote_identifier
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseTransaction

MIRROR_WINDOW = timedelta(days=10)
SETTLED_AFTER = timedelta(minutes=5)  # a placement run still writing is never published under it
# Rows missing from the warehouse are read by key, unless they are at least this share of their
# window: then one read of the window, kept to them (a day's first copy: every trade it planned).
WHOLE_WINDOW_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class MirrorCounts:
    trade_versions: int = 0
    order_versions: int = 0
    events: int = 0
    placement_runs_repaired: int = 0

    @property
    def total(self) -> int:
        return self.trade_versions + self.order_versions + self.events + self.placement_runs_repaired


def _app_frame(appdb: AppDatabase, query: sa.Select) -> pd.DataFrame:
    """The query's rows as a frame (no rows: an empty frame without columns, as callers expect).

    Read column by column (``bulk.read_columns``: the same values SQLAlchemy's rows hold), so pandas
    infers each column from the same values without a tuple or dict per row.
    """
    with appdb.engine.connect() as conn:
        return _frame(read_columns(conn, query))


def _frame(columns: dict[str, list]) -> pd.DataFrame:
    if not columns or not len(next(iter(columns.values()))):
        return pd.DataFrame()
    return pd.DataFrame(columns)


def _newer(tx: WarehouseTransaction, app: pd.DataFrame, table: str, key: str, version: str) -> pd.DataFrame:
    """Keys of ``app`` whose ``version`` is above the highest ``table`` has published for their key
    (joined inside DuckDB: a window holds hundreds of thousands of keys by its tenth day)."""
    if app.empty:
        return app
    view = f"_spx_keys_{uuid.uuid4().hex}"
    tx.con.register(view, app[[key, version]])
    try:
        return tx.query(
            f"SELECT k.{key}, k.{version} FROM {view} AS k LEFT JOIN ("
            f"SELECT {key}, max({version}) AS known FROM published.{table} "
            f"WHERE {key} IN (SELECT {key} FROM {view}) GROUP BY {key}"
            f") AS p USING ({key}) WHERE p.known IS NULL OR k.{version} > p.known"
        )
    finally:
        tx.con.unregister(view)


def _windows(since: datetime) -> dict[str, sa.ColumnElement[bool]]:
    """What a copy takes of each table: a recent window plus every live trade and its orders.

    Each only grows while a copy runs: ``since`` is fixed, no row is deleted, and every write stamps
    ``updated_at`` with its run's time, never ten days behind the copy's (runs stamp their start
    time, so stamps are not in commit order, but all are after ``since``). The rows read by it after
    its keys were read therefore include every one of them.
    """
    in_window = sa.or_(trades.c.updated_at >= since, trades.c.state.not_in([str(s) for s in TERMINAL]))
    return {
        "trades": in_window,
        "trade_orders": sa.or_(
            trade_orders.c.updated_at >= since,
            trade_orders.c.trade_id.in_(sa.select(trades.c.trade_id).where(in_window)),
        ),
        "trade_events": trade_events.c.occurred_at >= since,
    }


@dataclass(frozen=True, slots=True)
class AppTrades:
    """What a copy reads of the app database first: keys and versions of the window's trades
    (``trade_id``, ``version``), orders (``tag``, ``version``) and events (``trade_id``, ``seq``),
    and its placement runs; ``since`` is where the window starts."""

    trades: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    placements: pd.DataFrame
    since: datetime


def read_app_trades(appdb: AppDatabase, *, now: datetime) -> AppTrades:
    """The app database's side of a copy: the keys of its window (``_windows``) and its placement runs."""
    since = now - MIRROR_WINDOW
    window = _windows(since)
    app_trades = _app_frame(appdb, sa.select(trades.c.trade_id, trades.c.version).where(window["trades"]))
    app_orders = _app_frame(
        appdb, sa.select(trade_orders.c.tag, trade_orders.c.version).where(window["trade_orders"])
    )
    app_events = _app_frame(
        appdb, sa.select(trade_events.c.trade_id, trade_events.c.seq).where(window["trade_events"])
    )
    placements = _app_frame(
        appdb,
        sa.select(order_placements.c.run_id, sa.func.max(order_placements.c.recorded_at).label("last"))
        .where(order_placements.c.recorded_at >= since)
        .group_by(order_placements.c.run_id),
    )
    return AppTrades(app_trades, app_orders, app_events, placements, since)


@dataclass(frozen=True, slots=True)
class _Rows:
    """Rows of an app table, each one JSON array of the values (``as_text``'s) of the columns the
    warehouse keeps: one Python string per row on the way to DuckDB, which takes the arrays apart
    (``_write``). ``names`` and ``integers`` are the warehouse's names for those columns."""

    names: tuple[str, ...]
    integers: frozenset[str]  # whole-number columns (read as numbers, typed BIGINT as before)
    rows: list[str]

    def __len__(self) -> int:
        return len(self.rows)


_ROW = "_spx_row"
# App columns the warehouse keeps under another name; its own ``run_id`` is the copying run's.
_RENAMED = {"trade_orders": {"run_id": "claimed_by_run"}, "trade_events": {"run_id": "recorded_by_run"}}


def _kept(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns of ``table`` the warehouse keeps: only they travel (an order's payload does not)."""
    renamed = _RENAMED.get(table.name, {})
    wanted = set(column_names(table.name)) - {"run_id"}
    return [c for c in table.c if renamed.get(c.key, c.key) in wanted]


def _json_row(dialect_name: str, columns: list[sa.Column[Any]]) -> sa.ColumnElement[Any]:
    """The row as one JSON array of its columns' text (SQLite and PostgreSQL both have one; the
    array takes up to 100 values on PostgreSQL, the tables have at most about 35 columns)."""
    values = [as_text(c) for c in columns]
    if dialect_name == "sqlite":
        return sa.func.json_array(*values).label(_ROW)
    return sa.cast(sa.func.json_build_array(*values), sa.Text).label(_ROW)


def _rows_of(
    appdb: AppDatabase,
    table: sa.Table,
    keys: pd.DataFrame,
    names: list[str],
    *,
    window: pd.DataFrame,
    since: datetime,
) -> _Rows:
    """The app database's rows of ``table`` whose key (its columns ``names``) is among ``keys``.

    Few keys of a large window (a re-run, a later day) are read by key, ``IN_CHUNK`` at a time; when
    they are ``WHOLE_WINDOW_SHARE`` of the ``window`` they came from or more, one read of the
    window, kept to those keys, is cheaper than looking each one up (a first copy of 20,000 new
    trades and their events: 0.32 s against 0.65 s). Only the keys and one JSON text per row
    become Python objects.
    """
    kept = _kept(table)
    renamed = _RENAMED.get(table.name, {})
    every = tuple(renamed.get(c.key, c.key) for c in kept)
    integers = frozenset(renamed.get(c.key, c.key) for c in kept if isinstance(c.type, sa.Integer))
    if keys.empty:
        return _Rows(every, integers, [])
    with appdb.engine.connect() as conn:
        query = sa.select(*(table.c[name] for name in names), _json_row(conn.dialect.name, kept))
        if len(keys) >= WHOLE_WINDOW_SHARE * len(window):
            columns = read_columns(conn, query.where(_windows(since)[table.name]))
        else:
            columns = read_columns_in(conn, query, table.c[names[0]], keys[names[0]].tolist())
    wanted = set(zip(*(keys[name].tolist() for name in names), strict=True))
    asked = list(map(wanted.__contains__, zip(*(columns[name] for name in names), strict=True)))
    rows = columns[_ROW] if all(asked) else list(compress(columns[_ROW], asked))
    return _Rows(every, integers, rows)


def mirror_trades(appdb: AppDatabase, warehouse: Warehouse, *, run_id: str, now: datetime) -> MirrorCounts:
    """Copy what the warehouse lacks of the app database's trades; publish it when there is any."""
    app = read_app_trades(appdb, now=now)
    with warehouse.transaction() as tx:
        return copy_trades(tx, appdb, app, run_id=run_id, now=now)


def _nothing() -> None:
    return None


def copy_trades(
    tx: WarehouseTransaction,
    appdb: AppDatabase,
    app: AppTrades,
    *,
    run_id: str,
    now: datetime,
    alongside: Callable[[], None] = _nothing,
) -> MirrorCounts:
    """``mirror_trades`` inside a transaction the caller holds (a stage writing its own rows in the
    same one commits once): what the warehouse lacks of ``app`` is written and published.

    Once the keys the warehouse lacks are known, ``alongside`` (the caller's own writes to ``tx``)
    runs on this thread while the rows are read from the app database on another (``_read_beside``):
    DuckDB, SQLite and psycopg2 release the interpreter lock while they work, so a day's first copy
    reads its 20,000 trades while the tickets are written. Only this thread touches ``tx``.
    """
    missing = (
        _newer(tx, app.trades, "trades", "trade_id", "version"),
        _newer(tx, app.orders, "trade_orders", "tag", "version"),
        _newer(tx, app.events, "trade_events", "trade_id", "seq"),
    )
    new_trades, new_orders, new_events = _read_beside(appdb, app, missing, alongside)
    repaired = _repair_placements(appdb, tx, app.placements, run_id=run_id, now=now)
    counts = MirrorCounts(len(new_trades), len(new_orders), len(new_events), repaired)
    if counts.trade_versions or counts.order_versions or counts.events:
        _write(tx, "trades", new_trades, run_id)
        _write(tx, "trade_orders", new_orders, run_id)
        _write(tx, "trade_events", new_events, run_id)
        tx.publish(run_id, "trades")
    return counts


def _read_beside(
    appdb: AppDatabase,
    app: AppTrades,
    missing: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    alongside: Callable[[], None],
) -> tuple[_Rows, _Rows, _Rows]:
    """``_missing_rows`` read on a thread of its own while ``alongside`` runs on this one; read here,
    after it, when nothing runs alongside or when another thread would not reach the same database
    (``AppDatabase.shared_by_threads``). An error on either side is raised once both are done,
    ``alongside``'s first (with the read's, if it failed too, in a note)."""
    if alongside is _nothing or not appdb.shared_by_threads:
        alongside()
        return _missing_rows(appdb, app, *missing)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trade-copy-read") as pool:
        reading = pool.submit(_missing_rows, appdb, app, *missing)
        try:
            alongside()
        except BaseException as exc:
            failed = reading.exception()  # waits for the read: no thread outlives the copy
            if failed is not None:
                exc.add_note(f"the trades' copy's read of the app database failed too: {first_line(failed)}")
            raise
        return reading.result()


def _missing_rows(
    appdb: AppDatabase,
    app: AppTrades,
    trade_keys: pd.DataFrame,
    order_keys: pd.DataFrame,
    event_keys: pd.DataFrame,
) -> tuple[_Rows, _Rows, _Rows]:
    """The app database's rows of the trades, orders and events whose keys the warehouse lacks."""
    return (
        _rows_of(appdb, trades, trade_keys, ["trade_id"], window=app.trades, since=app.since),
        _rows_of(appdb, trade_orders, order_keys, ["tag"], window=app.orders, since=app.since),
        _rows_of(appdb, trade_events, event_keys, ["trade_id", "seq"], window=app.events, since=app.since),
    )


def _write(tx: WarehouseTransaction, table: str, rows: _Rows, run_id: str) -> None:
    """The rows, stamped with the copying run, replaced by the table's key. DuckDB takes each row's
    JSON array apart and casts the text ``_rows_of`` read to the table's types (times on the
    connection's UTC), so no ``Decimal`` or ``datetime`` is made of each value on the way. A whole-
    number column holding anything but a whole number (SQLite keeps what it is given) fails the
    write, naming the value, rather than being rounded."""
    if not rows:
        return
    position = {name: i for i, name in enumerate(rows.names, start=1)}
    exprs = []
    for name in column_names(table):
        if name == "run_id":
            exprs.append(f"CAST(? AS VARCHAR) AS {quote_identifier(name)}")
        elif name in position:
            value = f"{_ROW}[{position[name]}]"
            exprs.append(_column(name, _whole(f"{table}.{name}", value) if name in rows.integers else value))
    frame = pd.DataFrame({"j": rows.rows}, dtype=object)
    select = f"SELECT {', '.join(exprs)} FROM (SELECT from_json(j, '[\"VARCHAR\"]') AS {_ROW} FROM {{rows}})"
    tx.replace_rows_from_query(table, select, {"rows": frame}, [run_id])


def _whole(field: str, value: str) -> str:
    """``value`` as BIGINT when it spells a whole number; anything else fails the query naming it."""
    return (
        f"CASE WHEN {value} IS NULL OR regexp_full_match({value}, '-?[0-9]+') THEN CAST({value} AS BIGINT) "
        f"ELSE error('{field} is not a whole number: ' || {value}) END"
    )


def _column(name: str, value: str) -> str:
    if name == "broker_order_id":  # text in the app database: only a whole number is an id
        whole = f"CASE WHEN regexp_full_match({value}, '[0-9]+') THEN {value} END"
        return f"TRY_CAST({whole} AS BIGINT) AS {name}"
    return f"{value} AS {quote_identifier(name)}"


def _repair_placements(
    appdb: AppDatabase, tx: WarehouseTransaction, runs: pd.DataFrame, *, run_id: str, now: datetime
) -> int:
    """Publish placement runs the app database has and the warehouse never got (a run that died)."""
    if runs.empty:
        return 0
    settled = runs[pd.to_datetime(runs["last"], utc=True) <= pd.Timestamp(now - SETTLED_AFTER)]
    wanted = sorted(str(r) for r in settled["run_id"] if str(r) != run_id)
    if not wanted:
        return 0
    have = tx.query(
        "SELECT DISTINCT run_id FROM published.order_placements WHERE list_contains(?, run_id)", [wanted]
    )
    missing = sorted(set(wanted) - set(have["run_id"].astype(str)))
    for lost in missing:
        rows = _app_frame(appdb, sa.select(order_placements).where(order_placements.c.run_id == lost))
        rows = rows.assign(
            broker_order_id=pd.to_numeric(rows["broker_order_id"], errors="coerce").astype("Int64")
        )
        tx.replace_rows(
            "order_placements",
            rows,
            delete_where={"run_id": lost},
        )
        tx.publish(lost, "placements", published_by=run_id)
    return len(missing)


def unpublished_placement_runs(appdb: AppDatabase, warehouse: Warehouse, *, now: datetime) -> list[str]:
    """Placement runs of the window the app database has and the warehouse never published."""
    runs = _app_frame(
        appdb,
        sa.select(order_placements.c.run_id, sa.func.max(order_placements.c.recorded_at).label("last"))
        .where(order_placements.c.recorded_at >= now - MIRROR_WINDOW)
        .group_by(order_placements.c.run_id),
    )
    if runs.empty:
        return []
    settled = runs[pd.to_datetime(runs["last"], utc=True) <= pd.Timestamp(now - SETTLED_AFTER)]
    wanted = sorted(str(r) for r in settled["run_id"])
    if not wanted:
        return []
    have = warehouse.query(
        "SELECT DISTINCT run_id FROM published.order_placements WHERE list_contains(?, run_id)", [wanted]
    )
    return sorted(set(wanted) - set(have["run_id"].astype(str)))
