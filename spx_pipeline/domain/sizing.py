"""How many contracts of a long SPX option fit an account's budgets: the scalar path, in Decimal.

The fee is charged once per contract and counted both in the cost and in the risk of a contract
(``cost = premium*100 + fee``; ``risk`` is the same, or ``(entry - stop)*100 + fee`` with a stop),
so the worked examples give 1 contract at 4.20, 4 at 1.15 and 8 (not 9) with a 0.60 stop.
Counts are floored, never rounded up. One budget per account: ``Committed`` says what earlier
setups of the account already took, and each cap (max risk, daily max risk, buying power,
day-trade buying power for a same-day expiry) is checked against what is left; the first cap that
gives the smallest count is the one named. ``sizing_batch`` does the same for many accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from spx_pipeline.domain.money import MoneyLike, floor_units, four_places, to_money
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.sizing_reasons import Limit, SizingFacts, no_budget_reason, sizing_reason
from spx_pipeline.domain.ticks import MAX_PRICE as MAX_PREMIUM

MULTIPLIER = 100
DEFAULT_FEE = Decimal("0.65")
STOP_FIELD = "stop_premium"


@dataclass(frozen=True, slots=True)
class SizingResult:
    """How many contracts ``size_position`` sized, what they cost and risk, and why that many."""

    contracts: int
    """0 means do not trade."""
    cost: Decimal
    """Dollars the position takes from buying power: (premium x multiplier + fee) x contracts."""
    risk_per_contract: Decimal
    """Dollars one contract can lose: down to the stop plus the fee, or its whole cost without one."""
    binding_constraint: str
    """The cap that gave ``contracts``: max_risk, daily_max_risk, buying_power,
    day_trade_buying_power, or no_risk_budget."""
    reason: str
    """The sentence a trader reads, built from the figures that decided."""

    @property
    def risk(self) -> Decimal:
        """Total risk of the position (what it takes from a daily max risk)."""
        return self.risk_per_contract * self.contracts


@dataclass(frozen=True, slots=True)
class Committed:
    """What earlier setups of the same account already took from its budgets (the scalar path).

    ``cost`` counts against buying power, ``same_day_cost`` against day-trade buying power and
    ``risk`` against the daily max risk.
    """

    cost: Decimal = Decimal(0)
    same_day_cost: Decimal = Decimal(0)
    risk: Decimal = Decimal(0)

    def plus(self, result: SizingResult, *, same_day: bool) -> Committed:
        return Committed(
            cost=self.cost + result.cost,
            same_day_cost=self.same_day_cost + (result.cost if same_day else Decimal(0)),
            risk=self.risk + result.risk,
        )


def stop_premium_value(value: MoneyLike | None, field: str = STOP_FIELD) -> Decimal | None:
    """A protective stop premium: None, or a non-negative price below 100,000 with at most 4 decimals.

    The same check guards ``Setup``, the setup store and both sizing paths, so a stop the scalar path
    accepts can never make the vectorized path raise for a whole batch.
    """
    stop = to_money(value, field, maximum=None)
    if stop is None:
        return None
    if stop >= MAX_PREMIUM:
        raise ValueError(f"{field} must be below {MAX_PREMIUM}, got {value!r}")
    return four_places(stop, field, value)


def _premium(value: MoneyLike, field: str) -> Decimal:
    amount = to_money(value, field, maximum=None)
    if amount is None or amount <= 0:
        raise ValueError(f"{field} must be a positive price, got {value!r}")
    if amount >= MAX_PREMIUM:
        raise ValueError(f"{field} must be below {MAX_PREMIUM}, got {value!r}")
    return amount


def _floor_div(amount: Decimal, each: Decimal) -> int:
    return int((amount / each).to_integral_value(ROUND_FLOOR)) if each > 0 else 0


def _bind(caps: Sequence[tuple[str, int | None]]) -> tuple[int, str]:
    """The smallest count and the first cap (in the documented order) that gives it."""
    known = [(count, name) for name, count in caps if count is not None]
    contracts = min(count for count, _ in known)
    return contracts, next(name for count, name in known if count == contracts)


def _limit(total: Decimal | None, used: Decimal) -> Limit[Decimal] | None:
    """A budget and what ``used`` leaves of it (never below 0); None when the budget is not known."""
    return None if total is None else Limit(total, max(total - used, Decimal(0)))


def size_position(
    ctx: RiskContext,
    premium: MoneyLike,
    *,
    stop_premium: MoneyLike | None = None,
    fee_per_contract: MoneyLike = DEFAULT_FEE,
    default_max_risk: MoneyLike | None = None,
    same_day: bool = False,
    committed: Committed | None = None,
) -> SizingResult:
    """How many contracts fit the risk budgets and then the buying powers; 0 means do not trade.

    ``same_day`` marks an expiry on the session itself (capped by day-trade buying power too);
    ``committed`` is what earlier setups of the same account already took.
    """
    entry = _premium(premium, "premium")
    stop = stop_premium_value(stop_premium)
    fee = to_money(fee_per_contract, "fee_per_contract")
    assert fee is not None  # to_money only returns None for None, which the signature forbids
    if stop is not None and stop >= entry:
        raise ValueError(f"stop_premium {stop} must be below the entry premium {entry}")
    spent = committed or Committed()
    budget = (
        ctx.max_risk_dollars
        if ctx.max_risk_dollars is not None
        else floor_units(to_money(default_max_risk, "default_max_risk"))
    )
    cost_each = entry * MULTIPLIER + fee
    risk_each = (entry - stop) * MULTIPLIER + fee if stop is not None else cost_each
    if budget is None or budget == 0:
        return SizingResult(0, Decimal(0), risk_each, "no_risk_budget", no_budget_reason(budget))
    daily = _limit(ctx.max_daily_risk_dollars, spent.risk)
    bp = _limit(ctx.buying_power(), spent.cost)
    dtbp = _limit(ctx.day_trade_buying_power if same_day else None, spent.same_day_cost)
    contracts, binding = _bind(
        [
            ("max_risk", _floor_div(budget, risk_each)),
            ("daily_max_risk", None if daily is None else _floor_div(daily.left, risk_each)),
            ("buying_power", None if bp is None else _floor_div(bp.left, cost_each)),
            ("day_trade_buying_power", None if dtbp is None else _floor_div(dtbp.left, cost_each)),
        ]
    )
    facts = SizingFacts(contracts, binding, budget, risk_each, cost_each, stop is not None, bp, dtbp, daily)
    return SizingResult(contracts, cost_each * contracts, risk_each, binding, sizing_reason(facts))
