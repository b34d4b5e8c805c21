"""TradeStore: plans born and re-planned while planned, frozen trades untouched, versioned moves."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import CloseReason, Trade, TradeState, TradeTransitionError, entry_intent
from spx_pipeline.storage.app import trades as trades_module
from spx_pipeline.storage.app.claims import claim_entry
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trade_events, trades
from spx_pipeline.storage.app.trade_rows import EVENT, trade_values
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline_tests.fixtures.trades import SESSION, T0, later, make_plan, race


def _born(store: TradeStore, **fields):
    [outcome] = store.plan([(make_plan(**fields), None)], run_id="rec-1", now=T0)
    assert outcome.outcome == "born"
    return outcome.trade


def _seqs(store: TradeStore, trade_id: str) -> list[int]:
    return [e.seq for e in store.events(trade_id)]


def test_a_plan_is_born_once_and_reads_back_exactly(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    plan = make_plan(quantity=3, offset="0.10", pdt_qualified=False)
    [outcome] = store.plan([(plan, None)], run_id="rec-1", now=T0)
    assert outcome.outcome == "born"
    stored = store.trade(plan.trade_id)
    assert stored == outcome.trade
    assert stored is not None and stored.plan == plan and stored.state == TradeState.PLANNED
    assert stored.created_at == T0 and stored.created_at.utcoffset() is not None
    [event] = store.events(plan.trade_id)
    assert (event.seq, event.from_state, event.to_state) == (1, None, TradeState.PLANNED)
    assert event.reason == "planned from recommendation run rec-1"


def test_the_same_plan_again_is_unchanged_and_writes_nothing(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store)
    again = dataclasses.replace(trade.plan, recommendation_run_id="rec-2")
    [outcome] = store.plan([(again, None)], run_id="rec-2", now=later(T0, 15))
    assert outcome.outcome == "unchanged" and outcome.trade.version == 1
    assert _seqs(store, trade.trade_id) == [1]


def test_a_planned_trade_is_re_planned_with_a_new_version_and_event(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store, quantity=5)
    smaller = dataclasses.replace(trade.plan, planned_quantity=2, limit_price=Decimal("9.40"))
    [outcome] = store.plan([(smaller, "guardrail: fills 3 ticks worse")], run_id="rec-2", now=later(T0, 15))
    assert outcome.outcome == "replanned"
    stored = store.trade(trade.trade_id)
    assert stored is not None and stored.version == 2
    assert (stored.plan.planned_quantity, stored.plan.limit_price) == (2, Decimal("9.40"))
    assert stored.blocked_reason == "guardrail: fills 3 ticks worse"
    events = store.events(trade.trade_id)
    assert [e.seq for e in events] == [1, 2]
    assert (
        events[1].reason
        == "re-planned from recommendation run rec-2; not placeable: guardrail: fills 3 ticks worse"
    )
    [unblocked] = store.plan([(smaller, None)], run_id="rec-3", now=later(T0, 30))
    assert unblocked.outcome == "replanned" and unblocked.trade.blocked_reason is None


def test_a_frozen_trade_is_never_touched_by_a_later_plan(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store, quantity=5)
    assert claim_entry(app_db, trade, entry_intent(trade.plan), session=SESSION, run_id="p-1", now=T0).ok
    frozen = store.trade(trade.trade_id)
    other = dataclasses.replace(trade.plan, planned_quantity=1, limit_price=Decimal("19.80"))
    [outcome] = store.plan([(other, "blocked later")], run_id="rec-2", now=later(T0, 15))
    assert outcome.outcome == "frozen" and outcome.trade == frozen
    assert store.trade(trade.trade_id) == frozen
    assert frozen is not None and frozen.plan.planned_quantity == 5 and frozen.blocked_reason is None
    assert _seqs(store, trade.trade_id) == [1, 2]


def test_one_trade_per_account_setup_and_session(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store)
    duplicate = {**_row(app_db, trade.trade_id), "trade_id": "T-other", "tag": "spx-other"}
    with pytest.raises(sa.exc.IntegrityError), app_db.engine.begin() as conn:
        conn.execute(sa.insert(trades), [duplicate])


def _row(db: AppDatabase, trade_id: str) -> dict:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.select(trades).where(trades.c.trade_id == trade_id)).mappings().one())


def test_advance_is_compare_and_set_with_one_event_per_version(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store)
    working = dataclasses.replace(trade, state=TradeState.ENTRY_WORKING)
    moved = store.advance(trade, working, reason="entry at the broker", at=later(T0, 1), run_id="r-1")
    assert moved is not None and moved.version == 2 and moved.updated_at == later(T0, 1)
    assert (
        store.advance(trade, working, reason="stale", at=later(T0, 2), run_id="r-2") is None
    )  # version 1 is gone
    opened = dataclasses.replace(moved, state=TradeState.OPEN, filled_quantity=2, entry_price=Decimal("4.40"))
    stored = store.advance(moved, opened, reason="2 held", at=later(T0, 3), run_id="r-1")
    assert stored is not None and store.trade(trade.trade_id) == stored
    events = store.events(trade.trade_id)
    assert [(e.seq, e.from_state, e.to_state) for e in events] == [
        (1, None, TradeState.PLANNED),
        (2, TradeState.PLANNED, TradeState.ENTRY_WORKING),
        (3, TradeState.ENTRY_WORKING, TradeState.OPEN),
    ]
    assert (events[2].filled_quantity, events[2].position, events[2].run_id) == (2, 2, "r-1")


def test_advance_refuses_a_move_the_table_does_not_allow_and_writes_nothing(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store)
    closed = dataclasses.replace(trade, state=TradeState.CLOSED, close_reason=CloseReason.MANUAL)
    with pytest.raises(TradeTransitionError, match="cannot move from planned to closed"):
        store.advance(trade, closed, reason="no", at=T0, run_id="r")
    assert store.trade(trade.trade_id) == trade and _seqs(store, trade.trade_id) == [1]


def test_racing_advances_move_a_trade_once_and_the_history_has_no_gaps(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trades_ = [_born(store, setup_id=f"s{i}") for i in range(4)]
    for trade in trades_:
        moves = [
            dataclasses.replace(trade, state=TradeState.ENTRY_WORKING),
            dataclasses.replace(trade, state=TradeState.ABANDONED),
        ]
        results = race(
            *(
                partial(store.advance, trade, new, reason=f"r{i}", at=later(T0, 1), run_id=f"r{i}")
                for i, new in enumerate(moves)
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert store.trade(trade.trade_id) == winners[0]
        assert _seqs(store, trade.trade_id) == [1, 2]
    with app_db.engine.connect() as conn:
        rows = conn.execute(sa.select(trade_events.c.trade_id, trade_events.c.seq)).all()
        versions = dict(conn.execute(sa.select(trades.c.trade_id, trades.c.version)).all())
    for trade_id, version in versions.items():
        assert sorted(seq for tid, seq in rows if tid == trade_id) == list(range(1, version + 1))


def test_reads_by_session_account_ids_and_live_only(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    a = _born(store, setup_id="a")
    b = _born(store, setup_id="b", account_id="VA00000002")
    c = _born(store, setup_id="c", session=SESSION.replace(day=25))
    store.advance(a, dataclasses.replace(a, state=TradeState.ABANDONED), reason="x", at=T0, run_id="r")
    assert [t.trade_id for t in store.trades(session=SESSION)] == sorted([a.trade_id, b.trade_id])
    assert [t.trade_id for t in store.trades(session=SESSION, live_only=True)] == [b.trade_id]
    assert [t.trade_id for t in store.trades(account_ids=["VA00000002"])] == [b.trade_id]
    assert [t.trade_id for t in store.trades(trade_ids=[c.trade_id, "T-none"])] == [c.trade_id]
    assert store.trade("T-none") is None
    sent = [s for s in TradeState if s != TradeState.PLANNED]
    assert [t.trade_id for t in store.trades(session=SESSION, states=sent)] == [a.trade_id]
    assert store.trades(session=SESSION, states=sent, live_only=True) == []
    assert [t.trade_id for t in store.trades(states=[TradeState.PLANNED])] == sorted([b.trade_id, c.trade_id])
    assert store.trades(states=[]) == []


@pytest.mark.postgres
def test_a_plan_racing_another_runs_birth_of_the_same_trade_on_postgres_keeps_theirs(
    pg_database_url: str,
) -> None:
    """PostgreSQL reads committed rows only: both runs see no trade and both insert; the second
    waits on the unique key and must then find the first's trade, not fail the run."""
    db = AppDatabase(pg_database_url)
    db.upgrade()
    try:
        store = TradeStore(db)
        plan = make_plan()
        theirs = Trade(plan=plan, state=TradeState.PLANNED, created_at=T0, updated_at=T0)
        with db.engine.connect() as other:
            tx = other.begin()
            other.execute(sa.insert(trades), [trade_values(theirs)])  # their birth, not committed yet
            with ThreadPoolExecutor(1) as pool:
                ours = pool.submit(store.plan, [(plan, None)], run_id="rec-2", now=later(T0, 1))
                _wait_for_a_lock_wait(db)
                tx.commit()
                [outcome] = ours.result(timeout=60)
        assert outcome.outcome == "unchanged"
        assert store.trade(plan.trade_id) == outcome.trade
    finally:
        db.dispose()


def _wait_for_a_lock_wait(db: AppDatabase, deadline: float = 60.0) -> None:
    """Until a session of this database waits on a lock (our insert behind their uncommitted row)."""
    give_up = time.monotonic() + deadline
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < give_up:
        with db.engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.05)
    raise AssertionError(f"no session waited on a lock within {deadline} s")


def test_a_batch_of_re_plans_moves_every_trade_but_the_one_claimed_after_it_was_read(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-plans go out as one statement; one trade lost to a claim makes the batch retry one by one."""
    store = TradeStore(app_db)
    born = [_born(store, account_id=f"VA{i}") for i in range(4)]
    read_before_the_claim = store.trades(trade_ids=[t.trade_id for t in born])
    lost = born[2]
    assert claim_entry(app_db, lost, entry_intent(lost.plan), session=SESSION, run_id="p-1", now=T0).ok
    claimed = store.trade(lost.trade_id)
    # What the planning transaction read is what was stored before the claim committed.
    monkeypatch.setattr(
        trades_module, "_trades_by_id", lambda *_a, **_k: {t.trade_id: t for t in read_before_the_claim}
    )
    smaller = [(dataclasses.replace(t.plan, planned_quantity=2), None) for t in born]
    outcomes = store.plan(smaller, run_id="rec-2", now=later(T0, 15))
    assert [o.outcome for o in outcomes] == ["replanned", "replanned", "frozen", "replanned"]
    monkeypatch.undo()
    for trade in born:
        stored = store.trade(trade.trade_id)
        assert stored is not None and _seqs(store, trade.trade_id) == [1, 2]
        if trade is lost:
            assert stored == claimed and stored.plan.planned_quantity == trade.plan.planned_quantity
        else:
            assert (stored.version, stored.plan.planned_quantity) == (2, 2)


def test_a_batch_of_births_and_re_plans_writes_one_event_per_change(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    old = [_born(store, account_id=f"VA{i}") for i in range(3)]
    changed = [(dataclasses.replace(t.plan, planned_quantity=1), "why") for t in old[:2]]
    new = [(make_plan(account_id=f"VB{i}"), None) for i in range(3)]
    same = [(old[2].plan, None)]
    outcomes = store.plan([*changed, *new, *same], run_id="rec-2", now=later(T0, 15))
    assert [o.outcome for o in outcomes] == ["replanned"] * 2 + ["born"] * 3 + ["unchanged"]
    assert [_seqs(store, o.trade.trade_id) for o in outcomes] == [[1, 2]] * 2 + [[1]] * 4
    assert all(store.trade(o.trade.trade_id) == o.trade for o in outcomes)


def test_trades_read_before_are_taken_only_while_their_version_is_the_stored_one(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's earlier read saves reading whole rows again; a trade claimed or re-planned since
    is read whole, so it is frozen or compared with what is stored, never with the stale copy."""
    store = TradeStore(app_db)
    same, resized, claimed, moved = (_born(store, account_id=f"VA{i}") for i in range(4))
    read_before = {t.trade_id: t for t in store.trades(session=SESSION)}
    assert claim_entry(app_db, claimed, entry_intent(claimed.plan), session=SESSION, run_id="p-1", now=T0).ok
    elsewhere = dataclasses.replace(moved.plan, planned_quantity=1)
    [other_run] = store.plan([(elsewhere, None)], run_id="rec-other", now=later(T0, 5))
    assert other_run.outcome == "replanned"
    read_whole: list[list[str]] = []
    real = trades_module._trades_by_id

    def spy(conn, ids, query=None):  # type: ignore[no-untyped-def]
        read_whole.append(sorted(ids))
        return real(conn, ids, query)

    monkeypatch.setattr(trades_module, "_trades_by_id", spy)
    newcomer = make_plan(account_id="VB0")
    plans = [
        (same.plan, None),
        (dataclasses.replace(resized.plan, planned_quantity=2), None),
        (dataclasses.replace(claimed.plan, planned_quantity=2), None),
        (elsewhere, None),
        (newcomer, None),
    ]
    outcomes = store.plan(plans, run_id="rec-2", now=later(T0, 15), read_before=read_before)
    assert read_whole == [sorted([claimed.trade_id, moved.trade_id])]
    assert [o.outcome for o in outcomes] == ["unchanged", "replanned", "frozen", "unchanged", "born"]
    monkeypatch.undo()
    assert outcomes[2].trade == store.trade(claimed.trade_id)
    assert outcomes[2].trade.state == TradeState.ENTRY_WORKING
    assert (outcomes[3].trade.version, outcomes[3].trade.plan.planned_quantity) == (2, 1)
    assert all(store.trade(o.trade.trade_id) == o.trade for o in outcomes)


def _rows(columns: dict[str, list[object]]) -> list[tuple[object, ...]]:
    return sorted(zip(*columns.values(), strict=True), key=repr)


def test_a_born_trades_event_depends_only_on_its_id_and_what_event_inputs_names() -> None:
    """The born trades' events are one event's values with each trade's id: that holds only while
    ``_event`` reads nothing of a trade but its id and ``_event_inputs``. Two trades equal in those
    and different in every other field must have events that differ only in the trade id."""
    one = Trade(plan=make_plan(), state=TradeState.PLANNED, version=1, created_at=T0, updated_at=T0)
    other = dataclasses.replace(
        one,
        plan=dataclasses.replace(
            make_plan(account_id="VA00000002", setup_id="setup-b", quantity=2, limit="9.40", stop=None,
                      t1="9.90", fraction="0.25", offset="0.10", session=later(T0, 60 * 24).date(),
                      symbol="SPXW261125P05900000", expiration=later(T0, 60 * 48).date(), pdt_qualified=False,
                      risk_per_contract="941.30", cost_per_contract="941.30"),
            risk_fingerprint="fp-2", recommendation_run_id="rec-run-2",
        ),
        blocked_reason="blocked", entry_price=Decimal("4.45"), risk_committed=Decimal("12.0000"),
        entry_sent_at=later(T0, 1), close_reason=CloseReason.STOP, created_at=later(T0, 2),
        updated_at=later(T0, 3), closed_at=later(T0, 4),
    )  # fmt: skip
    fields = [f.name for f in dataclasses.fields(Trade)]
    assert trades_module._event_inputs(one) == trades_module._event_inputs(other)
    differing = {f for f in fields if getattr(one, f) != getattr(other, f)}
    plan_fields = [f.name for f in dataclasses.fields(one.plan)]
    assert all(getattr(one.plan, f) != getattr(other.plan, f) for f in plan_fields)
    assert differing >= set(fields) - {
        "version",
        "state",
        "filled_quantity",
        "exited_quantity",
        "realized_pnl",
    }
    a = trades_module._event(one, None, "why", T0, "rec-1")
    b = trades_module._event(other, None, "why", T0, "rec-1")
    assert a.trade_id != b.trade_id and dataclasses.replace(b, trade_id=a.trade_id) == a


def test_event_columns_of_born_trades_and_re_plans_are_the_events_one_by_one() -> None:
    """Each born trade's planned event and each re-plan's event, as ``EVENT.column_values`` of the
    events made one by one; born trades unlike the first take the long way and say the same."""
    plans = [make_plan(account_id=f"VA0000000{i}") for i in range(1, 5)]
    born = sorted(
        (Trade(plan=p, state=TradeState.PLANNED, version=1, created_at=T0, updated_at=T0) for p in plans),
        key=lambda t: t.trade_id,
    )
    replanned = dataclasses.replace(born[0], version=2)
    others = [trades_module._event(replanned, TradeState.PLANNED, "re-planned", T0, "rec-2")]
    for group in (born, [*born[:2], dataclasses.replace(born[2], version=3)]):
        want = EVENT.column_values(
            [trades_module._event(t, None, "planned", T0, "rec-2") for t in group] + others
        )
        got = trades_module._event_columns(group, "planned", T0, "rec-2", others)
        assert _rows(got) == _rows(want)
        assert got["trade_id"][: len(group)] == sorted(t.trade_id for t in group)
    assert trades_module._event_columns([], "planned", T0, "rec-2", []) == EVENT.column_values([])


def test_a_session_without_trades_reads_none_for_any_accounts(app_db: AppDatabase) -> None:
    store = TradeStore(app_db)
    trade = _born(store)
    assert store.trades(session=later(T0, 60 * 24).date(), account_ids=[trade.account_id]) == []
    assert store.trades(session=SESSION, account_ids=[trade.account_id]) == [trade]
