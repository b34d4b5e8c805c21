"""exits_needed() over random fills, exit fills, broker reads and session closes: cover, never over-cover.

A small broker model moves the orders: the entry fills in parts or ends, exits fill whole (an OCO by
its target or its stop), day orders expire at the close. After every step the exits the rules ask
for are checked against the position, then claimed; a second look must then ask for nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.trades import Leg, TradeOrder, entry_intent, exits_needed, progress
from spx_pipeline.domain.trades.lifecycle import covered
from spx_pipeline.domain.tradier.order_requests import read_order_form
from spx_pipeline_tests.fixtures.trades import SESSION, claimed, make_plan, reported

PRICE = Decimal("4.40")
EXPIRY = date(2026, 12, 18)  # far beyond every session the model reaches

steps = st.lists(
    st.one_of(
        st.tuples(st.just("fill_entry"), st.integers(1, 8)),
        st.tuples(st.just("end_entry"), st.just(0)),
        st.tuples(st.just("read"), st.just(0)),
        st.tuples(st.just("fill_exit_target"), st.integers(0, 7)),
        st.tuples(st.just("fill_exit_stop"), st.integers(0, 7)),
        st.tuples(st.just("close"), st.just(0)),
    ),
    max_size=14,
)


def _working(order: TradeOrder) -> bool:
    f = order.expected()
    return bool(f.working_open or f.working_target or f.working_stop)


def _report_open(order: TradeOrder) -> TradeOrder:
    """The broker lists an in-flight claim: all of it working (an OTO's stop shows pending too)."""
    if order.broker is not None:
        return order
    facts = order.expected()
    counts = {"working_open": facts.working_open, "working_target": facts.working_target,
              "working_stop": facts.working_stop}  # fmt: skip
    if order.order_class == "oto":
        counts["working_stop"] = order.quantity
    return reported(order, "open", **counts)


def _fill_entry(order: TradeOrder, quantity: int) -> TradeOrder:
    f = order.broker
    assert f is not None
    take = min(quantity, f.working_open)
    filled = f.open_filled + take
    left = f.working_open - take
    return reported(
        order, "filled" if left == 0 else "partially_filled",
        open_filled=filled, open_avg=PRICE, working_open=left, working_stop=f.working_stop,
    )  # fmt: skip


def _fill_exit(order: TradeOrder, *, by_target: bool) -> TradeOrder:
    f = order.broker
    assert f is not None
    base = {"open_filled": f.open_filled, "open_avg": f.open_avg}
    if f.working_target and (by_target or not f.working_stop):
        return reported(order, "filled", **base, target_filled=f.working_target, target_avg=Decimal("6.60"))
    return reported(order, "filled", **base, stop_filled=f.working_stop, stop_avg=Decimal("2.20"))


def _end(order: TradeOrder, status: str) -> TradeOrder:
    f = order.expected()
    return reported(
        order, status,
        open_filled=f.open_filled, open_avg=f.open_avg, target_filled=f.target_filled,
        target_avg=f.target_avg, stop_filled=f.stop_filled, stop_avg=f.stop_avg,
    )  # fmt: skip


def _apply(step: tuple[str, int], orders: list[TradeOrder], session: date) -> tuple[list[TradeOrder], date]:
    kind, n = step
    entry, exits = orders[0], orders[1:]
    if kind == "read":
        return [_report_open(o) for o in orders], session
    if kind == "fill_entry" and entry.broker is not None and entry.broker.working_open:
        return [_fill_entry(entry, n), *exits], session
    if kind == "end_entry" and entry.broker is not None and entry.broker.working_open:
        ended = _end(entry, "canceled")
        if entry.order_class == "oto" and not entry.broker.open_filled:
            return [ended, *exits], session  # the OTO's waiting stop goes with it
        keep = entry.broker.working_stop if entry.order_class == "oto" else 0
        return [dataclasses.replace(ended, broker=dataclasses.replace(ended.broker, working_stop=keep)),
                *exits], session  # fmt: skip
    if kind.startswith("fill_exit"):
        live = [i for i, o in enumerate(orders) if o.broker is not None and i > 0 and _working(o)]
        oto_stop = entry.order_class == "oto" and entry.broker is not None and entry.broker.open_filled
        if oto_stop and entry.broker is not None and entry.broker.working_stop and kind.endswith("stop"):
            f = entry.broker
            filled = reported(entry, "filled", open_filled=f.open_filled, open_avg=f.open_avg,
                              stop_filled=f.working_stop, stop_avg=Decimal("2.20"))  # fmt: skip
            return [filled, *exits], session
        if live:
            index = live[n % len(live)]
            out = list(orders)
            out[index] = _fill_exit(orders[index], by_target=kind.endswith("target"))
            return out, session
    if kind == "close":  # the session ends: every day order still working expires
        out = [_end(_report_open(o), "expired") if _working(o) else o for o in orders]
        return out, session + timedelta(days=1)
    return orders, session


def _stop_cover(intents) -> int:
    return sum(i.quantity for i in intents if i.stop_price is not None)


@settings(max_examples=150, deadline=None)
@given(
    quantity=st.integers(1, 8),
    stop_plan=st.booleans(),
    fraction=st.sampled_from(["0.25", "0.5", "0.75"]),
    script=steps,
)
def test_exits_cover_exactly_what_is_held_and_never_more(
    quantity: int, stop_plan: bool, fraction: str, script: list[tuple[str, int]]
) -> None:
    plan = make_plan(
        quantity=quantity, stop="2.20" if stop_plan else None, fraction=fraction,
        symbol="SPXW261218C06000000", expiration=EXPIRY,
    )  # fmt: skip
    orders = [_report_open(claimed(entry_intent(plan)))]
    session = SESSION
    for step in script:
        orders, session = _apply(step, orders, session)
        p = progress(orders)
        assert 0 <= p.position <= p.filled <= quantity
        decision = exits_needed(plan, orders, session=session, expired=False)
        intents = decision.intents
        tags = [i.tag for i in intents]
        assert len(set(tags)) == len(tags) and set(tags).isdisjoint(o.tag for o in orders)
        for intent in intents:
            assert read_order_form(intent.form).tag == intent.tag
            assert intent.side == "sell_to_close" and intent.leg != Leg.ENTRY
        if stop_plan:
            # Stop coverage after the new orders: exactly the position, or unchanged when already there.
            assert p.working_stop + _stop_cover(intents) == max(p.position, p.working_stop)
        else:
            free = p.position - p.working_stop - p.working_target
            assert sum(i.quantity for i in intents) <= max(free, 0)
        orders = [*orders, *(claimed(i, session=session) for i in intents)]
        again = exits_needed(plan, orders, session=session, expired=False)
        assert again.intents == [], "a second look asked for more exits than the first"
        if stop_plan:
            assert covered(plan, progress(orders))
