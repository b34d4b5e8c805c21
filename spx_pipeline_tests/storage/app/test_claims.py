"""Claims: a tag is owned in the app database before any POST, once, by exactly one run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import BrokerFacts, LocalStatus, TradeState, entry_intent, exits_needed
from spx_pipeline.storage.app.claims import (
    claim_entry,
    claim_exits,
    mark_sending,
    record_facts,
    record_outcome,
    settle_void,
)
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trade_orders
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline_tests.fixtures.trades import SESSION, T0, later, make_plan, race


def _planned(store: TradeStore, **fields):
    [outcome] = store.plan([(make_plan(**fields), None)], run_id="rec-1", now=T0)
    return outcome.trade


def _claim(db: AppDatabase, trade, run: str):
    return claim_entry(db, trade, entry_intent(trade.plan), session=SESSION, run_id=run, now=T0)


def _tags(db: AppDatabase) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(sa.select(trade_orders.c.tag)).scalars())


def test_claiming_an_entry_freezes_the_trade_and_owns_its_tag(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _planned(store)
    claim = _claim(app_db, trade, "p-1")
    assert claim.ok and [o.tag for o in claim.orders] == [f"{trade.plan.tag}-entry"]
    frozen = store.trade(trade.trade_id)
    assert frozen is not None and (frozen.state, frozen.version, frozen.entry_sent_at) == (
        TradeState.ENTRY_WORKING,
        2,
        T0,
    )
    [order] = store.orders([trade.trade_id])[trade.trade_id]
    assert order == claim.orders[0] and order.local_status == LocalStatus.CLAIMED
    assert store.events(trade.trade_id)[-1].reason == f"entry {order.tag} claimed by run p-1"
    again = _claim(app_db, trade, "p-2")  # the trade this run planned is gone
    assert not again.ok and "changed after this run planned it" in (again.lost or "")


def test_a_blocked_trade_cannot_be_claimed(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    plan = make_plan()
    [outcome] = store.plan([(plan, "blocked by guardrails")], run_id="rec-1", now=T0)
    assert not _claim(app_db, outcome.trade, "p-1").ok
    assert _tags(app_db) == [] and store.trade(plan.trade_id) == outcome.trade


def test_two_runs_racing_for_one_entry_one_wins(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    for i in range(4):
        trade = _planned(store, setup_id=f"s{i}")
        claims = race(*(partial(_claim, app_db, trade, run) for run in ("p-a", "p-b", "p-c")))
        assert sum(c.ok for c in claims) == 1
        assert store.orders([trade.trade_id])[trade.trade_id][0].run_id == next(
            c.orders[0].run_id for c in claims if c.ok
        )
        assert [e.seq for e in store.events(trade.trade_id)] == [1, 2]
    assert len(_tags(app_db)) == 4


@pytest.fixture
def two_engines(app_db_url: str) -> Iterator[tuple[AppDatabase, AppDatabase]]:
    """Two AppDatabase instances (two engines, two pools) on one database: two processes' view."""
    first, second = AppDatabase(app_db_url), AppDatabase(app_db_url)
    first.upgrade()
    yield first, second
    first.dispose()
    second.dispose()


def test_two_engines_on_one_database_racing_for_one_entry_one_wins(two_engines) -> None:
    first, second = two_engines
    store = TradeStore(first)
    for i in range(4):
        trade = _planned(store, setup_id=f"s{i}")
        claims = race(partial(_claim, first, trade, "p-a"), partial(_claim, second, trade, "p-b"))
        assert sum(c.ok for c in claims) == 1
    assert len(_tags(second)) == 4


def _held(store: TradeStore, db: AppDatabase, quantity: int = 4):
    trade = _planned(store, quantity=quantity)
    claim = _claim(db, trade, "p-1")
    entry = claim.orders[0].with_broker(
        BrokerFacts("filled", open_filled=quantity, open_avg=Decimal("4.40"), reported_at=T0), 1001
    )
    return trade, entry


def test_exits_are_claimed_together_or_not_at_all(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade, entry = _held(store, app_db)
    t1, stop = exits_needed(trade.plan, [entry], session=SESSION, expired=False).intents
    assert claim_exits(app_db, [stop], session=SESSION, run_id="p-1", now=T0).ok
    both = claim_exits(app_db, [t1, stop], session=SESSION, run_id="p-2", now=later(T0, 1))
    assert not both.ok and stop.tag in (both.lost or "")
    assert t1.tag not in _tags(app_db)  # the T1 claim went with the refused stop
    assert claim_exits(app_db, [], session=SESSION, run_id="p-2", now=T0).ok


def test_a_duplicate_tag_or_leg_sequence_is_refused_by_the_unique_keys(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade, entry = _held(store, app_db)
    intents = exits_needed(trade.plan, [entry], session=SESSION, expired=False).intents
    results = race(
        *(
            lambda run=run: claim_exits(app_db, intents, session=SESSION, run_id=run, now=T0)
            for run in ("a", "b")
        )
    )
    assert sorted(r.ok for r in results) == [False, True]
    t1 = intents[1]
    same_seq = t1.named(t1.trade_id, t1.account_id, f"{trade.plan.tag}-other")
    assert not claim_exits(app_db, [same_seq], session=SESSION, run_id="c", now=T0).ok
    assert len(_tags(app_db)) == 3  # entry, t1, stop


def test_racing_exits_on_distinct_engines_claim_each_tag_once(two_engines) -> None:
    first, second = two_engines
    store = TradeStore(first)
    trade, entry = _held(store, first)
    intents = exits_needed(trade.plan, [entry], session=SESSION, expired=False).intents
    results = race(
        lambda: claim_exits(first, intents, session=SESSION, run_id="a", now=T0),
        lambda: claim_exits(second, intents, session=SESSION, run_id="b", now=T0),
    )
    assert sorted(r.ok for r in results) == [False, True]


def test_only_the_claiming_run_moves_its_claim_to_sending_and_only_once(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _planned(store)
    order = _claim(app_db, trade, "p-1").orders[0]
    assert not mark_sending(app_db, dataclasses.replace(order, run_id="p-2"), now=T0)
    assert race(*(lambda: mark_sending(app_db, order, now=T0) for _ in range(3))).count(True) == 1
    [stored] = store.orders([trade.trade_id])[trade.trade_id]
    assert (stored.local_status, stored.version) == (LocalStatus.SENDING, 2)
    record_outcome(app_db, order.tag, LocalStatus.SENT, now=later(T0, 1), message="ok", order_id=4242)
    [sent] = store.orders([trade.trade_id])[trade.trade_id]
    assert (sent.local_status, sent.broker_order_id, sent.version) == (LocalStatus.SENT, 4242, 3)


def test_broker_facts_are_stored_and_read_back_and_an_unchanged_report_writes_nothing(
    app_db: AppDatabase,
) -> None:
    store = TradeStore(app_db)
    trade = _planned(store)
    order = _claim(app_db, trade, "p-1").orders[0]
    facts = BrokerFacts(
        "partially_filled", open_filled=2, open_avg=Decimal("4.35"), working_open=3, reported_at=T0
    )
    updated = record_facts(app_db, order, facts, 77, now=later(T0, 1))
    [stored] = store.orders([trade.trade_id])[trade.trade_id]
    assert stored == updated and stored.broker == facts and stored.broker_order_id == 77
    assert stored.local_status == LocalStatus.SENT
    assert record_facts(app_db, stored, facts, 77, now=later(T0, 2)) is stored


def test_a_stale_claim_is_voided_only_if_nobody_moved_it_since(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _planned(store)
    order = _claim(app_db, trade, "p-1").orders[0]
    assert mark_sending(app_db, order, now=T0)
    assert not settle_void(app_db, order, reason="late", now=later(T0, 10))  # it is `sending` now
    sending = store.orders([trade.trade_id])[trade.trade_id][0]
    assert settle_void(app_db, sending, reason="no order under the tag", now=later(T0, 10))
    assert not settle_void(app_db, sending, reason="twice", now=later(T0, 11))
    [void] = store.orders([trade.trade_id])[trade.trade_id]
    assert (void.local_status, void.message) == (LocalStatus.VOID, "no order under the tag")
