"""The ways trades went wrong across runs, each as the trader met it, through the Dagster jobs.

Every test drives the schedule's jobs and the operator's placement on the local server's moving,
filling market and looks at what the broker holds (its order book) and what the stores say.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.demo import SMALL_MARGIN_ACCOUNT
from spx_pipeline.domain.market_calendar import next_session, trading_day
from spx_pipeline.domain.trades import Leg, TradeState
from spx_pipeline.emulator import FaultConfig, demo_accounts
from spx_pipeline.storage.app.setups import SetupStore
from spx_pipeline.storage.warehouse.execution_reads import latest_guardrails
from spx_pipeline.transformations import trade_sending
from spx_pipeline_tests.fixtures.simulation import CASH, MARGIN, PDT
from spx_pipeline_tests.fixtures.trade_history import seed_day_trades
from spx_pipeline_tests.fixtures.trading import Desk, desk_env

# Whole trading days through the jobs on a filling market: end to end (make test-e2e, run by CI).
pytestmark = pytest.mark.e2e

ACCOUNTS = (MARGIN, CASH, PDT)


def entries_at_broker(desk: Desk, account: str) -> list[dict[str, object]]:
    return [o for o in desk.broker_orders(account) if str(o.get("tag", "")).endswith("-entry")]


def held(desk: Desk, account: str, symbol: str) -> int:
    return int(desk.env.emulator.book.ledgers[account].held(symbol))


def working_stop(desk: Desk, account: str, symbol: str) -> int:
    """Contracts of ``symbol`` the broker's working sell stops cover (OCO stop legs included)."""
    total = 0
    for order in desk.broker_orders(account):
        for leg in order.get("leg") or [order]:
            if (
                leg.get("option_symbol") == symbol
                and leg["side"] == "sell_to_close"
                and leg["type"] in ("stop", "stop_limit")
                and leg["status"] in ("open", "pending", "partially_filled")
            ):
                total += int(Decimal(str(leg["quantity"])) - Decimal(str(leg["exec_quantity"])))
    return total


def test_1_a_setup_is_entered_once_per_session_and_the_daily_risk_holds_across_runs(desk: Desk) -> None:
    budget = Decimal(3000)
    desk.pipeline(max_daily_risk_dollars=float(budget))
    for account in ACCOUNTS:
        desk.place(account)
    desk.advance(15)  # the schedule's next run: a new sync, a new fingerprint
    desk.pipeline(max_daily_risk_dollars=float(budget))
    for account in ACCOUNTS:
        desk.place(account)
    for account in ACCOUNTS:
        tags = [o["tag"] for o in entries_at_broker(desk, account)]
        assert len(tags) == len(set(tags)) <= 2  # at most one entry per setup and session
        risk = Decimal(0)
        for trade in desk.trades(account):
            if trade.state != TradeState.PLANNED:
                plan = trade.plan
                per_contract = plan.limit_price - (plan.stop_price or 0)
                risk += trade.plan.planned_quantity * per_contract * 100
        assert risk <= budget, (account, risk)
    rows = desk.env.warehouse().query(
        "SELECT blocked_reason FROM published.contract_recommendations WHERE run_id = "
        "(SELECT max_by(run_id, generated_at) FROM published.contract_recommendations)"
    )
    assert rows["blocked_reason"].fillna("").str.contains("Already traded this session").any()


def test_2_a_ticket_never_changes_under_an_order_already_sent(desk: Desk) -> None:
    desk.place(PDT)
    sent = {o["tag"]: o for o in entries_at_broker(desk, PDT)}
    desk.advance(5)
    assert desk.env.run("recommendations_job").success  # re-size without a sync...
    assert desk.env.run("order_tickets_job").success  # ...and rebuild the tickets
    tickets = desk.env.warehouse().query(
        "SELECT tag, quantity, price FROM published.order_tickets WHERE account_id = ? AND leg = 'entry'",
        [PDT],
    )
    for row in tickets.itertuples():
        if row.tag in sent:
            order = sent[row.tag]
            assert row.quantity == int(Decimal(str(order["quantity"])))
            assert Decimal(str(row.price)) == Decimal(str(order["price"]))
    desk.advance(20)
    desk.reconcile()
    for trade in desk.trades(PDT):
        if trade.filled_quantity:
            exits = [
                o for o in desk.orders(trade) if str(o.leg) != "entry" and o.session == trade.plan.session
            ]
            stopped = sum(o.quantity for o in exits if o.stop_price is not None)
            assert stopped == trade.filled_quantity  # every filled contract, not the re-sized plan
    fidelity = desk.env.warehouse().query(
        "SELECT tag, intended_price FROM published.execution_fidelity WHERE leg = 'entry' AND account_id = ?",
        [PDT],
    )
    for row in fidelity.itertuples():
        assert Decimal(str(row.intended_price)) == Decimal(str(sent[row.tag]["price"]))


def test_3_a_partly_filled_entry_gets_a_stop_for_what_filled_and_again_after_the_close(desk: Desk) -> None:
    emu = desk.env.emulator
    desk.plan(PDT)
    # The bearish trade only: its entry rests (a limit far below the market) and fills in part by hand.
    bear = next(t for t in desk.trades(PDT) if t.plan.setup_id == "bear-stop")
    desk.placement({"trade_ids": [bear.trade_id], "dry_run": False, "confirm": "PLACE 1"})
    [entry] = [o for o in entries_at_broker(desk, PDT) if o["tag"].startswith(bear.plan.tag)]
    stored = emu.book.order(PDT, int(entry["id"]))
    assert stored is not None
    if stored.working:
        emu.book.fill(stored, 2, stored.price, at=emu.clock.now(), requirement_per_contract=Decimal(0))
        emu.book.cancel(PDT, stored.id, now=emu.clock.now())  # the trader cancels the rest
    filled = stored.exec_quantity
    desk.reconcile()
    symbol = bear.plan.option_symbol
    assert working_stop(desk, PDT, symbol) == held(desk, PDT, symbol) == filled > 0
    [trade] = [t for t in desk.trades(PDT) if t.trade_id == bear.trade_id]
    assert trade.state in (TradeState.EXITS_WORKING, TradeState.CLOSED)


def test_3b_a_position_held_overnight_has_its_stop_again_before_the_next_open(pipeline_env_factory) -> None:
    desk = Desk(desk_env(pipeline_env_factory, now="2026-11-24T15:30:00-05:00"))
    desk.pipeline()
    desk.place(PDT)
    desk.advance(10)
    desk.reconcile()
    overnight = [
        t
        for t in desk.trades(PDT)
        if t.plan.expiration > t.plan.session and held(desk, PDT, t.plan.option_symbol)
    ]
    desk.env.set_now("2026-11-25T09:25:00-05:00")  # the pre-open run of the next session
    desk.reconcile()
    for trade in overnight:
        symbol = trade.plan.option_symbol
        assert working_stop(desk, PDT, symbol) == held(desk, PDT, symbol) > 0, symbol


def test_4_exits_still_go_when_a_later_run_blocks_the_setup(desk: Desk) -> None:
    desk.place(PDT)
    desk.advance(20)
    for setup in ("bull-stop", "bear-stop"):  # the setups are switched off after the entries
        SetupStore(desk.env.app_db()).deactivate(setup)
    desk.pipeline()
    desk.reconcile()
    for trade in desk.trades(PDT):
        symbol = trade.plan.option_symbol
        if held(desk, PDT, symbol) > 0:
            assert working_stop(desk, PDT, symbol) >= held(desk, PDT, symbol)


def test_5_tickets_of_another_session_are_refused(desk: Desk) -> None:
    ticket = (
        desk.env.warehouse()
        .query(
            "SELECT ticket_id FROM published.order_tickets WHERE account_id = ? AND leg = 'entry' LIMIT 1",
            [PDT],
        )["ticket_id"]
        .iloc[0]
    )
    desk.env.set_now("2026-11-25T10:30:00-05:00")  # the next session: yesterday's ticket is stale
    result = desk.placement({"ticket_ids": [ticket], "dry_run": False, "confirm": "PLACE 1"})
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "another session" in (failure.step_failure_data.user_failure_data.description or "")  # type: ignore[union-attr]
    assert entries_at_broker(desk, PDT) == []


def test_6_two_confirmed_placements_at_once_send_each_tag_once(desk: Desk) -> None:
    phrase = desk.plan(PDT)["confirm_phrase"]
    gate = threading.Barrier(2)
    results: list[bool] = []
    failures: list[str] = []
    job = desk.env.defs.resolve_job_def("place_order_tickets_job")
    placement = {"account_id": PDT, "dry_run": False, "confirm": phrase}
    config = {"ops": {"order_placements": {"config": placement}}}

    def place() -> None:
        # An instance each, as two operators' runs would have: the two runs share only the app
        # database, the broker and the warehouse (one in-memory instance in two threads locks).
        with dg.DagsterInstance.ephemeral() as instance:
            gate.wait(timeout=60)
            result = job.execute_in_process(instance=instance, run_config=config, raise_on_error=False)
            results.append(result.success)
            failures.extend(
                (e.step_failure_data.user_failure_data.description or "")
                if e.step_failure_data.user_failure_data else str(e.step_failure_data.error)
                for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
            )  # fmt: skip

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 2, "a placement run did not finish"  # both really ran, side by side
    tags = desk.tags(PDT)
    assert tags and len(tags) == len(set(tags))
    assert len(tags) == int(phrase.split()[-1])  # what the plan showed reached the broker, once
    assert any(results)
    # The run that lost the race was refused, not broken: by the claims (each trade is claimed
    # once), or, when it planned after the winner had claimed part of the plan, by its confirm
    # phrase (the plan it would send is no longer the one the operator confirmed).
    refusals = ("claim", "refused", "nothing placed: confirm must be")
    assert all(any(r in f.lower() for r in refusals) for f in failures), failures


def test_7_a_failed_orders_read_makes_the_account_unknown_not_unexpected(desk: Desk) -> None:
    desk.place(PDT)
    desk.advance(20)
    desk.reconcile()
    desk.env.emulator.set_faults(FaultConfig(path_prefix=f"/accounts/{PDT}/orders", error_rate=1.0))
    desk.advance(1)
    desk.reconcile()
    rows = desk.env.warehouse().query(
        "SELECT status FROM position_reconciliation WHERE account_id = ? AND run_id = "
        "(SELECT max_by(run_id, captured_at) FROM position_reconciliation)",
        [PDT],
    )
    assert set(rows["status"]) == {"unknown"}


def test_8_exits_past_the_day_trade_allowance_wait_for_the_next_session(pipeline_env_factory) -> None:
    desk = Desk(desk_env(pipeline_env_factory, accounts=[*demo_accounts(), SMALL_MARGIN_ACCOUNT]))
    small = SMALL_MARGIN_ACCOUNT.account_id
    seed_day_trades(desk.env, small, count=3)  # three same-day closes this week already
    desk.pipeline()
    desk.place(small)
    desk.advance(20)
    desk.reconcile()
    today = trading_day(desk.env.clock.now())
    filled = [t for t in desk.trades(small) if t.plan.session == today and t.filled_quantity]
    assert filled, "the entries should have filled"
    for trade in filled:
        assert trade.plan.pdt_qualified is False
        assert [o for o in desk.orders(trade) if o.leg != Leg.ENTRY] == []  # a 4th day trade: refused
    assert re.search(r"would be day trades? 4", str(desk.plan(small)["plan"]))  # 4, or 4-5 for two exits
    desk.env.set_now(f"{next_session(today)}T09:25:00-05:00")  # closing tomorrow is no day trade
    desk.reconcile()
    for trade in filled:
        symbol = trade.plan.option_symbol
        assert working_stop(desk, small, symbol) == held(desk, small, symbol) > 0


def test_9_the_newest_guardrail_run_wins_even_when_it_blocks_nothing(desk: Desk) -> None:
    wh = desk.env.warehouse()
    blocked = pd.DataFrame(
        [
            {
                "setup_id": "bull-stop", "account_id": "", "fills": 9, "median_ticks": 6, "p90_ticks": 9,
                "median_dollars": 30, "p90_dollars": 45, "expected_slippage_per_contract": Decimal("30"),
                "blocked_reason": "p90 9 ticks above 4", "window_sessions": 20, "min_fills": 5,
                "max_p90_ticks": 4, "run_id": "old-guardrails", "captured_at": desk.env.clock.now(),
            }
        ]
    )  # fmt: skip
    with wh.transaction() as tx:
        tx.replace_rows("execution_guardrails", blocked, key_columns=["run_id", "setup_id", "account_id"])
        tx.publish("old-guardrails", "execution_guardrails")
    assert not latest_guardrails(wh).empty
    desk.advance(1)
    desk.reconcile()  # no fills in the window: a run that blocks nothing
    assert latest_guardrails(wh).empty
    desk.pipeline()
    reasons = wh.query(
        "SELECT blocked_reason FROM published.contract_recommendations "
        "WHERE setup_id = 'bull-stop' AND run_id = "
        "(SELECT max_by(run_id, generated_at) FROM published.contract_recommendations)"
    )["blocked_reason"].fillna("")
    assert not reasons.str.contains("slippage guardrail").any()


def test_10_caps_never_stop_a_protective_exit(desk: Desk) -> None:
    desk.place(PDT)
    desk.advance(20)
    # An operator's run with the tightest caps: entries would be refused, exits must still go.
    plan = desk.plan(PDT, max_orders=1, max_opening_notional=1.0)
    rows = str(plan["plan"])
    if "place" in rows:
        desk.placement(
            {"account_id": PDT, "dry_run": False, "confirm": plan["confirm_phrase"], "max_orders": 1,
             "max_opening_notional": 1.0}
        )  # fmt: skip
    for trade in desk.trades(PDT):
        symbol = trade.plan.option_symbol
        if held(desk, PDT, symbol) > 0:
            assert working_stop(desk, PDT, symbol) >= held(desk, PDT, symbol)


def test_11_a_killed_placement_run_reaches_the_warehouse_with_the_next_run(desk: Desk, monkeypatch) -> None:
    class Killed(BaseException):
        pass

    def kill_after_post(step: str, tag: str) -> None:
        if step == "posted":
            raise Killed(tag)

    phrase = desk.plan(PDT)["confirm_phrase"]
    with monkeypatch.context() as patched:
        patched.setattr(trade_sending, "step_hook", kill_after_post)
        killed_run = desk.placement({"account_id": PDT, "dry_run": False, "confirm": phrase})
    assert not killed_run.success  # died after its first POST, before recording the outcome
    claims = desk.app_rows("SELECT tag, local_status FROM trade_orders")
    assert claims and all(status == "sending" for _, status in claims)  # sent, outcome never recorded
    killed = desk.app_rows("SELECT DISTINCT run_id FROM order_placements")
    assert killed
    desk.advance(10)  # later than a placement can take
    desk.reconcile()
    placed = desk.env.warehouse().query("SELECT DISTINCT run_id FROM published.order_placements")
    assert {r for (r,) in killed} <= set(placed["run_id"])
    statuses = dict(desk.app_rows("SELECT tag, local_status FROM trade_orders"))
    assert set(statuses.values()) == {"sent"}  # settled by their tags at the broker
    assert len(desk.tags(PDT)) == len(set(desk.tags(PDT))) == len(statuses)


def test_12_a_bad_guardrail_value_stops_the_run_before_any_exit_is_sent(desk: Desk) -> None:
    desk.place(PDT)
    desk.advance(20)
    before = desk.broker_orders(PDT)
    bad = {"ops": {"execution_guardrails": {"config": {"max_p90_ticks": float("nan")}}}}
    result = desk.env.run("reconciliation_job", bad)
    assert not result.success
    failed = [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failed == ["broker_state"]
    assert desk.broker_orders(PDT) == before  # nothing sent, nothing cancelled
    desk.reconcile()  # the operator fixes the value: the next run sends the exits the bad one held back
    before_tags = {o.get("tag") for o in before}
    new_tags = [str(o.get("tag")) for o in desk.broker_orders(PDT) if o.get("tag") not in before_tags]
    assert new_tags and not any(tag.endswith("-entry") for tag in new_tags), new_tags  # exits only
    for trade in desk.trades(PDT):
        symbol = trade.plan.option_symbol
        assert working_stop(desk, PDT, symbol) >= held(desk, PDT, symbol)
