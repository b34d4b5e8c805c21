"""The warehouse's copy of trades: only newer versions, published as ``trades``, idempotent; repairs."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import BrokerFacts, Trade, TradeState, entry_intent
from spx_pipeline.storage.app import bulk
from spx_pipeline.storage.app.claims import claim_entry, record_facts
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import order_placements, trade_events, trade_orders, trades
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse import trade_mirror
from spx_pipeline.storage.warehouse.base import WarehouseWriteError
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseTransaction
from spx_pipeline.storage.warehouse.trade_mirror import (
    copy_trades,
    mirror_trades,
    read_app_trades,
    unpublished_placement_runs,
)
from spx_pipeline.transformations.ticket_rows import ticket_rows
from spx_pipeline_tests.fixtures.stores import both_backends
from spx_pipeline_tests.fixtures.trades import SESSION, T0, later, make_plan


def _publications(wh: Warehouse, stage: str) -> list[str]:
    rows = wh.query("SELECT run_id FROM run_publications WHERE stage = ? ORDER BY seq", [stage])
    return list(rows["run_id"])


def _versions(wh: Warehouse, table: str, key: str, version: str) -> set[tuple[str, int]]:
    rows = wh.query(f"SELECT {key} AS k, {version} AS v FROM published.{table}")
    return {(str(r.k), int(r.v)) for r in rows.itertuples()}


def _day_of_trades(db: AppDatabase):
    store = TradeStore(db)
    outcomes = store.plan(
        [(make_plan(setup_id="a", quantity=2), None), (make_plan(setup_id="b"), None)], run_id="rec-1", now=T0
    )
    first = outcomes[0].trade
    order = claim_entry(db, first, entry_intent(first.plan), session=SESSION, run_id="p-1", now=T0).orders[0]
    facts = BrokerFacts("filled", open_filled=2, open_avg=Decimal("4.40"), reported_at=later(T0, 1))
    record_facts(db, order, facts, 501, now=later(T0, 1))
    return store, [o.trade for o in outcomes]


@both_backends
def test_a_copy_takes_what_the_warehouse_lacks_and_publishes_it(
    sqlite_app_db: AppDatabase, warehouse: Warehouse
) -> None:
    _, (first, second) = _day_of_trades(sqlite_app_db)
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    assert (counts.trade_versions, counts.order_versions, counts.events) == (2, 1, 3)
    assert _publications(warehouse, "trades") == ["m-1"]
    versions = _versions(warehouse, "trades", "trade_id", "version")
    assert versions == {(first.trade_id, 2), (second.trade_id, 1)}
    [order] = warehouse.query("SELECT * FROM published.trade_orders").to_dict("records")
    assert (order["broker_order_id"], order["open_filled"], order["claimed_by_run"]) == (501, 2, "p-1")
    assert Decimal(str(order["open_avg"])) == Decimal("4.40")
    events = _versions(warehouse, "trade_events", "trade_id", "seq")
    assert events == {(first.trade_id, 1), (first.trade_id, 2), (second.trade_id, 1)}


@both_backends
def test_a_second_copy_with_nothing_new_copies_and_publishes_nothing(
    sqlite_app_db: AppDatabase, warehouse: Warehouse
) -> None:
    _day_of_trades(sqlite_app_db)
    mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    before = warehouse.query("SELECT count(*) AS n FROM trades")["n"][0]
    again = mirror_trades(sqlite_app_db, warehouse, run_id="m-2", now=later(T0, 3))
    assert again.total == 0
    assert _publications(warehouse, "trades") == ["m-1"]
    assert warehouse.query("SELECT count(*) AS n FROM trades")["n"][0] == before


def test_only_versions_newer_than_the_warehouses_are_copied(
    sqlite_app_db: AppDatabase, warehouse: Warehouse
) -> None:
    store, (first, second) = _day_of_trades(sqlite_app_db)
    mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    current = store.trade(first.trade_id)
    assert current is not None
    opened = dataclasses.replace(current, state=TradeState.OPEN, filled_quantity=2)
    store.advance(current, opened, reason="2 held", at=later(T0, 5), run_id="r-2")
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-2", now=later(T0, 6))
    assert (counts.trade_versions, counts.order_versions, counts.events) == (1, 0, 1)
    assert _publications(warehouse, "trades") == ["m-1", "m-2"]
    latest = warehouse.query(
        "SELECT trade_id, max(version) AS v FROM published.trades GROUP BY trade_id ORDER BY trade_id"
    )
    assert dict(zip(latest["trade_id"], latest["v"], strict=True)) == {first.trade_id: 3, second.trade_id: 1}
    copied_by = warehouse.query(
        "SELECT run_id FROM trades WHERE trade_id = ? AND version = 3", [first.trade_id]
    )
    assert list(copied_by["run_id"]) == ["m-2"]


def test_whole_rows_are_read_only_for_what_the_warehouse_lacks(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys and versions of the whole window are compared; rows are read for the changed trade alone."""
    store, (first, second) = _day_of_trades(sqlite_app_db)
    TradeStore(sqlite_app_db).plan(
        [(make_plan(account_id=f"VB{i:08d}"), None) for i in range(8)], run_id="rec-2", now=T0
    )
    mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    current = store.trade(second.trade_id)
    assert current is not None
    store.advance(current, dataclasses.replace(current, state=TradeState.ABANDONED), reason="gone",
                  at=later(T0, 5), run_id="r-2")  # fmt: skip
    asked = _spy_reads(monkeypatch)
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-2", now=later(T0, 6))
    assert (counts.trade_versions, counts.order_versions, counts.events) == (1, 0, 1)
    assert asked == [("trades", [second.trade_id]), ("trade_events", [second.trade_id])]
    assert (first.trade_id, 2) in _versions(warehouse, "trade_events", "trade_id", "seq")
    assert (second.trade_id, 2) in _versions(warehouse, "trade_events", "trade_id", "seq")


def _spy_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[object]]]:
    """The reads by key the copy makes from now on: (table, the keys asked for)."""
    asked: list[tuple[str, list[object]]] = []
    real = trade_mirror.read_columns_in

    def spy(conn, query, column, values):  # type: ignore[no-untyped-def]
        asked.append((column.table.name, sorted(values)))
        return real(conn, query, column, values)

    monkeypatch.setattr(trade_mirror, "read_columns_in", spy)
    return asked


def test_a_first_copy_of_a_window_reads_the_window_once_not_each_key(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    _day_of_trades(sqlite_app_db)
    asked = _spy_reads(monkeypatch)
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    assert (counts.trade_versions, counts.order_versions, counts.events) == (2, 1, 3)
    assert asked == []


def test_reading_by_key_and_reading_the_window_copy_the_same_rows(
    app_db: AppDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten trades copied (all new), then one moves on (filled), then the other nine (abandoned): at
    each copy, reading what is missing by key and reading the window leave the same rows and
    publications in the warehouse (the reads differ on the app database's side only, so on both
    app databases and one warehouse backend)."""
    warehouses = {share: Warehouse(tmp_path / f"by-{share}.duckdb") for share in (0.0, 2.0)}
    for wh in warehouses.values():
        wh.ensure_schema()
    store, (first, _) = _day_of_trades(app_db)
    TradeStore(app_db).plan(
        [(make_plan(account_id=f"VB{i:08d}"), None) for i in range(8)], run_id="rec-2", now=T0
    )
    live = sorted(store.trades(live_only=True), key=lambda t: t.trade_id != first.trade_id)
    moves = [[], live[:1], live[1:]]
    for step, moving in enumerate(moves, start=1):
        for trade in moving:
            state = TradeState.OPEN if trade.trade_id == first.trade_id else TradeState.ABANDONED
            store.advance(trade, dataclasses.replace(trade, state=state), reason="moved",
                          at=later(T0, step), run_id="r-2")  # fmt: skip
        stored, counted = [], []
        for share, wh in warehouses.items():
            monkeypatch.setattr(trade_mirror, "WHOLE_WINDOW_SHARE", share)
            counted.append(mirror_trades(app_db, wh, run_id=f"m-{step}", now=later(T0, step)))
            stored.append(_stored(wh, tickets=False))
        assert counted[0] == counted[1]
        assert counted[0].trade_versions == (len(moving) or 10)
        assert stored[0] == stored[1], step


@pytest.mark.parametrize("share", [0.0, 2.0], ids=["window-read", "key-read"])
def test_a_live_trade_older_than_the_window_is_copied_with_its_order(
    app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    """Eleven days on, a trade still open (and its order) is in the window by being live, whichever
    way its rows are read; one closed as long ago is not."""
    _, (held, gone) = _day_of_trades(app_db)
    store = TradeStore(app_db)
    current = store.trade(gone.trade_id)
    assert current is not None
    store.advance(current, dataclasses.replace(current, state=TradeState.ABANDONED), reason="gone",
                  at=later(T0, 5), run_id="r-2")  # fmt: skip
    monkeypatch.setattr(trade_mirror, "WHOLE_WINDOW_SHARE", share)
    counts = mirror_trades(app_db, warehouse, run_id="m-1", now=T0 + timedelta(days=11))
    assert (counts.trade_versions, counts.order_versions) == (1, 1)
    assert _versions(warehouse, "trades", "trade_id", "version") == {(held.trade_id, 2)}
    [order] = warehouse.query("SELECT trade_id FROM published.trade_orders").to_dict("records")
    assert order["trade_id"] == held.trade_id


@both_backends
def test_what_changes_between_the_key_read_and_the_copy_is_caught_up_by_the_next_copy(
    app_db: AppDatabase, warehouse: Warehouse
) -> None:
    """Keys are read before the warehouse's lock and rows under it: a trade that moves on in between
    is copied once per version written, counted as written, and what the keys missed comes next."""
    store, (first, second) = _day_of_trades(app_db)
    app = read_app_trades(app_db, now=later(T0, 2))
    current = store.trade(second.trade_id)
    assert current is not None
    store.advance(current, dataclasses.replace(current, state=TradeState.ABANDONED), reason="gone",
                  at=later(T0, 2), run_id="r-2")  # fmt: skip
    with warehouse.transaction() as tx:
        counts = copy_trades(tx, app_db, app, run_id="m-1", now=later(T0, 2))
    written = [("trades", "trade_id, version", counts.trade_versions),
               ("trade_orders", "tag, version", counts.order_versions),
               ("trade_events", "trade_id, seq", counts.events)]  # fmt: skip
    for table, key, count in written:
        assert warehouse.query(f"SELECT count(DISTINCT ({key})) AS n FROM published.{table}")["n"][0] == count
    mirror_trades(app_db, warehouse, run_id="m-2", now=later(T0, 3))
    assert _versions(warehouse, "trade_events", "trade_id", "seq") == {
        (first.trade_id, 1), (first.trade_id, 2), (second.trade_id, 1), (second.trade_id, 2)
    }  # fmt: skip
    latest = warehouse.query("SELECT trade_id, max(version) AS v FROM published.trades GROUP BY trade_id")
    assert dict(zip(latest["trade_id"], latest["v"], strict=True)) == {first.trade_id: 2, second.trade_id: 2}
    for table, key, _ in written:
        rows = warehouse.query(f"SELECT {key} FROM published.{table}")
        assert len(rows) == len(rows.drop_duplicates()), table
    assert mirror_trades(app_db, warehouse, run_id="m-3", now=later(T0, 4)).total == 0


@both_backends
def test_a_window_of_more_trades_than_one_in_list_is_copied_whole(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "IN_CHUNK", 7)
    monkeypatch.setattr(trade_mirror, "WHOLE_WINDOW_SHARE", 2.0)  # read by key, in IN lists, not by window
    plans = [(make_plan(account_id=f"VA{i:08d}"), None) for i in range(30)]
    TradeStore(sqlite_app_db).plan(plans, run_id="rec-1", now=T0)
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 1))
    assert (counts.trade_versions, counts.events) == (30, 30)
    stored = warehouse.query("SELECT trade_id, version FROM published.trades")
    assert sorted(stored["trade_id"]) == sorted(plan.trade_id for plan, _ in plans)
    assert mirror_trades(sqlite_app_db, warehouse, run_id="m-2", now=later(T0, 2)).total == 0


def _placements(db: AppDatabase, run_id: str, at) -> None:
    row = {
        "run_id": run_id, "ticket_id": "tk-1", "status": "sent", "account_id": "VA00000001",
        "leg": "entry", "tag": "spx-1-entry", "action": "place", "broker_order_id": "9001",
        "message": "ok", "recorded_at": at,
    }  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(sa.insert(order_placements), [row])


@pytest.mark.parametrize("age_minutes", [4, 6])
def test_placements_a_dead_run_left_are_published_once_settled(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, age_minutes: int
) -> None:
    now = later(T0, 60)
    _placements(sqlite_app_db, "dead-run", now - timedelta(minutes=age_minutes))
    settled = age_minutes > 5
    assert unpublished_placement_runs(sqlite_app_db, warehouse, now=now) == (["dead-run"] if settled else [])
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=now)
    assert counts.placement_runs_repaired == (1 if settled else 0)
    rows = warehouse.query("SELECT run_id, broker_order_id FROM published.order_placements")
    if settled:
        assert list(rows["run_id"]) == ["dead-run"] and int(rows["broker_order_id"][0]) == 9001
        repaired_by = warehouse.query("SELECT published_by FROM run_publications WHERE stage = 'placements'")
        assert list(repaired_by["published_by"]) == ["m-1"]
        assert mirror_trades(sqlite_app_db, warehouse, run_id="m-2", now=now).placement_runs_repaired == 0
    else:
        assert rows.empty
    assert unpublished_placement_runs(sqlite_app_db, warehouse, now=now) == []


def test_a_copy_of_an_empty_app_database_does_nothing(
    sqlite_app_db: AppDatabase, warehouse: Warehouse
) -> None:
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=T0)
    assert counts.total == 0 and _publications(warehouse, "trades") == []
    assert isinstance(warehouse.query("SELECT * FROM published.trades"), pd.DataFrame)


def test_the_copy_holds_every_column_of_every_trade_as_the_app_database_does(
    app_db: AppDatabase, warehouse: Warehouse
) -> None:
    """Column for column, on either app database: amounts exact, times the same instants, NULLs kept."""
    _day_of_trades(app_db)
    mirror_trades(app_db, warehouse, run_id="m-1", now=later(T0, 2))
    _assert_copied_as_the_app_database_holds(app_db, warehouse)


# Values at the edges of what the copy types in DuckDB: the largest amount SQLite keeps exactly (15
# significant digits: it stores an amount as a REAL), the smallest, a loss, a
# NULL amount and flag, a time on the whole second and one with microseconds; text that JSON must
# escape (each row travels as one JSON array) and text that reads as JSON.
_EDGES = (
    {"limit_price": Decimal("99999999999.9999"), "realized_pnl": Decimal("-1234.5678"),
     "t1_price": Decimal("0.0001"), "stop_price": None, "pdt_qualified": False,
     "entry_sent_at": datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC),
     "closed_at": datetime(2026, 11, 24, 20, 59, 59, 123456, tzinfo=UTC),
     "blocked_reason": 'a "quote", a \\ backslash,\na newline, a\ttab, é ✓ 😀 and [1, "x"]'},
    {"limit_price": Decimal("0.05"), "realized_pnl": Decimal("0"), "t1_fraction": Decimal("0.3333"),
     "entry_price": Decimal("827288162633.68"),  # a fixed 4 decimals of its float: ...6801
     "pdt_qualified": None, "close_reason": "stop", "blocked_reason": "null"},
)  # fmt: skip


@pytest.mark.parametrize("read", ["window-read", "key-read"])
def test_amounts_times_and_flags_at_their_edges_are_copied_exactly(
    app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """Each engine spells the values its own way (SQLite keeps an amount as a number): the copy still
    holds what the app database holds, read whole or key by key."""
    _, planned = _day_of_trades(app_db)
    with app_db.engine.begin() as conn:
        for trade, values in zip(planned, _EDGES, strict=True):
            conn.execute(sa.update(trades).where(trades.c.trade_id == trade.trade_id).values(**values))
    monkeypatch.setattr(trade_mirror, "WHOLE_WINDOW_SHARE", 0.0 if read == "window-read" else 2.0)
    mirror_trades(app_db, warehouse, run_id="m-1", now=later(T0, 2))
    _assert_copied_as_the_app_database_holds(app_db, warehouse)
    large = warehouse.query("SELECT max(limit_price)::VARCHAR AS v FROM published.trades")["v"].iloc[0]
    assert large == "99999999999.9999"


@pytest.mark.parametrize("read", ["window-read", "key-read"])
@pytest.mark.parametrize("field", ["trades.planned_quantity", "trade_events.position"])
def test_a_fraction_in_a_whole_number_column_fails_the_copy_naming_it_never_rounded(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, read: str, field: str
) -> None:
    """SQLite keeps 2.5 in an INTEGER column as it is given (no app code writes one): the copy says
    so rather than holding 2 or 3, and writes nothing."""
    _day_of_trades(sqlite_app_db)
    table, column = field.split(".")
    with sqlite_app_db.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET {column} = 2.5"))
    monkeypatch.setattr(trade_mirror, "WHOLE_WINDOW_SHARE", 0.0 if read == "window-read" else 2.0)
    with pytest.raises(WarehouseWriteError, match=f"{field} is not a whole number: 2.5"):
        mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    assert warehouse.query("SELECT count(*) AS n FROM trades")["n"].iloc[0] == 0


def test_only_the_columns_the_warehouse_keeps_travel(
    sqlite_app_db: AppDatabase, warehouse: Warehouse
) -> None:
    """An order's payload stays in the app database: whatever it holds (bytes, here) is never read
    by the copy, and every other column still is."""
    _day_of_trades(sqlite_app_db)
    with sqlite_app_db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE trade_orders SET payload_json = X'7b7d'"))
    counts = mirror_trades(sqlite_app_db, warehouse, run_id="m-1", now=later(T0, 2))
    assert (counts.trade_versions, counts.order_versions, counts.events) == (2, 1, 3)
    _assert_copied_as_the_app_database_holds(sqlite_app_db, warehouse)


@pytest.mark.parametrize("table", [trades, trade_orders, trade_events])
def test_a_row_travels_in_one_json_array_of_at_most_a_hundred_values(table: sa.Table) -> None:
    """PostgreSQL's json_build_array takes 100 arguments at most: a table grown past that needs the
    copy split, and this says so before PostgreSQL does."""
    assert 0 < len(trade_mirror._kept(table)) <= 100


def _assert_copied_as_the_app_database_holds(app_db: AppDatabase, warehouse: Warehouse) -> None:
    with app_db.engine.connect() as conn:
        app = {r.trade_id: r._mapping for r in conn.execute(sa.select(trades)).all()}
    copied = warehouse.query("SELECT * FROM published.trades").to_dict("records")
    assert sorted(row["trade_id"] for row in copied) == sorted(app)
    for row in copied:
        want = app[row["trade_id"]]
        for name, value in want.items():
            got = row[name]
            if value is None:
                assert got is None or pd.isna(got), name
            elif isinstance(value, Decimal):
                assert Decimal(str(got)) == value, name
            elif isinstance(value, datetime):
                assert pd.Timestamp(got).tz_convert("UTC") == pd.Timestamp(value), name
            elif isinstance(value, date):
                assert pd.Timestamp(got).date() == value, name
            else:
                assert got == value, name


def _tickets(run_id: str) -> pd.DataFrame:
    """``order_tickets`` rows of two planned trades, as the tickets stage builds them."""
    planned = [
        Trade(plan=make_plan(setup_id=s), state=TradeState.PLANNED, version=1, created_at=T0, updated_at=T0)
        for s in ("a", "b")
    ]
    return ticket_rows(planned, run_id=run_id, created_at=T0)


def _stored(wh: Warehouse, *, tickets: bool = True) -> dict[str, str]:
    """Every row of the tables a tickets store writes, and the publications (times aside), as text."""
    tables = {"trades": "trade_id, version", "trade_orders": "tag, version", "trade_events": "trade_id, seq",
              "order_tickets": "ticket_id"}  # fmt: skip
    if not tickets:
        del tables["order_tickets"]
    out = {t: wh.query(f"SELECT * FROM {t} ORDER BY {o}").to_csv(index=False) for t, o in tables.items()}
    out["run_publications"] = wh.query(
        "SELECT seq, run_id, stage, published_by, row_counts FROM run_publications ORDER BY seq"
    ).to_csv(index=False)
    return out


@both_backends
@pytest.mark.parametrize("tickets_written", ["before", "alongside"])
def test_a_copy_inside_the_tickets_transaction_writes_what_two_transactions_wrote(
    sqlite_app_db: AppDatabase,
    warehouse: Warehouse,
    warehouse_backend: str,
    tmp_path: Path,
    tickets_written: str,
) -> None:
    """The tickets store writes its tickets and the trades' copy in one transaction: same rows and
    publications (orders, then trades) as the tickets' own write followed by ``mirror_trades``,
    whether the tickets are written before the copy or ``alongside`` its read of the app database."""
    _day_of_trades(sqlite_app_db)
    now = later(T0, 2)
    apart = Warehouse(tmp_path / "apart.duckdb", lock_timeout=10.0, backend=warehouse_backend)
    apart.ensure_schema()
    apart.replace_rows("order_tickets", _tickets("m-1"), key_columns=["ticket_id"])
    counts_apart = mirror_trades(sqlite_app_db, apart, run_id="m-1", now=now)

    app = read_app_trades(sqlite_app_db, now=now)
    with warehouse.transaction() as tx:

        def write_tickets() -> None:
            tx.replace_rows("order_tickets", _tickets("m-1"), key_columns=["ticket_id"])
            tx.publish_self_contained("order_tickets", _tickets("m-1"))

        if tickets_written == "before":
            write_tickets()
            counts = copy_trades(tx, sqlite_app_db, app, run_id="m-1", now=now)
        else:
            counts = copy_trades(tx, sqlite_app_db, app, run_id="m-1", now=now, alongside=write_tickets)
    assert counts == counts_apart and counts.total
    assert _stored(warehouse) == _stored(apart)
    stages = warehouse.query("SELECT stage FROM run_publications ORDER BY seq")["stage"]
    assert list(stages)[-2:] == ["orders", "trades"]
    assert all(_stored(warehouse)[t].count("\n") > 1 for t in ("trades", "trade_events", "order_tickets"))


def test_a_failed_copy_rolls_the_tickets_of_its_transaction_back(
    sqlite_app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    _day_of_trades(sqlite_app_db)
    app = read_app_trades(sqlite_app_db, now=later(T0, 2))

    def refuse(*_: object, **__: object) -> int:
        raise RuntimeError("publication refused")

    monkeypatch.setattr(WarehouseTransaction, "publish", refuse)
    with pytest.raises(RuntimeError, match="publication refused"), warehouse.transaction() as tx:
        tx.replace_rows("order_tickets", _tickets("m-1"), key_columns=["ticket_id"])
        copy_trades(tx, sqlite_app_db, app, run_id="m-1", now=later(T0, 2))
    assert warehouse.query("SELECT count(*) AS n FROM order_tickets")["n"][0] == 0
    assert warehouse.query("SELECT count(*) AS n FROM trades")["n"][0] == 0


def test_the_app_rows_are_read_on_another_thread_while_alongside_runs_on_the_callers(
    app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each side waits for the other to have started: run one after the other, they would not meet.
    Only the caller's thread touches the transaction."""
    _day_of_trades(app_db)
    app = read_app_trades(app_db, now=later(T0, 2))
    reading, writing = threading.Event(), threading.Event()
    threads: dict[str, int] = {}
    read_rows = trade_mirror._missing_rows

    def read_meeting_the_writer(*args: object) -> object:
        threads["read"] = threading.get_ident()
        reading.set()
        assert writing.wait(60), "the tickets were not written while the rows were read"
        return read_rows(*args)  # type: ignore[arg-type]

    def write_meeting_the_reader() -> None:
        threads["write"] = threading.get_ident()
        assert reading.wait(60), "the rows were not read while the tickets were written"
        writing.set()
        tx.replace_rows("order_tickets", _tickets("m-1"), key_columns=["ticket_id"])

    monkeypatch.setattr(trade_mirror, "_missing_rows", read_meeting_the_writer)
    with warehouse.transaction() as tx:
        counts = copy_trades(
            tx, app_db, app, run_id="m-1", now=later(T0, 2), alongside=write_meeting_the_reader
        )
    assert threads["write"] == threading.get_ident() != threads["read"]
    assert counts.trade_versions == 2
    assert warehouse.query("SELECT count(*) AS n FROM order_tickets")["n"][0] == len(_tickets("m-1"))


def test_an_in_memory_app_database_is_read_on_the_callers_thread(tmp_path: Path) -> None:
    """SQLite's ``:memory:`` is one database per connection, and SQLAlchemy gives each thread its
    own: read from another thread, the copy would find no tables. It copies what a file copies."""
    copies: dict[str, trade_mirror.MirrorCounts] = {}
    for name, url in (("memory", "sqlite://"), ("file", f"sqlite:///{tmp_path / 'app.sqlite'}")):
        db = AppDatabase(url)
        db.upgrade()
        _day_of_trades(db)
        wh = Warehouse(tmp_path / f"{name}.duckdb", lock_timeout=10.0)
        wh.ensure_schema()
        app = read_app_trades(db, now=later(T0, 2))
        with wh.transaction() as tx:
            copies[name] = copy_trades(tx, db, app, run_id="m-1", now=later(T0, 2), alongside=lambda: None)
        db.dispose()
    assert copies["memory"] == copies["file"] and copies["memory"].trade_versions == 2


@pytest.mark.parametrize("failing", ["alongside", "read", "both"])
def test_a_failure_on_either_side_of_the_copy_is_raised_once_both_are_done_and_writes_nothing(
    app_db: AppDatabase, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The side that did not fail finishes before the failure is raised, even when it is the slower
    one (it waits for the other to have failed, then takes its time); ``alongside``'s error wins,
    the read's in a note."""
    _day_of_trades(app_db)
    app = read_app_trades(app_db, now=later(T0, 2))
    done: list[str] = []
    read_rows = trade_mirror._missing_rows
    alongside_over, read_over = threading.Event(), threading.Event()

    def read(*args: object) -> object:
        if failing in ("read", "both"):
            read_over.set()
            raise RuntimeError("app database gone")
        assert alongside_over.wait(60)
        time.sleep(0.5)
        rows = read_rows(*args)  # type: ignore[arg-type]
        done.append("read")
        return rows

    def write_tickets() -> None:
        tx.replace_rows("order_tickets", _tickets("m-1"), key_columns=["ticket_id"])
        if failing in ("alongside", "both"):
            alongside_over.set()
            if failing == "both":
                assert read_over.wait(60)
            raise RuntimeError("tickets refused")
        assert read_over.wait(60)
        time.sleep(0.5)
        done.append("alongside")

    monkeypatch.setattr(trade_mirror, "_missing_rows", read)
    expected = "app database gone" if failing == "read" else "tickets refused"
    with pytest.raises(RuntimeError, match=expected) as raised, warehouse.transaction() as tx:
        copy_trades(tx, app_db, app, run_id="m-1", now=later(T0, 2), alongside=write_tickets)
    assert done == {"alongside": ["read"], "read": ["alongside"], "both": []}[failing]
    notes = getattr(raised.value, "__notes__", [])
    assert notes == (["the trades' copy's read of the app database failed too: app database gone"]
                     if failing == "both" else [])  # fmt: skip
    assert not [t for t in threading.enumerate() if t.name.startswith("trade-copy-read")]
    assert warehouse.query("SELECT count(*) AS n FROM order_tickets")["n"][0] == 0
    assert warehouse.query("SELECT count(*) AS n FROM trades")["n"][0] == 0


@pytest.mark.parametrize("broker_id", ["abc", "", "12.5", "0x10", "1_000", "9223372036854775808"])
def test_a_broker_order_id_that_is_no_number_is_copied_as_null_and_the_rest_of_the_order_kept(
    app_db: AppDatabase, warehouse: Warehouse, broker_id: str
) -> None:
    """``broker_order_id`` is text in the app database and BIGINT in the warehouse: a value that is
    not a whole number within BIGINT (a fraction, hex, digits with separators) is NULL there, never
    a rounded or reread id, and neither fails the copy nor loses the order's other columns."""
    _day_of_trades(app_db)
    with app_db.engine.begin() as conn:
        conn.execute(sa.update(trade_orders).values(broker_order_id=broker_id))
    counts = mirror_trades(app_db, warehouse, run_id="m-1", now=later(T0, 2))
    assert counts.order_versions == 1
    [order] = warehouse.query("SELECT * FROM published.trade_orders").to_dict("records")
    assert order["broker_order_id"] is None or pd.isna(order["broker_order_id"])
    assert (order["open_filled"], order["claimed_by_run"]) == (2, "p-1")
    assert Decimal(str(order["open_avg"])) == Decimal("4.4000")
    assert pd.Timestamp(order["claimed_at"]).tz_convert("UTC") == pd.Timestamp(T0)
