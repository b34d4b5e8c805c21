"""What today's trades already took from an account's budgets, so a later run sizes only what is left.

A trade commits the risk and the cost of the contracts it may hold: all planned contracts while
its entry can still fill, the filled ones once it cannot. Abandoned trades (nothing filled) and
trades still only planned commit nothing. Closed trades keep their risk for the day: the daily
maximum bounds the risk taken, and a closed trade took it.

Buying power is different: the broker's own figure already reflects orders and fills it knew
when the snapshot was taken, so only the cost of entries sent after the account's snapshot is
deducted again (counting the others twice would starve the account); the daily maximum and the
maximum per trade are ours, the broker knows nothing of them, so every trade counts there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from spx_pipeline.domain.trades.lifecycle import progress
from spx_pipeline.domain.trades.records import Trade, TradeOrder
from spx_pipeline.domain.trades.states import TradeState


def contracts_at_risk(trade: Trade, orders: Sequence[TradeOrder]) -> int:
    """Contracts the trade may hold: planned while the entry can fill, else what filled."""
    if trade.state in (TradeState.PLANNED, TradeState.ABANDONED) and not trade.filled_quantity:
        return 0
    p = progress(orders)
    if not p.entry_sent:
        return 0
    if p.entry_dead or (p.entry_working == 0 and p.filled):
        return p.filled
    return max(trade.plan.planned_quantity, p.filled)


def risk_committed(trade: Trade, orders: Sequence[TradeOrder]) -> Decimal:
    """contracts x risk per contract (entry - stop, fee and expected slippage included)."""
    return (trade.plan.risk_per_contract * contracts_at_risk(trade, orders)).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class AccountCommitment:
    """What an account's trades of the session took: cost against buying power, risk against limits."""

    cost: Decimal = Decimal(0)  # only entries sent after the snapshot (the broker knew the others)
    same_day_cost: Decimal = Decimal(0)
    risk: Decimal = Decimal(0)  # every trade of the session
    trades: int = 0


def commitments(
    trades: Iterable[Trade],
    orders: Mapping[str, Sequence[TradeOrder]],
    snapshot_at: Mapping[str, datetime],
) -> dict[str, AccountCommitment]:
    """Per account: the session's trades' risk, and the cost of entries the snapshot did not see."""
    out: dict[str, AccountCommitment] = {}
    for trade in trades:
        mine = orders.get(trade.trade_id, ())
        contracts = contracts_at_risk(trade, mine)
        if contracts == 0:
            continue
        plan = trade.plan
        risk = plan.risk_per_contract * contracts
        seen_at = snapshot_at.get(plan.account_id)
        unseen = trade.entry_sent_at is None or seen_at is None or trade.entry_sent_at >= seen_at
        cost = plan.cost_per_contract * contracts if unseen else Decimal(0)
        before = out.get(plan.account_id, AccountCommitment())
        out[plan.account_id] = AccountCommitment(
            cost=before.cost + cost,
            same_day_cost=before.same_day_cost + (cost if plan.same_day else Decimal(0)),
            risk=before.risk + risk,
            trades=before.trades + 1,
        )
    return out
