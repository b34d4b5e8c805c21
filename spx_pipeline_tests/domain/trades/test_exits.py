"""exits_needed(): exits from what filled, only for what is uncovered, and the rules that hold them back."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from spx_pipeline.domain.trades import (
    DayTradeGuard,
    Leg,
    LocalStatus,
    day_trades_used,
    entry_intent,
    exits_needed,
    order_tag,
    progress,
)
from spx_pipeline.domain.tradier.order_requests import read_order_form
from spx_pipeline_tests.fixtures.trades import (
    LATER_SYMBOL,
    NEXT_SESSION,
    SESSION,
    claimed,
    make_plan,
    replace_order,
    reported,
)

PRICE = Decimal("4.40")


def _entry(plan, status: str, filled: int, working: int = 0):
    return reported(
        claimed(entry_intent(plan)), status, open_filled=filled, open_avg=PRICE, working_open=working
    )


def _working(intents, *, session=SESSION):
    """The intents claimed and reported working by the broker (an OCO shows both of its legs)."""
    out = []
    for intent in intents:
        order = claimed(intent, session=session)
        if intent.order_class == "oco":
            out.append(reported(order, "open", working_target=intent.quantity, working_stop=intent.quantity))
        elif intent.stop_price is not None:
            out.append(reported(order, "open", working_stop=intent.quantity))
        else:
            out.append(reported(order, "open", working_target=intent.quantity))
    return out


def _shape(intents):
    return [(i.leg, i.order_class, i.quantity, i.tag) for i in intents]


def test_a_partly_filled_five_lot_gets_t1_and_stop_for_the_two_held_then_only_the_remainder() -> None:
    plan = make_plan(quantity=5)
    part = _entry(plan, "partially_filled", 2, working=3)
    first = exits_needed(plan, [part], session=SESSION, expired=False)
    assert first.waiting is None and not first.refused
    assert _shape(first.intents) == [
        (Leg.T1, "oco", 1, order_tag(plan.tag, Leg.T1, 1)),
        (Leg.RUNNER_STOP, "option", 1, order_tag(plan.tag, Leg.RUNNER_STOP, 1)),
    ]
    t1, stop = first.intents
    assert (t1.price, t1.stop_price, stop.stop_price) == (plan.t1_price, plan.stop_price, plan.stop_price)
    orders = [part, *_working(first.intents)]
    assert exits_needed(plan, orders, session=SESSION, expired=False).intents == []  # covered: nothing more

    orders = replace_order(orders, _entry(plan, "filled", 5))
    rest = exits_needed(plan, orders, session=SESSION, expired=False)
    # 5 filled: T1 takes 2 (1 working, 1 more), the runner 3 (1 working, 2 more); new tags.
    assert _shape(rest.intents) == [
        (Leg.T1, "oco", 1, f"{plan.tag}-t1-2"),
        (Leg.RUNNER_STOP, "option", 2, f"{plan.tag}-stop-2"),
    ]
    assert {i.tag for i in rest.intents}.isdisjoint(o.tag for o in orders)
    done = [*orders, *_working(rest.intents)]
    p = progress(done)
    assert (p.working_stop, p.t1_done, p.position) == (5, 2, 5)
    assert exits_needed(plan, done, session=SESSION, expired=False).intents == []


def test_every_exit_form_is_one_the_wire_rules_accept() -> None:
    plan = make_plan(quantity=5, offset="0.10")
    decision = exits_needed(plan, [_entry(plan, "filled", 5)], session=SESSION, expired=False)
    for intent in decision.intents:
        request = read_order_form(intent.form)
        assert request.to_form() == intent.form
        assert request.tag == intent.tag
        assert all(leg.side == "sell_to_close" for leg in request.legs)
    runner = decision.intents[-1]
    assert runner.order_type == "stop_limit" and runner.form["price"] == "2.10"


def test_a_one_lot_with_a_stop_enters_with_its_stop_and_gets_one_again_when_it_expired() -> None:
    plan = make_plan(quantity=1, symbol=LATER_SYMBOL, expiration=NEXT_SESSION.replace(day=27))
    entry = entry_intent(plan)
    assert entry.order_class == "oto" and entry.form["side[1]"] == "sell_to_close"
    assert entry.form["stop[1]"] == "2.20" and entry.form["quantity[1]"] == "1"
    filled = reported(claimed(entry), "filled", open_filled=1, open_avg=PRICE, working_stop=1)
    assert exits_needed(plan, [filled], session=SESSION, expired=False).intents == []
    # Next session: the OTO's day stop expired at the close and nothing works for the contract held.
    over = reported(claimed(entry), "expired", open_filled=1, open_avg=PRICE)
    again = exits_needed(plan, [over], session=NEXT_SESSION, expired=False)
    assert _shape(again.intents) == [(Leg.RUNNER_STOP, "option", 1, f"{plan.tag}-stop")]
    assert again.intents[0].stop_price == plan.stop_price


def test_a_one_lot_without_an_oto_still_gets_a_stop_for_the_whole() -> None:
    plan = make_plan(quantity=1)
    decision = exits_needed(plan, [_entry(plan, "filled", 1)], session=SESSION, expired=False)
    assert _shape(decision.intents) == [(Leg.RUNNER_STOP, "option", 1, f"{plan.tag}-stop")]


def test_day_exits_that_expired_overnight_are_placed_again_with_new_tags() -> None:
    plan = make_plan(quantity=4, symbol=LATER_SYMBOL, expiration=NEXT_SESSION.replace(day=27))
    entry = _entry(plan, "filled", 4)
    first = exits_needed(plan, [entry], session=SESSION, expired=False).intents
    orders = [entry, *_working(first)]
    assert exits_needed(plan, orders, session=SESSION, expired=False).intents == []
    expired = [entry, *(reported(o, "expired") for o in orders[1:])]
    again = exits_needed(plan, expired, session=NEXT_SESSION, expired=False)
    assert _shape(again.intents) == [
        (Leg.T1, "oco", 2, f"{plan.tag}-t1-2"),
        (Leg.RUNNER_STOP, "option", 2, f"{plan.tag}-stop-2"),
    ]


def test_nothing_is_sent_for_a_contract_that_expired() -> None:
    plan = make_plan(quantity=2)
    decision = exits_needed(plan, [_entry(plan, "filled", 2)], session=NEXT_SESSION, expired=True)
    assert decision.intents == [] and decision.refused and "expired" in (decision.waiting or "")


def test_exits_wait_for_the_entry_and_ask_nothing_once_flat() -> None:
    plan = make_plan(quantity=3)
    waiting = exits_needed(plan, [claimed(entry_intent(plan))], session=SESSION, expired=False)
    assert waiting.intents == [] and waiting.waiting == "exits go once the entry fills"
    entry = _entry(plan, "filled", 3)
    t1, stop = exits_needed(plan, [entry], session=SESSION, expired=False).intents
    assert (t1.quantity, stop.quantity) == (1, 2)
    stopped_out = [
        entry,
        reported(claimed(t1), "filled", stop_filled=1, stop_avg=Decimal("2.20")),  # the OCO's stop leg
        reported(claimed(stop), "filled", stop_filled=2, stop_avg=Decimal("2.20")),
    ]
    assert progress(stopped_out).position == 0
    flat = exits_needed(plan, stopped_out, session=SESSION, expired=False)
    assert (flat.intents, flat.waiting, flat.refused) == ([], None, False)


def test_a_breakeven_plan_sends_t1_first_and_the_runner_stop_only_after_the_t1_fill() -> None:
    plan = make_plan(quantity=4, stop=None)
    entry = _entry(plan, "filled", 4)
    first = exits_needed(plan, [entry], session=SESSION, expired=False)
    assert _shape(first.intents) == [(Leg.T1, "option", 2, f"{plan.tag}-t1")]
    assert first.intents[0].order_type == "limit"
    orders = [entry, *_working(first.intents)]
    waiting = exits_needed(plan, orders, session=SESSION, expired=False)
    assert waiting.intents == [] and not waiting.refused
    assert waiting.waiting == "the runner's breakeven stop goes after the T1 fill"
    orders = replace_order(orders, reported(orders[1], "filled", target_filled=2, target_avg=Decimal("6.60")))
    runner = exits_needed(plan, orders, session=SESSION, expired=False)
    assert _shape(runner.intents) == [(Leg.RUNNER_STOP, "option", 2, f"{plan.tag}-stop")]
    assert runner.intents[0].stop_price == plan.limit_price  # breakeven


def test_a_rejected_exit_is_tried_once_more_then_not_until_the_next_session() -> None:
    plan = make_plan(quantity=2, symbol=LATER_SYMBOL, expiration=NEXT_SESSION.replace(day=27))
    entry = _entry(plan, "filled", 2)
    intents = exits_needed(plan, [entry], session=SESSION, expired=False).intents
    refused = dataclasses.replace(
        reported(claimed(intents[-1]), "rejected"), message="the account holds 0 long"
    )
    assert refused.local_status == LocalStatus.REJECTED
    orders = [entry, *_working(intents[:1]), refused]
    again = exits_needed(plan, orders, session=SESSION, expired=False)  # a passing refusal: once more
    assert _shape(again.intents) == [(Leg.RUNNER_STOP, "option", 1, f"{plan.tag}-stop-2")]
    second = dataclasses.replace(
        reported(claimed(again.intents[0]), "rejected"), message="still holds 0 long"
    )
    orders = [*orders, second]
    today = exits_needed(plan, orders, session=SESSION, expired=False)
    assert today.intents == [] and today.refused
    assert f"rejected 2 exits this session, last {second.tag} (still holds 0 long)" in (today.waiting or "")
    tomorrow = exits_needed(plan, orders, session=NEXT_SESSION, expired=False)
    assert _shape(tomorrow.intents) == [(Leg.RUNNER_STOP, "option", 1, f"{plan.tag}-stop-3")]


def _non_pdt(**fields):
    return make_plan(quantity=2, pdt_qualified=False, **fields)


def test_the_day_trade_guard_refuses_same_day_exits_past_the_allowance_for_a_non_pdt_account() -> None:
    plan = _non_pdt()
    entry = _entry(plan, "filled", 2)
    within = exits_needed(plan, [entry], session=SESSION, expired=False, guard=DayTradeGuard(used=1))
    assert len(within.intents) == 2 and within.day_trades == 2  # day trades 2 and 3 of 3
    past = exits_needed(plan, [entry], session=SESSION, expired=False, guard=DayTradeGuard(used=2))
    assert past.intents == [] and past.refused and past.day_trades == 0
    assert "would be day trades 3-4 in 5 sessions" in (past.waiting or "")
    assert "not PDT-qualified" in (past.waiting or "") and "next session" in (past.waiting or "")


def test_the_day_trade_guard_never_holds_a_pdt_qualified_account_or_a_later_session_or_when_off() -> None:
    full = DayTradeGuard(used=99)
    pdt = make_plan(quantity=2, pdt_qualified=True)
    decision = exits_needed(pdt, [_entry(pdt, "filled", 2)], session=SESSION, expired=False, guard=full)
    assert len(decision.intents) == 2 and decision.day_trades == 0
    plan = _non_pdt(symbol=LATER_SYMBOL, expiration=NEXT_SESSION.replace(day=27))
    entry = _entry(plan, "filled", 2)
    tomorrow = exits_needed(plan, [entry], session=NEXT_SESSION, expired=False, guard=full)
    assert len(tomorrow.intents) == 2 and tomorrow.day_trades == 0  # not a day trade any more
    off = exits_needed(
        plan, [entry], session=SESSION, expired=False, guard=DayTradeGuard(enabled=False, used=99)
    )
    assert len(off.intents) == 2


def test_day_trades_used_counts_same_session_exits_that_filled_or_still_work() -> None:
    plan = _non_pdt()
    entry = _entry(plan, "filled", 2)
    t1, stop = exits_needed(plan, [entry], session=SESSION, expired=False).intents
    sessions = {plan.trade_id: plan.session}
    window = [SESSION]
    working = _working([t1, stop])
    assert day_trades_used([entry, *working], sessions, window) == 2
    void = claimed(stop, status=LocalStatus.VOID)
    canceled = reported(claimed(t1), "canceled")
    assert day_trades_used([entry, void, canceled], sessions, window) == 0
    overnight = _working([t1, stop], session=NEXT_SESSION)
    assert day_trades_used([entry, *overnight], sessions, [SESSION, NEXT_SESSION]) == 0
    assert day_trades_used([entry, *working], sessions, [NEXT_SESSION]) == 0  # outside the window


def test_day_trades_used_counts_a_bracket_whose_stop_works_or_filled_on_the_entry_session() -> None:
    plan = make_plan(quantity=1, pdt_qualified=False)
    oto = claimed(entry_intent(plan))
    sessions, window = {plan.trade_id: plan.session}, [SESSION]
    assert day_trades_used([oto], sessions, window) == 1  # in flight: its stop may work today
    working = reported(oto, "open", open_filled=1, open_avg=PRICE, working_stop=1)
    stopped = reported(oto, "filled", open_filled=1, open_avg=PRICE, stop_filled=1, stop_avg=Decimal("2.20"))
    canceled = reported(oto, "canceled")
    assert [day_trades_used([o], sessions, window) for o in (working, stopped, canceled)] == [1, 1, 0]
    plain = _entry(make_plan(quantity=2, pdt_qualified=False), "filled", 2)
    assert day_trades_used([plain], {plain.trade_id: SESSION}, window) == 0  # an entry alone closes nothing
