"""Vectorized sizing: ``size_position`` for many accounts at once, in integer 1/10,000 dollars.

Money is int64 units of the warehouse's DECIMAL(18,4), so floors are exact and agree with the
Decimal path; -1 marks unknown. ``recommend`` sizes one setup for every account per call and books
what it sized in ``CommittedArrays``, so the next setup sees only what is left of each account's
budgets. Sentences come from ``sizing_reasons`` like the scalar path's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import numpy.typing as npt

from spx_pipeline.domain.sizing import (
    DEFAULT_FEE,
    MAX_PREMIUM,
    MULTIPLIER,
    MoneyLike,
    RiskContext,
    ZeroDtePolicy,
    floor_units,
    stop_premium_value,
    to_money,
)
from spx_pipeline.domain.sizing_reasons import SizingFacts, no_budget_reason, sizing_reason

_UNITS = 10_000
_UNKNOWN = -1


def _units(amount: Decimal | None) -> int:
    if amount is None:
        return _UNKNOWN
    return int((amount * _UNITS).to_integral_value(ROUND_FLOOR))


def _exact_units(amount: Decimal, field: str) -> int:
    scaled = amount * _UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{field} {amount} has more than 4 decimal places")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class RiskArrays:
    """Many risk contexts as columns, built once so sizing and the 0DTE gate run as numpy ops.

    Money is int64 1/10,000 dollars (floored); -1 marks unknown. ``pdt`` is 1/0/-1.
    """

    max_risk: npt.NDArray[np.int64]
    buying_power: npt.NDArray[np.int64]
    dtbp: npt.NDArray[np.int64]
    pdt: npt.NDArray[np.int8]
    daily_risk: npt.NDArray[np.int64] | None = None

    @classmethod
    def from_contexts(cls, contexts: Sequence[RiskContext]) -> RiskArrays:
        def _pdt(ctx: RiskContext) -> int:
            return _UNKNOWN if ctx.pdt_qualified is None else int(ctx.pdt_qualified)

        return cls(
            max_risk=np.array([_units(c.max_risk_dollars) for c in contexts], dtype=np.int64),
            buying_power=np.array([_units(c.buying_power()) for c in contexts], dtype=np.int64),
            dtbp=np.array([_units(c.day_trade_buying_power) for c in contexts], dtype=np.int64),
            pdt=np.array([_pdt(c) for c in contexts], dtype=np.int8),
            daily_risk=np.array([_units(c.max_daily_risk_dollars) for c in contexts], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.max_risk)

    def daily(self) -> npt.NDArray[np.int64]:
        return self.daily_risk if self.daily_risk is not None else np.full(len(self), _UNKNOWN, np.int64)


def zero_dte_allowed(risk: RiskArrays, policy: ZeroDtePolicy | None = None) -> npt.NDArray[np.bool_]:
    """Vectorized ``evaluate_0dte(...).allowed``; reasons are built only where a row needs one."""
    policy = policy or ZeroDtePolicy()
    allowed = np.ones(len(risk), dtype=bool)
    if policy.legacy_pdt_check:
        allowed &= risk.pdt != 0
    floor = _units(policy.dtbp_floor)
    if floor > 0:
        allowed &= ~((risk.dtbp != _UNKNOWN) & (risk.dtbp < floor))
    return allowed


@dataclass(slots=True)
class CommittedArrays:
    """``Committed`` for many accounts, in 1/10,000 dollars; ``add`` books a sized batch."""

    cost: npt.NDArray[np.int64]
    same_day_cost: npt.NDArray[np.int64]
    risk: npt.NDArray[np.int64]

    @classmethod
    def zeros(cls, n: int) -> CommittedArrays:
        return cls(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64))

    def add(self, batch: SizingBatch, same_day: npt.NDArray[np.bool_]) -> None:
        self.cost = self.cost + batch.cost_units
        self.same_day_cost = self.same_day_cost + np.where(same_day, batch.cost_units, 0)
        self.risk = self.risk + batch.contracts * batch.risk_per_contract_units


@dataclass(frozen=True, slots=True)
class SizingBatch:
    """``size_position`` for many contexts; money in int64 1/10,000 dollars (-1: not applicable)."""

    contracts: npt.NDArray[np.int64]
    cost_units: npt.NDArray[np.int64]
    risk_per_contract_units: npt.NDArray[np.int64]
    binding_constraint: npt.NDArray[np.object_]
    cost_each_units: npt.NDArray[np.int64] | None = None
    budget_units: npt.NDArray[np.int64] | None = None
    bp_left_units: npt.NDArray[np.int64] | None = None
    dtbp_left_units: npt.NDArray[np.int64] | None = None
    daily_left_units: npt.NDArray[np.int64] | None = None

    def reason(self, i: int, risk: RiskArrays, *, premium: Decimal, stop_premium: Decimal | None) -> str:
        """Row ``i``'s sentence, the one ``size_position`` gives for the same inputs."""
        return self.reasons(risk, [premium] * len(self.contracts), stop_premium=stop_premium, rows=[i])[0]

    def reasons(
        self,
        risk: RiskArrays,
        premiums: Sequence[Decimal | None],
        *,
        stop_premium: Decimal | None,
        rows: Sequence[int] | None = None,
    ) -> list[str]:
        """The sentences of ``rows`` (default: all), converting each column to Python once."""
        assert self.cost_each_units is not None and self.budget_units is not None
        assert self.bp_left_units is not None and self.dtbp_left_units is not None
        assert self.daily_left_units is not None
        col = {
            "binding": self.binding_constraint.tolist(),
            "contracts": self.contracts.tolist(),
            "budget": self.budget_units.tolist(),
            "risk_each": self.risk_per_contract_units.tolist(),
            "cost_each": self.cost_each_units.tolist(),
            "bp": risk.buying_power.tolist(),
            "bp_left": self.bp_left_units.tolist(),
            "dtbp": risk.dtbp.tolist(),
            "dtbp_left": self.dtbp_left_units.tolist(),
            "daily": risk.daily().tolist(),
            "daily_left": self.daily_left_units.tolist(),
        }

        def money(name: str, i: int) -> Decimal | None:
            value = col[name][i]
            return None if value == _UNKNOWN else units_to_decimal(value)

        out = []
        for i in range(len(self.contracts)) if rows is None else rows:
            binding = str(col["binding"][i])
            if binding == "invalid_premium":
                out.append(f"No trade: entry premium {premiums[i]} is not a positive price.")
            elif binding == "stop_not_below_entry":
                out.append(f"No trade: the stop {stop_premium} is not below the entry premium {premiums[i]}.")
            elif binding == "no_risk_budget":
                out.append(no_budget_reason(money("budget", i)))
            else:
                dtbp_left = money("dtbp_left", i)
                facts = SizingFacts(
                    contracts=col["contracts"][i],
                    binding=binding,
                    budget=units_to_decimal(col["budget"][i]),
                    risk_each=units_to_decimal(col["risk_each"][i]),
                    cost_each=units_to_decimal(col["cost_each"][i]),
                    with_stop=stop_premium is not None,
                    bp=money("bp", i),
                    bp_left=money("bp_left", i),
                    dtbp=None if dtbp_left is None else money("dtbp", i),
                    dtbp_left=dtbp_left,
                    daily=money("daily", i),
                    daily_left=money("daily_left", i),
                )
                out.append(sizing_reason(facts))
        return out


def size_positions(
    risk: RiskArrays,
    premiums: npt.ArrayLike,
    *,
    stop_premium: MoneyLike | None = None,
    fee_per_contract: MoneyLike = DEFAULT_FEE,
    default_max_risk: MoneyLike | None = None,
    same_day: npt.ArrayLike = False,
    committed: CommittedArrays | None = None,
) -> SizingBatch:
    """Vectorized ``size_position``: one premium per context (or one for all), same floors and caps.

    Premiums are floats on the cent grid (limit prices); a premium <= 0 or a stop not below it
    yields 0 contracts with binding constraint ``invalid_premium`` / ``stop_not_below_entry``
    instead of raising, because one bad row must not sink a batch.
    """
    fee = to_money(fee_per_contract, "fee_per_contract")
    assert fee is not None
    fee_u = _exact_units(fee, "fee_per_contract")
    stop = stop_premium_value(stop_premium)
    default_budget = _units(floor_units(to_money(default_max_risk, "default_max_risk")))
    n = len(risk)
    spent = committed or CommittedArrays.zeros(n)
    prem = np.broadcast_to(np.asarray(premiums, dtype=np.float64), (n,))
    usable = np.isfinite(prem) & (prem > 0) & (prem < float(MAX_PREMIUM))
    prem_u = np.rint(np.where(usable, prem, 0.0) * _UNITS).astype(np.int64)
    cost_each = prem_u * MULTIPLIER + fee_u
    if stop is None:
        risk_each = cost_each
        bad_stop = np.zeros(n, dtype=bool)
    else:
        stop_u = _exact_units(stop, "stop_premium")
        risk_each = (prem_u - stop_u) * MULTIPLIER + fee_u
        bad_stop = prem_u <= stop_u
    budget = np.where(risk.max_risk != _UNKNOWN, risk.max_risk, default_budget)
    no_budget = (budget == _UNKNOWN) | (budget == 0)
    invalid = prem_u <= 0
    none_possible = no_budget | invalid | bad_stop
    safe_risk = np.where(risk_each > 0, risk_each, 1)
    safe_cost = np.where(cost_each > 0, cost_each, 1)
    big = np.iinfo(np.int64).max

    def left(
        total: npt.NDArray[np.int64], used: npt.NDArray[np.int64], applies: npt.ArrayLike = True
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        known = (total != _UNKNOWN) & np.asarray(applies, dtype=bool)
        return np.where(known, np.maximum(total - used, 0), _UNKNOWN), known

    daily_left, daily_known = left(risk.daily(), spent.risk)
    bp_left, bp_known = left(risk.buying_power, spent.cost)
    same = np.broadcast_to(np.asarray(same_day, dtype=bool), (n,))
    dtbp_left, dtbp_known = left(risk.dtbp, spent.same_day_cost, same)
    caps = [
        ("max_risk", np.maximum(budget, 0) // safe_risk),
        ("daily_max_risk", np.where(daily_known, daily_left // safe_risk, big)),
        ("buying_power", np.where(bp_known, bp_left // safe_cost, big)),
        ("day_trade_buying_power", np.where(dtbp_known, dtbp_left // safe_cost, big)),
    ]
    contracts = np.minimum.reduce([count for _, count in caps])
    binding = np.full(n, "max_risk", dtype=object)
    decided = caps[0][1] == contracts
    for name, count in caps[1:]:
        hit = ~decided & (count == contracts)
        binding[hit] = name
        decided |= hit
    contracts = np.where(none_possible, 0, contracts)
    binding[no_budget] = "no_risk_budget"
    binding[bad_stop] = "stop_not_below_entry"
    binding[invalid] = "invalid_premium"
    return SizingBatch(
        contracts=contracts.astype(np.int64),
        cost_units=(contracts * cost_each).astype(np.int64),
        risk_per_contract_units=risk_each.astype(np.int64),
        binding_constraint=binding,
        cost_each_units=cost_each.astype(np.int64),
        budget_units=budget.astype(np.int64),
        bp_left_units=bp_left.astype(np.int64),
        dtbp_left_units=dtbp_left.astype(np.int64),
        daily_left_units=daily_left.astype(np.int64),
    )


@functools.lru_cache(maxsize=1 << 16)
def _units_to_decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)  # exact: 12345 -> 1.2345, 25000000 -> 2500.0000


def units_to_decimal(units: int) -> Decimal:
    """Back from 1/10,000 dollars to Decimal money (exact, four decimal places)."""
    return _units_to_decimal(int(units))
