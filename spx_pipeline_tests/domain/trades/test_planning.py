"""What a placement run would do per trade (place, wait, skip, already at broker), caps and the phrase."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.domain.trades import DayTradeGuard, TradeState, entry_intent
from spx_pipeline.domain.trades.birth import planned_tickets
from spx_pipeline.domain.trades.planning import (
    Action,
    PlacementCaps,
    apply_caps,
    confirm_phrase,
    opening_total,
    plan_trade,
)
from spx_pipeline_tests.fixtures.trades import NEXT_SESSION, SESSION, claimed, make_plan, make_trade, reported

OFF = DayTradeGuard(enabled=False)


def _rows(trade, orders=(), *, session=SESSION, entries=True, guard=OFF):
    rows, _ = plan_trade(trade, list(orders), session=session, expired=False, guard=guard, entries=entries)
    return rows


def _planned(setup: str, **fields):
    return make_trade(make_plan(setup_id=setup, **fields), TradeState.PLANNED)


def _holding(quantity: int = 2):
    plan = make_plan(setup_id="held", quantity=quantity)
    entry = reported(claimed(entry_intent(plan)), "filled", open_filled=quantity, open_avg=Decimal("4.40"))
    return make_trade(plan, TradeState.OPEN), [entry]


def test_a_planned_trade_of_this_session_places_its_entry() -> None:
    trade = _planned("a", quantity=3)
    [row] = _rows(trade)
    assert (row.action, row.leg, row.side, row.quantity, row.order_type) == (
        Action.PLACE, "entry", "buy_to_open", 3, "limit",
    )  # fmt: skip
    assert row.reason == "entry: 3 @ 4.40"
    assert row.opening and row.opening_notional == Decimal("1320.00")
    assert row.tag == f"{trade.plan.tag}-entry"


def test_a_one_lot_with_a_stop_is_placed_as_an_oto() -> None:
    [row] = _rows(_planned("a", quantity=1))
    assert (row.order_type, row.stop_price, row.opening_notional) == (
        "oto",
        Decimal("2.20"),
        Decimal("440.00"),
    )
    assert "(OTO)" in row.reason


def test_planned_trades_of_another_session_or_blocked_are_skipped_with_the_reason() -> None:
    [other] = _rows(_planned("a"), session=NEXT_SESSION)
    assert other.action == Action.SKIP
    assert other.reason == f"planned for the {SESSION} session, not {NEXT_SESSION}"
    blocked = make_trade(make_plan(setup_id="b"), TradeState.PLANNED, blocked_reason="guardrail: slippage")
    [row] = _rows(blocked)
    assert (row.action, row.reason) == (Action.SKIP, "blocked: guardrail: slippage")
    assert _rows(_planned("a"), entries=False) == []  # an exits-only run says nothing about entries


def test_terminal_trades_plan_nothing() -> None:
    trade, orders = _holding()
    for state in (TradeState.CLOSED, TradeState.ABANDONED):
        assert _rows(make_trade(trade.plan, state), orders) == []


def test_an_in_flight_claim_shows_as_wait_and_a_sent_order_as_already_at_the_broker() -> None:
    plan = make_plan(quantity=3)
    entry = claimed(entry_intent(plan), run_id="run-7")
    rows = _rows(make_trade(plan), [entry])
    assert [(r.leg, r.action) for r in rows] == [("entry", Action.WAIT), ("exits", Action.WAIT)]
    assert "claimed by run run-7 (claimed)" in rows[0].reason
    assert rows[1].reason == "exits go once the entry fills"
    sent = reported(entry, "open", working_open=3)
    rows = _rows(make_trade(plan), [sent])
    assert (
        rows[0].action == Action.ALREADY_AT_BROKER
        and f"tag {entry.tag} is at the broker (open)" in rows[0].reason
    )
    assert rows[0].opening_notional == 0  # what is at the broker is not opened again


def test_an_order_claimed_from_an_intent_shows_the_type_the_intent_showed() -> None:
    """A row of an order already sent and the row that placed it name its type by one rule."""
    intents = [i for q in (1, 3) for i in planned_tickets(make_plan(quantity=q)).legs().values()]
    shown = [(intent.display_type, claimed(intent).display_type) for intent in intents]
    assert [a for a, _ in shown] == ["oto", "limit", "oco", "stop"]
    assert all(a == b for a, b in shown)


def test_a_held_position_lists_its_exits_to_place() -> None:
    trade, orders = _holding(2)
    rows = _rows(trade, orders)
    assert [(r.leg, r.action, r.quantity, r.order_type) for r in rows] == [
        ("entry", Action.ALREADY_AT_BROKER, 2, "limit"),
        ("t1", Action.PLACE, 1, "oco"),
        ("runner_stop", Action.PLACE, 1, "stop"),
    ]
    assert not any(r.opening for r in rows if r.action == Action.PLACE)


def test_exits_refused_by_the_day_trade_guard_are_skipped_with_the_reason() -> None:
    plan = make_plan(setup_id="held", quantity=2, pdt_qualified=False)
    entry = reported(claimed(entry_intent(plan)), "filled", open_filled=2, open_avg=Decimal("4.40"))
    rows, added = plan_trade(
        make_trade(plan, TradeState.OPEN),
        [entry],
        session=SESSION,
        expired=False,
        guard=DayTradeGuard(used=3),
    )
    assert added == 0
    assert [(r.leg, r.action, r.quantity) for r in rows][-1] == ("exits", Action.SKIP, 2)
    assert "not PDT-qualified" in rows[-1].reason


def _run(n_entries: int):
    rows = []
    for i in range(n_entries):
        rows += _rows(_planned(f"s{i}"))
    trade, orders = _holding(2)
    rows += _rows(trade, orders)
    return rows


def test_caps_count_opening_orders_only() -> None:
    rows = _run(10)
    capped = apply_caps(rows, PlacementCaps(max_orders=10, max_opening_notional=Decimal(10**9)))
    assert capped == rows  # 10 entries + 2 exits: the exits do not count against max_orders=10
    assert confirm_phrase(capped) == "PLACE 12"


def test_past_a_cap_every_entry_is_skipped_and_the_exits_still_go() -> None:
    rows = _run(11)
    capped = apply_caps(rows, PlacementCaps(max_orders=10, max_opening_notional=Decimal(10**9)))
    entries = [r for r in capped if r.leg == "entry" and r.tag and r.tag.endswith("-entry") and r.opening]
    assert len(entries) == 11 and {r.action for r in entries} == {Action.SKIP}
    assert entries[0].reason == "11 opening orders exceed max_orders=10: no entry is sent (exits still are)"
    exits = [r for r in capped if r.action == Action.PLACE]
    assert [r.leg for r in exits] == ["t1", "runner_stop"]
    assert confirm_phrase(capped) == "PLACE 2" and opening_total(capped) == 0


def test_the_notional_cap_skips_entries_and_names_the_amounts() -> None:
    rows = _run(3)  # 3 x 5 x 4.40 x 100 = 6,600 of opening notional
    capped = apply_caps(rows, PlacementCaps(max_orders=10, max_opening_notional=Decimal("5000")))
    skipped = [r for r in capped if r.action == Action.SKIP]
    assert len(skipped) == 3
    assert skipped[0].reason.startswith("opening notional $6,600.00 exceeds max_opening_notional=$5,000.00")
    assert confirm_phrase(capped) == "PLACE 2"


def test_nothing_to_place_is_place_zero() -> None:
    assert confirm_phrase([]) == "PLACE 0"
    assert confirm_phrase(_rows(_planned("a"), session=NEXT_SESSION)) == "PLACE 0"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"max_orders": 0}, "max_orders must be a whole number >= 1"),
        ({"max_orders": True}, "max_orders must be a whole number >= 1"),
        ({"max_opening_notional": Decimal("-1")}, "max_opening_notional must be a positive"),
        ({"max_opening_notional": Decimal("NaN")}, "max_opening_notional must be a positive"),
    ],
)
def test_bad_caps_are_refused_naming_the_setting(fields: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        PlacementCaps(**fields)


def test_a_non_pdt_one_lot_bracket_counts_as_a_day_trade_and_past_the_allowance_waits_for_its_stop() -> None:
    """An OTO's stop can fill on the entry's session: for an account that is not PDT-qualified that
    is a day trade, so it counts against the allowance, and past it the entry goes without it."""
    plan = make_plan(setup_id="one", quantity=1, pdt_qualified=False)
    trade = make_trade(plan, TradeState.PLANNED)
    rows, added = plan_trade(trade, [], session=SESSION, expired=False, guard=DayTradeGuard(used=2))
    assert [(r.order_type, r.action) for r in rows] == [("oto", Action.PLACE)] and added == 1
    rows, added = plan_trade(trade, [], session=SESSION, expired=False, guard=DayTradeGuard(used=3))
    [row] = rows
    assert (row.order_type, row.action, row.stop_price, added) == ("limit", Action.PLACE, None, 0)
    assert "not PDT-qualified" in row.reason and "next session" in row.reason
    pdt = make_trade(make_plan(setup_id="one", quantity=1, pdt_qualified=True), TradeState.PLANNED)
    rows, added = plan_trade(pdt, [], session=SESSION, expired=False, guard=DayTradeGuard(used=3))
    assert rows[0].order_type == "oto" and added == 0
