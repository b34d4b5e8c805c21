"""sync_account(): the broker's reports stored on our orders and each live trade moved by them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from spx_pipeline.domain.trades import CloseReason, LocalStatus, TradeState, entry_intent, exits_needed
from spx_pipeline.storage.app.claims import claim_entry, claim_exits
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.transformations.trade_lifecycle import (
    AccountTrades,
    AccountView,
    read_account_trades,
    sync_account,
)
from spx_pipeline_tests.fixtures.trades import SESSION, SYMBOL, T0, broker_leg, later, make_plan


class Broker:
    """What the broker reports for the account: one list of legs per tag, and the position."""

    def __init__(self) -> None:
        self.legs: dict[str, list] = {}
        self.held = 0

    def set(self, tag: str, *legs) -> None:
        self.legs[tag] = [
            broker_leg(
                *leg[:5], price=leg[5] if len(leg) > 5 else None, tag=tag, index=i, order_id=len(self.legs)
            )
            for i, leg in enumerate(legs)
        ]

    def view(self) -> AccountView:
        return AccountView(
            "VA00000001", [leg for legs in self.legs.values() for leg in legs], {SYMBOL: self.held}
        )


def _sync(store: TradeStore, broker: Broker, minutes: int):
    [view] = sync_account(store, broker.view(), now=later(T0, minutes), run_id=f"sync-{minutes}")
    return view


def _claim_exits(store: TradeStore, view, minutes: int):
    decision = exits_needed(view.trade.plan, view.orders, session=SESSION, expired=False)
    claim = claim_exits(
        store.db, decision.intents, session=SESSION, run_id=f"p-{minutes}", now=later(T0, minutes)
    )
    assert claim.ok
    return [o.tag for o in claim.orders]


def test_a_trade_whose_last_exit_was_a_target_closes_by_target(sqlite_app_db: AppDatabase) -> None:
    """Every pass re-reads every order; an order whose report did not change keeps the time it was
    first reported, so the close reason compares when the exits filled, not when they were re-read."""
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=4, stop=None), None)], run_id="rec-1", now=T0)
    trade = born.trade
    entry = claim_entry(sqlite_app_db, trade, entry_intent(trade.plan), session=SESSION, run_id="p-0", now=T0)
    entry_tag = entry.orders[0].tag
    broker = Broker()

    broker.set(entry_tag, ("buy_to_open", "limit", "partially_filled", 4, 2, "4.40"))
    broker.held = 2
    view = _sync(store, broker, 5)
    assert view.trade.state == TradeState.OPEN
    [t1] = _claim_exits(store, view, 5)
    broker.set(entry_tag, ("buy_to_open", "limit", "filled", 4, 4, "4.40"))
    broker.set(t1, ("sell_to_close", "limit", "open", 1))
    broker.held = 4
    view = _sync(store, broker, 10)
    [t12] = _claim_exits(store, view, 10)
    broker.set(t1, ("sell_to_close", "limit", "filled", 1, 1, "6.60"))
    broker.set(t12, ("sell_to_close", "limit", "open", 1))
    broker.held = 3
    view = _sync(store, broker, 20)
    assert view.trade.state == TradeState.T1_FILLED
    [stop] = _claim_exits(store, view, 20)
    broker.set(stop, ("sell_to_close", "stop", "filled", 2, 2, "4.40"))  # the runner stopped out at breakeven
    broker.held = 1
    view = _sync(store, broker, 60)
    assert view.trade.state == TradeState.RUNNER
    broker.set(t12, ("sell_to_close", "limit", "filled", 1, 1, "6.60"))  # ... and the last T1 slice later
    broker.held = 0
    view = _sync(store, broker, 120)
    assert (view.trade.state, view.trade.close_reason) == (TradeState.CLOSED, CloseReason.TARGET)


def test_an_unchanged_report_rewrites_no_order(sqlite_app_db: AppDatabase) -> None:
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=2), None)], run_id="rec-1", now=T0)
    claim = claim_entry(
        sqlite_app_db, born.trade, entry_intent(born.trade.plan), session=SESSION, run_id="p", now=T0
    )
    broker = Broker()
    broker.set(claim.orders[0].tag, ("buy_to_open", "limit", "open", 2))
    first = _sync(store, broker, 5).orders[0]
    again = _sync(store, broker, 20).orders[0]
    assert again.version == first.version and again.broker == first.broker
    assert again.broker is not None and again.broker.reported_at == later(T0, 5)


def test_a_claim_no_broker_order_carries_after_the_lease_is_voided_and_its_trade_abandoned(
    sqlite_app_db: AppDatabase,
) -> None:
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=2), None)], run_id="rec-1", now=T0)
    claim_entry(
        sqlite_app_db, born.trade, entry_intent(born.trade.plan), session=SESSION, run_id="dead", now=T0
    )
    within = _sync(store, Broker(), 4)
    assert (
        within.trade.state == TradeState.ENTRY_WORKING
        and within.orders[0].local_status == LocalStatus.CLAIMED
    )
    view = _sync(store, Broker(), 6)
    assert view.orders[0].local_status == LocalStatus.VOID
    assert view.trade.state == TradeState.ABANDONED
    assert "never reached the broker" in store.events(born.trade.trade_id)[-1].reason


def test_an_account_whose_orders_read_failed_is_left_exactly_as_it_was(sqlite_app_db: AppDatabase) -> None:
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=2), None)], run_id="rec-1", now=T0)
    claim_entry(sqlite_app_db, born.trade, entry_intent(born.trade.plan), session=SESSION, run_id="p", now=T0)
    before = store.trade(born.trade.trade_id)
    failed = AccountView("VA00000001", None, {SYMBOL: 0}, orders_error="HTTP 502")
    [view] = sync_account(store, failed, now=T0 + timedelta(hours=2), run_id="sync")
    assert view.note == "orders unknown: HTTP 502" and not view.moved
    assert store.trade(born.trade.trade_id) == before
    assert store.orders([born.trade.trade_id])[born.trade.trade_id][0].local_status == LocalStatus.CLAIMED


def test_a_fill_reported_for_an_entry_given_up_on_reopens_its_trade(sqlite_app_db: AppDatabase) -> None:
    """A POST that reached the broker after its claim was voided: the fill is a fact and wins, so
    the position gets its exits instead of staying unprotected behind an abandoned trade."""
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=2), None)], run_id="rec-1", now=T0)
    claim = claim_entry(
        sqlite_app_db, born.trade, entry_intent(born.trade.plan), session=SESSION, run_id="p", now=T0
    )
    assert _sync(store, Broker(), 6).trade.state == TradeState.ABANDONED
    broker = Broker()
    broker.set(claim.orders[0].tag, ("buy_to_open", "limit", "filled", 2, 2, "4.40"))
    broker.held = 2
    view = _sync(store, broker, 8)
    assert (view.trade.state, view.trade.filled_quantity, view.trade.closed_at) == (TradeState.OPEN, 2, None)
    assert view.orders[0].local_status == LocalStatus.SENT
    assert len(exits_needed(view.trade.plan, view.orders, session=SESSION, expired=False).intents) == 2


def test_a_stop_that_fills_between_the_orders_and_positions_reads_closes_the_trade_by_stop(
    sqlite_app_db: AppDatabase,
) -> None:
    store = TradeStore(sqlite_app_db)
    [born] = store.plan([(make_plan(quantity=1), None)], run_id="rec-1", now=T0)
    trade = born.trade
    claim = claim_entry(sqlite_app_db, trade, entry_intent(trade.plan), session=SESSION, run_id="p", now=T0)
    tag = claim.orders[0].tag
    broker = Broker()
    broker.set(tag, ("buy_to_open", "limit", "filled", 1, 1, "4.40"), ("sell_to_close", "stop", "open", 1))
    broker.held = 0  # the OTO's stop filled after the orders were read, before the positions were
    view = _sync(store, broker, 30)
    assert view.trade.state == TradeState.EXITS_WORKING and view.trade.close_reason is None
    broker.set(
        tag,
        ("buy_to_open", "limit", "filled", 1, 1, "4.40"),
        ("sell_to_close", "stop", "filled", 1, 1, "2.15"),
    )
    view = _sync(store, broker, 45)
    assert (view.trade.state, view.trade.close_reason, view.trade.exited_quantity) == (
        TradeState.CLOSED,
        CloseReason.STOP,
        1,
    )
    assert view.trade.realized_pnl is not None and view.trade.realized_pnl < 0


def test_one_read_for_many_accounts_gives_each_the_trades_its_pass_judges(
    sqlite_app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live trades and this session's trades abandoned after sending, with their orders, grouped by
    account; a trade abandoned before anything was sent, or another account's, is not judged."""
    store = TradeStore(sqlite_app_db)
    plans = [
        make_plan(account_id="VA00000001", setup_id="planned"),
        make_plan(account_id="VA00000001", setup_id="sent-then-voided"),
        make_plan(account_id="VA00000001", setup_id="never-sent"),
        make_plan(account_id="VA00000002", setup_id="claimed"),
    ]
    planned, voided, never, claimed = [
        o.trade for o in store.plan([(p, None) for p in plans], run_id="r", now=T0)
    ]
    for trade in (voided, claimed):
        claim_entry(sqlite_app_db, trade, entry_intent(trade.plan), session=SESSION, run_id="p", now=T0)
    store.advance(
        never, dataclasses.replace(never, state=TradeState.ABANDONED), reason="x", at=T0, run_id="r"
    )
    sync_account(store, Broker().view(), now=later(T0, 6), run_id="sync")  # the claim is voided
    reads: list[dict] = []
    real = TradeStore.trades
    monkeypatch.setattr(TradeStore, "trades", lambda self, **kw: reads.append(kw) or real(self, **kw))

    known = read_account_trades(store, ["VA00000001", "VA00000002", "VA00000003"], now=later(T0, 7))

    assert len(reads) == 2  # live trades, then the session's abandoned ones: not per account
    assert [t.trade_id for t in known["VA00000001"].trades] == sorted([planned.trade_id, voided.trade_id])
    assert store.trade(voided.trade_id).state == TradeState.ABANDONED  # type: ignore[union-attr]
    assert known["VA00000001"].orders[planned.trade_id] == []
    assert [o.local_status for o in known["VA00000001"].orders[voided.trade_id]] == [LocalStatus.VOID]
    assert [t.trade_id for t in known["VA00000002"].trades] == [claimed.trade_id]
    assert [o.local_status for o in known["VA00000002"].orders[claimed.trade_id]] == [LocalStatus.CLAIMED]
    assert known["VA00000003"] == AccountTrades([], {})
