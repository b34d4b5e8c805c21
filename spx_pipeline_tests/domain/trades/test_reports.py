"""The broker's legs as a trade's facts: fills and working quantities by what each leg does."""

from __future__ import annotations

from decimal import Decimal

from spx_pipeline.domain.execution import BrokerOrderLeg
from spx_pipeline.domain.trades.reports import (
    by_tag,
    facts_from_legs,
    first_order_id,
    normalized_symbol,
    order_status,
    positions_by_symbol,
)
from spx_pipeline_tests.fixtures.trades import SYMBOL, T0
from spx_pipeline_tests.fixtures.trades import broker_leg as _leg


def test_an_oto_with_its_entry_filled_shows_the_fill_and_its_working_stop() -> None:
    legs = [
        _leg("buy_to_open", "limit", "filled", 1, 1, price="4.40"),
        _leg("sell_to_close", "stop", "open", 1),
    ]
    facts = facts_from_legs(legs, status=order_status(legs), reported_at=T0)
    assert (facts.status, facts.open_filled, facts.open_avg, facts.working_stop) == (
        "open",
        1,
        Decimal("4.40"),
        1,
    )
    assert (facts.working_open, facts.target_filled, facts.stop_filled) == (0, 0, 0)


def test_an_oco_that_filled_by_its_stop_and_one_by_its_target() -> None:
    stopped = [
        _leg("sell_to_close", "limit", "canceled", 2),
        _leg("sell_to_close", "stop", "filled", 2, 2, price="2.15"),
    ]
    facts = facts_from_legs(stopped, status=order_status(stopped), reported_at=T0)
    assert (facts.status, facts.stop_filled, facts.stop_avg, facts.working_stop) == (
        "filled",
        2,
        Decimal("2.15"),
        0,
    )
    working = [_leg("sell_to_close", "limit", "open", 2), _leg("sell_to_close", "stop_limit", "open", 2)]
    facts = facts_from_legs(working, status=order_status(working), reported_at=T0)
    assert (facts.working_target, facts.working_stop) == (2, 2)


def test_partial_fills_average_by_quantity() -> None:
    legs = [_leg("buy_to_open", "limit", "partially_filled", 5, 3, price="4.35")]
    facts = facts_from_legs(legs, status=order_status(legs), reported_at=T0)
    assert (facts.open_filled, facts.open_avg, facts.working_open) == (3, Decimal("4.3500"), 2)


def test_a_single_order_keeps_the_brokers_own_status_after_a_partial_fill() -> None:
    legs = [_leg("buy_to_open", "limit", "canceled", 5, 2, price="4.40")]
    assert order_status(legs) == "canceled"
    assert order_status([_leg("buy_to_open", "limit", "expired", 5, 2, price="4.40")]) == "expired"
    assert order_status([_leg("buy_to_open", "limit", "rejected", 5)]) == "rejected"


def test_a_rejections_reason_is_kept() -> None:
    leg = _leg("sell_to_close", "stop", "rejected", 1)
    leg = BrokerOrderLeg(
        **{**{f: getattr(leg, f) for f in leg.__dataclass_fields__}, "reason": "no position"}
    )
    assert facts_from_legs([leg], status="rejected", reported_at=T0).reason == "no position"


def test_symbols_and_positions_compare_in_one_spelling() -> None:
    assert normalized_symbol("SPXW  261124C06000000") == SYMBOL
    assert normalized_symbol(" not-an-option ") == "not-an-option"
    positions = positions_by_symbol([("SPXW  261124C06000000", Decimal("2")), (SYMBOL, 1), ("SPY", 3)])
    assert positions == {SYMBOL: 3, "SPY": 3}


def test_legs_are_grouped_by_tag_and_untagged_ones_left_out() -> None:
    legs = [_leg("buy_to_open", "limit", "open", 1, order_id=7, tag="a"),
            _leg("sell_to_close", "stop", "pending", 1, order_id=7, tag="a", index=1),
            _leg("buy_to_open", "limit", "open", 1, order_id=3, tag=None)]  # fmt: skip
    grouped = by_tag(legs)
    assert list(grouped) == ["a"] and len(grouped["a"]) == 2
    assert first_order_id(grouped["a"]) == 7 and first_order_id([]) is None
