"""judge(): the state a trade's orders and the broker's position report put it in, and why."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from spx_pipeline.domain.trades import (
    CloseReason,
    LocalStatus,
    PositionReport,
    TradeState,
    entry_intent,
    exits_needed,
    judge,
    progress,
)
from spx_pipeline.domain.trades.lifecycle import covered
from spx_pipeline_tests.fixtures.trades import (
    NEXT_SESSION,
    SESSION,
    T0,
    claimed,
    later,
    make_plan,
    make_trade,
    replace_order,
    reported,
)

S = TradeState
NO_REPORT = PositionReport(None)


def _judge(trade, orders, *, position: int | None = None, expired: bool = False, session=SESSION):
    return judge(trade, orders, session=session, position=PositionReport(position), expired=expired)


def _partly_filled(quantity: int = 5, filled: int = 2, **plan_fields):
    plan = make_plan(quantity=quantity, **plan_fields)
    entry = reported(
        claimed(entry_intent(plan)), "partially_filled",
        open_filled=filled, open_avg=Decimal("4.40"), working_open=quantity - filled,
    )  # fmt: skip
    return plan, make_trade(plan), [entry]


def _with_exits(plan, orders, *, at=T0):
    """``orders`` plus the exits the rules ask for, claimed and reported working."""
    decision = exits_needed(plan, orders, session=SESSION, expired=False)
    assert decision.intents, decision.waiting
    added = []
    for intent in decision.intents:
        order = claimed(intent, at=at)
        if intent.order_class == "oco":
            added.append(
                reported(order, "open", working_target=intent.quantity, working_stop=intent.quantity)
            )
        elif intent.stop_price is not None:
            added.append(reported(order, "open", working_stop=intent.quantity))
        else:
            added.append(reported(order, "open", working_target=intent.quantity))
    return [*orders, *added]


def test_a_trade_without_orders_is_planned_in_its_session_and_abandoned_after_it() -> None:
    trade = make_trade(make_plan(), S.PLANNED)
    assert _judge(trade, []).state == S.PLANNED
    verdict = _judge(trade, [], session=NEXT_SESSION)
    assert verdict.state == S.ABANDONED and "ended with nothing sent" in verdict.reason


def test_a_claimed_entry_not_yet_reported_is_working_for_the_planned_quantity() -> None:
    plan = make_plan(quantity=3)
    verdict = _judge(make_trade(plan), [claimed(entry_intent(plan))])
    assert verdict.state == S.ENTRY_WORKING and "3 contract(s)" in verdict.reason


def test_a_partial_fill_opens_the_trade_for_what_filled() -> None:
    _, trade, orders = _partly_filled(5, 2)
    verdict = _judge(trade, orders, position=2)
    assert verdict.state == S.OPEN and verdict.reason.startswith("2 contract(s) held")
    p = progress(orders)
    assert (p.filled, p.position, p.entry_working, p.entry_dead) == (2, 2, 3, False)


@pytest.mark.parametrize("status", ["canceled", "expired"])
def test_an_entry_ended_after_a_partial_fill_is_not_waited_for(status: str) -> None:
    plan, trade, orders = _partly_filled(5, 2)
    ended = reported(orders[0], status, open_filled=2, open_avg=Decimal("4.40"))
    p = progress([ended])
    assert p.entry_dead and p.entry_working == 0 and p.position == 2
    assert not ended.dead  # it filled something: its fills still count
    decision = exits_needed(plan, [ended], session=SESSION, expired=False)
    assert decision.waiting is None
    assert sum(i.quantity for i in decision.intents) == 2  # exits for the 2 held, not the 5 planned
    covered_orders = _with_exits(plan, [ended])
    verdict = _judge(trade, covered_orders, position=2)
    assert verdict.state == S.EXITS_WORKING


@pytest.mark.parametrize(
    ("status", "local", "words"),
    [
        ("canceled", LocalStatus.SENT, "canceled with nothing filled"),
        ("expired", LocalStatus.SENT, "expired with nothing filled"),
        (None, LocalStatus.VOID, "never reached the broker"),
        (None, LocalStatus.REJECTED, "rejected: no buying power"),
    ],
)
def test_an_entry_that_can_no_longer_fill_with_nothing_filled_abandons_the_trade(
    status: str | None, local: LocalStatus, words: str
) -> None:
    plan = make_plan()
    entry = claimed(entry_intent(plan), status=local)
    if status is not None:
        entry = reported(entry, status)
    if local == LocalStatus.REJECTED:
        entry = dataclasses.replace(entry, message="no buying power")
    verdict = _judge(make_trade(plan), [entry])
    assert verdict.state == S.ABANDONED
    assert words in verdict.reason


def test_exits_working_for_every_contract_held_is_exits_working() -> None:
    plan, trade, orders = _partly_filled(5, 2)
    orders = _with_exits(plan, orders)
    p = progress(orders)
    assert (p.working_stop, p.working_target) == (2, 1)  # OCO stop 1 + runner stop 1; OCO target 1
    assert covered(plan, p)
    assert _judge(trade, orders, position=2).state == S.EXITS_WORKING


def _all_filled_with_exits(plan):
    entry = reported(claimed(entry_intent(plan)), "filled", open_filled=plan.planned_quantity,
                     open_avg=Decimal("4.40"))  # fmt: skip
    return _with_exits(plan, [entry])


def test_all_exits_filled_with_the_stop_last_closes_by_stop() -> None:
    plan = make_plan(quantity=4)
    orders = _all_filled_with_exits(plan)
    t1, stop = orders[1], orders[2]
    orders = replace_order(orders, reported(t1, "filled", at=later(T0, 10), target_filled=2,
                                            target_avg=Decimal("6.60")))  # fmt: skip
    orders = replace_order(orders, reported(stop, "filled", at=later(T0, 60), stop_filled=2,
                                            stop_avg=Decimal("2.20")))  # fmt: skip
    verdict = _judge(make_trade(plan, S.RUNNER), orders, position=0)
    assert (verdict.state, verdict.close_reason) == (S.CLOSED, CloseReason.STOP)
    assert "all 4 contract(s) closed by our exits" in verdict.reason
    p = progress(orders)
    # 2 x 6.60 + 2 x 2.20 against 4 x 4.40, times 100, less 0.65 per contract per fill (8 fills).
    assert p.realized_pnl(Decimal("0.65")) == Decimal("-5.2000")


def test_all_exits_filled_with_a_target_last_closes_by_target() -> None:
    plan = make_plan(quantity=4, stop=None)  # breakeven plan: T1 targets, a runner stop after T1
    entry = claimed(entry_intent(plan))
    part = reported(entry, "partially_filled", open_filled=2, open_avg=Decimal("4.40"), working_open=2)
    orders = _with_exits(plan, [part])  # T1 target for 1 of the 2 held
    orders = replace_order(orders, reported(entry, "filled", open_filled=4, open_avg=Decimal("4.40")))
    orders = _with_exits(plan, orders, at=later(T0, 5))  # T1 target for 1 more (goal 2 of 4)
    first_t1, second_t1 = orders[1], orders[2]
    assert (first_t1.tag, second_t1.tag) == (f"{plan.tag}-t1", f"{plan.tag}-t1-2")
    orders = replace_order(orders, reported(first_t1, "filled", at=later(T0, 10), target_filled=1,
                                            target_avg=Decimal("6.60")))  # fmt: skip
    orders = _with_exits(plan, orders, at=later(T0, 11))  # now the runner's breakeven stop
    stop = orders[-1]
    assert (stop.leg, stop.quantity, stop.stop_price) == ("runner_stop", 2, plan.limit_price)
    orders = replace_order(orders, reported(stop, "filled", at=later(T0, 60), stop_filled=2,
                                            stop_avg=Decimal("4.40")))  # fmt: skip
    assert _judge(make_trade(plan, S.RUNNER), orders, position=1).state == S.RUNNER
    orders = replace_order(orders, reported(second_t1, "filled", at=later(T0, 90), target_filled=1,
                                            target_avg=Decimal("6.60")))  # fmt: skip
    verdict = _judge(make_trade(plan, S.RUNNER), orders, position=0)
    assert (verdict.state, verdict.close_reason) == (S.CLOSED, CloseReason.TARGET)


def test_no_position_at_the_broker_while_our_fills_hold_some_is_a_manual_close() -> None:
    _, trade, orders = _partly_filled(5, 2)
    verdict = _judge(trade, orders, position=0)
    assert (verdict.state, verdict.close_reason) == (S.CLOSED, CloseReason.MANUAL)
    assert "closed outside our orders" in verdict.reason


def test_no_position_after_the_contracts_last_session_is_expiry() -> None:
    plan, trade, orders = _partly_filled(5, 2)
    verdict = _judge(trade, orders, position=0, expired=True)
    assert (verdict.state, verdict.close_reason) == (S.CLOSED, CloseReason.EXPIRED)
    assert f"settled at expiry ({plan.expiration})" in verdict.reason


@pytest.mark.parametrize("expired", [False, True])
def test_a_missing_position_report_never_closes_anything(expired: bool) -> None:
    plan, trade, orders = _partly_filled(5, 2)
    assert _judge(trade, orders, position=None, expired=expired).state == S.OPEN
    orders = _with_exits(plan, orders)
    assert _judge(trade, orders, position=None, expired=expired).state == S.EXITS_WORKING


def test_a_smaller_position_than_our_fills_does_not_close_the_trade() -> None:
    _, trade, orders = _partly_filled(5, 2)
    assert _judge(trade, orders, position=1).state == S.OPEN


def test_t1_filled_with_the_runner_uncovered_then_covered() -> None:
    plan = make_plan(quantity=4)
    orders = _all_filled_with_exits(plan)
    t1, stop = orders[1], orders[2]
    orders = replace_order(orders, reported(t1, "filled", target_filled=2, target_avg=Decimal("6.60")))
    assert _judge(make_trade(plan), orders, position=2).state == S.RUNNER
    expired_stop = replace_order(orders, reported(stop, "expired"))  # the runner's day stop ended
    verdict = _judge(make_trade(plan), expired_stop, position=2)
    assert verdict.state == S.T1_FILLED and "not covered" in verdict.reason


def test_a_closed_trade_stays_closed_whatever_is_reported() -> None:
    plan, _, orders = _partly_filled(5, 2)
    closed = make_trade(plan, S.CLOSED, close_reason=CloseReason.MANUAL)
    verdict = _judge(closed, orders, position=2)
    assert (verdict.state, verdict.close_reason) == (S.CLOSED, CloseReason.MANUAL)


def test_no_position_while_our_exits_still_work_is_not_a_manual_close_yet() -> None:
    """Orders are read before positions: a stop that fills between the two reads shows working in
    one and flat in the other. Closing the trade by hand then would be final (closed trades are not
    read again) and lose the stop's fill; the next read shows what closed it."""
    plan, trade, orders = _partly_filled(5, 2)
    orders = _with_exits(plan, orders)
    verdict = _judge(trade, orders, position=0)
    assert verdict.state == S.EXITS_WORKING and verdict.close_reason is None
    assert "no position at the broker while our exits still work" in verdict.reason
    assert _judge(trade, orders, position=0, expired=True).close_reason == CloseReason.EXPIRED
    ended = [orders[0], *(reported(o, "expired") for o in orders[1:])]  # the exits are over: by hand
    assert _judge(trade, ended, position=0).close_reason == CloseReason.MANUAL
