"""insert_rows stores exactly what SQLAlchemy's executemany stores, and keeps unique keys."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import Trade, TradeState
from spx_pipeline.storage.app import bulk
from spx_pipeline.storage.app.bulk import insert_columns, insert_rows, read_columns, read_columns_in
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trades
from spx_pipeline.storage.app.trade_rows import TRADE, trade_values
from spx_pipeline_tests.fixtures.trades import T0, make_plan


def _trades(prefix: str) -> list[Trade]:
    out = []
    for i, (stop, pdt) in enumerate([("2.20", True), (None, None), ("0.05", False)]):
        plan = make_plan(
            account_id=f"{prefix}{i:08d}", stop=stop, pdt_qualified=pdt, offset="0.10" if i else None
        )
        trade = Trade(plan=plan, state=TradeState.PLANNED, version=1, blocked_reason=None if i else "why",
                      created_at=T0 + timedelta(microseconds=i), updated_at=T0)  # fmt: skip
        out.append(trade)
    return out


def _raw(db: AppDatabase, prefix: str) -> list[tuple]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(*[sa.cast(c, sa.Text) for c in trades.c])
            .where(trades.c.account_id.startswith(prefix))
            .order_by(trades.c.account_id)
        ).all()
    keyed = {"trade_id", "account_id", "tag"}  # derived from the account, which differs on purpose
    return [
        tuple(v for name, v in zip(trades.c.keys(), row, strict=True) if name not in keyed) for row in rows
    ]


def test_insert_rows_stores_the_bytes_executemany_stores(app_db: AppDatabase) -> None:
    with app_db.engine.begin() as conn:
        conn.execute(sa.insert(trades), [trade_values(t) for t in _trades("VA")])
        insert_rows(conn, trades, [trade_values(t) for t in _trades("VB")])
    ours = _raw(app_db, "VB")
    assert len(ours) == 3
    assert ours == _raw(app_db, "VA")


def test_insert_columns_of_records_stores_the_bytes_executemany_stores(app_db: AppDatabase) -> None:
    with app_db.engine.begin() as conn:
        conn.execute(sa.insert(trades), [trade_values(t) for t in _trades("VA")])
        insert_columns(conn, trades, TRADE.column_values(_trades("VD")))
    ours = _raw(app_db, "VD")
    assert len(ours) == 3
    assert ours == _raw(app_db, "VA")


def test_insert_rows_enforces_unique_keys_and_rolls_back_with_the_transaction(app_db: AppDatabase) -> None:
    first = _trades("VC")
    with app_db.engine.begin() as conn:
        insert_rows(conn, trades, [trade_values(first[0])])
    again = [trade_values(first[1]), trade_values(dataclasses.replace(first[0], version=2))]
    with pytest.raises(sa.exc.IntegrityError), app_db.engine.begin() as conn:
        insert_rows(conn, trades, again)
    assert len(_raw(app_db, "VC")) == 1  # the whole batch rolled back, the first row kept


def test_insert_rows_of_nothing_does_nothing(app_db: AppDatabase) -> None:
    with app_db.engine.begin() as conn:
        insert_rows(conn, trades, [])
    assert _raw(app_db, "V") == []


def test_read_columns_holds_the_values_and_types_sqlalchemys_rows_hold(app_db: AppDatabase) -> None:
    with app_db.engine.begin() as conn:
        insert_rows(conn, trades, [trade_values(t) for t in _trades("VE")])
    query = sa.select(trades).where(trades.c.account_id.startswith("VE")).order_by(trades.c.account_id)
    with app_db.engine.connect() as conn:
        rows = conn.execute(query).all()
        columns = read_columns(conn, query)
    assert len(rows) == 3
    assert list(columns) == list(trades.c.keys())
    for i, name in enumerate(trades.c.keys()):
        assert columns[name] == [row[i] for row in rows], name
        assert [type(v) for v in columns[name]] == [type(row[i]) for row in rows], name
    # A label over an aggregate converts as its type does (the mirror's placement query).
    latest = sa.select(sa.func.max(trades.c.created_at).label("last")).where(
        trades.c.account_id.startswith("VE")
    )
    with app_db.engine.connect() as conn:
        assert read_columns(conn, latest)["last"] == [conn.execute(latest).scalar_one()]


def test_read_columns_in_reads_every_named_row_across_in_lists(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More keys than one IN list holds (here 2 per list), repeated keys and unknown keys: the rows
    ``read_columns`` reads with the keys as one condition, each once."""
    monkeypatch.setattr(bulk, "IN_CHUNK", 2)
    made = _trades("VF")
    with app_db.engine.begin() as conn:
        insert_rows(conn, trades, [trade_values(t) for t in made])
    wanted = [made[2].trade_id, made[0].trade_id, made[2].trade_id, "T-none", made[1].trade_id]
    query = sa.select(trades.c.trade_id, trades.c.version, trades.c.limit_price)
    with app_db.engine.connect() as conn:
        got = read_columns_in(conn, query, trades.c.trade_id, wanted)
        whole = read_columns(conn, query.where(trades.c.trade_id.in_(wanted)))
        nothing = read_columns_in(conn, query, trades.c.trade_id, [])
    assert list(got) == list(whole)
    assert sorted(zip(*got.values(), strict=True)) == sorted(zip(*whole.values(), strict=True))
    assert len(got["trade_id"]) == 3
    assert nothing == {"trade_id": [], "version": [], "limit_price": []}
