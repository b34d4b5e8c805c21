"""What today's trades commit: risk against the daily limits, cost against buying power."""

from __future__ import annotations

from decimal import Decimal

from spx_pipeline.domain.trades import (
    LocalStatus,
    TradeState,
    commitments,
    contracts_at_risk,
    entry_intent,
    risk_committed,
)
from spx_pipeline_tests.fixtures.trades import T0, claimed, later, make_plan, make_trade, reported

PRICE = Decimal("4.40")


def _entry(plan, status: str | None, filled: int = 0, working: int = 0, local=LocalStatus.CLAIMED):
    order = claimed(entry_intent(plan), status=local)
    return (
        order
        if status is None
        else reported(
            order, status, open_filled=filled, open_avg=PRICE if filled else None, working_open=working
        )
    )


def test_a_trade_risks_its_planned_contracts_while_the_entry_can_fill() -> None:
    plan = make_plan(quantity=5, risk_per_contract="225.50")
    trade = make_trade(plan, TradeState.ENTRY_WORKING)
    assert contracts_at_risk(trade, [_entry(plan, None)]) == 5  # claimed, not reported yet
    assert contracts_at_risk(trade, [_entry(plan, "open", working=5)]) == 5
    assert contracts_at_risk(trade, [_entry(plan, "partially_filled", 2, 3)]) == 5
    assert risk_committed(trade, [_entry(plan, "partially_filled", 2, 3)]) == Decimal("1127.5000")


def test_once_the_entry_cannot_fill_only_what_filled_is_at_risk() -> None:
    plan = make_plan(quantity=5)
    trade = make_trade(plan, TradeState.OPEN, filled_quantity=2)
    for status in ("canceled", "expired"):
        assert contracts_at_risk(trade, [_entry(plan, status, 2)]) == 2
    assert contracts_at_risk(trade, [_entry(plan, "filled", 5)]) == 5


def test_a_closed_trade_keeps_its_risk_and_an_abandoned_one_commits_nothing() -> None:
    plan = make_plan(quantity=3)
    closed = make_trade(plan, TradeState.CLOSED, filled_quantity=3)
    assert risk_committed(closed, [_entry(plan, "filled", 3)]) == Decimal("675.0000")
    abandoned = make_trade(plan, TradeState.ABANDONED)
    assert risk_committed(abandoned, [_entry(plan, "canceled")]) == 0
    assert risk_committed(make_trade(plan, TradeState.ENTRY_WORKING), [_entry(plan, "rejected")]) == 0
    voided = _entry(plan, None, local=LocalStatus.VOID)
    assert risk_committed(make_trade(plan, TradeState.ENTRY_WORKING), [voided]) == 0


def test_a_planned_trade_commits_nothing() -> None:
    plan = make_plan(quantity=3)
    assert contracts_at_risk(make_trade(plan, TradeState.PLANNED), []) == 0


def test_buying_power_counts_only_entries_sent_after_the_snapshot_and_risk_counts_every_trade() -> None:
    seen = make_plan(setup_id="seen", quantity=2, cost_per_contract="441.30", risk_per_contract="225.00")
    unseen = make_plan(setup_id="unseen", quantity=1, cost_per_contract="300.00", risk_per_contract="150.00")
    other = make_plan(setup_id="x", account_id="VA00000002", quantity=4, cost_per_contract="100.00",
                      risk_per_contract="50.00", expiration=later(T0, 60 * 24 * 3).date())  # fmt: skip
    gone = make_plan(setup_id="gone", quantity=9)
    snapshot = later(T0, 30)
    trades = [
        make_trade(seen, TradeState.ENTRY_WORKING, entry_sent_at=later(T0, 10)),
        make_trade(unseen, TradeState.ENTRY_WORKING, entry_sent_at=later(T0, 40)),
        make_trade(other, TradeState.ENTRY_WORKING, entry_sent_at=later(T0, 10)),
        make_trade(gone, TradeState.ABANDONED, entry_sent_at=later(T0, 40)),
    ]
    orders = {
        seen.trade_id: [_entry(seen, "open", working=2)],
        unseen.trade_id: [_entry(unseen, None)],
        other.trade_id: [_entry(other, "open", working=4)],
        gone.trade_id: [_entry(gone, "canceled")],
    }
    # VA00000002 has no snapshot: everything it sent counts against its buying power.
    out = commitments(trades, orders, {"VA00000001": snapshot})
    first = out["VA00000001"]
    assert first.risk == Decimal("600.00")  # 2 x 225 + 1 x 150: every trade of the day
    assert first.cost == Decimal("300.00")  # only the entry sent after the snapshot
    assert first.same_day_cost == Decimal("300.00") and first.trades == 2
    second = out["VA00000002"]
    assert (second.cost, second.same_day_cost, second.risk) == (Decimal("400.00"), 0, Decimal("200.00"))


def test_an_entry_sent_at_the_snapshot_instant_is_counted() -> None:
    plan = make_plan(quantity=1, cost_per_contract="300.00")
    trade = make_trade(plan, TradeState.ENTRY_WORKING, entry_sent_at=T0)
    out = commitments([trade], {plan.trade_id: [_entry(plan, None)]}, {plan.account_id: T0})
    assert out[plan.account_id].cost == Decimal("300.00")
