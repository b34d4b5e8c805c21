"""Vectorized sizing: ``size_position`` for many accounts at once, in integer 1/10,000 dollars.

Money is int64 units of the warehouse's DECIMAL(18,4), so floors are exact and agree with the
Decimal path; -1 marks unknown. ``recommend`` sizes one setup for every account per call and books
what it sized in ``CommittedArrays``, so the next setup sees only what is left of each account's
budgets. The batch keeps every figure it sized with, and its sentences are built from exactly
those figures (``sizing_reasons``, like the scalar path's), never recomputed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from spx_pipeline.domain.money import (
    UNITS,
    UNKNOWN,
    MoneyLike,
    exact_units,
    floor_units,
    to_money,
    to_units,
    units_to_decimal,
)
from spx_pipeline.domain.risk_context import RiskArrays
from spx_pipeline.domain.sizing import DEFAULT_FEE, MAX_PREMIUM, MULTIPLIER, Committed, stop_premium_value
from spx_pipeline.domain.sizing_reasons import SizingFacts, dollars_of_units, no_budget_reason, sentence


@dataclass(slots=True)
class CommittedArrays:
    """``Committed`` for many accounts, in 1/10,000 dollars; ``add`` books a sized batch."""

    cost: npt.NDArray[np.int64]
    same_day_cost: npt.NDArray[np.int64]
    risk: npt.NDArray[np.int64]

    @classmethod
    def zeros(cls, n: int) -> CommittedArrays:
        return cls(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64))

    @classmethod
    def from_committed(cls, rows: Sequence[Committed]) -> CommittedArrays:
        """What earlier trades already took, per account (rounded up: never under-counted)."""

        def units(values: list[Decimal]) -> npt.NDArray[np.int64]:
            return np.array([-to_units(-v) for v in values], dtype=np.int64)

        return cls(
            units([r.cost for r in rows]),
            units([r.same_day_cost for r in rows]),
            units([r.risk for r in rows]),
        )

    @classmethod
    def for_accounts(cls, account_ids: Sequence[str], committed: Mapping[str, Committed]) -> CommittedArrays:
        """``from_committed`` in ``account_ids`` order, converting only the accounts that have some."""
        out = cls.zeros(len(account_ids))
        if committed:
            rows = [(i, committed[a]) for i, a in enumerate(account_ids) if a in committed]
            found = cls.from_committed([c for _, c in rows])
            at = [i for i, _ in rows]
            out.cost[at], out.same_day_cost[at], out.risk[at] = found.cost, found.same_day_cost, found.risk
        return out

    def add(self, batch: SizingBatch, same_day: npt.NDArray[np.bool_]) -> None:
        self.cost = self.cost + batch.cost_units
        self.same_day_cost = self.same_day_cost + np.where(same_day, batch.cost_units, 0)
        self.risk = self.risk + batch.contracts * batch.risk_per_contract_units


@dataclass(frozen=True, slots=True)
class SizingBatch:
    """``size_position`` for many contexts; money in int64 1/10,000 dollars (-1: unknown or n/a).

    Besides the result columns it keeps the budgets each row was sized against (totals and what
    was left of them) and the stop, so ``facts``/``reasons`` quote the figures that decided.
    """

    contracts: npt.NDArray[np.int64]
    cost_units: npt.NDArray[np.int64]
    risk_per_contract_units: npt.NDArray[np.int64]
    binding_constraint: npt.NDArray[np.object_]
    cost_each_units: npt.NDArray[np.int64]
    """One contract's cost: premium x multiplier + fee + expected slippage."""
    budget_units: npt.NDArray[np.int64]
    """The per-trade risk budget: the account's max risk, else the default (-1: none)."""
    bp_units: npt.NDArray[np.int64]
    bp_left_units: npt.NDArray[np.int64]
    """Buying power, and what earlier trades and setups left of it (the cap sizes from what is left)."""
    dtbp_units: npt.NDArray[np.int64]
    dtbp_left_units: npt.NDArray[np.int64]
    """Day-trade buying power and what is left of it; left is -1 unless the expiry is same-day."""
    daily_units: npt.NDArray[np.int64]
    daily_left_units: npt.NDArray[np.int64]
    """The daily max risk and what earlier trades and setups left of it."""
    stop_premium: Decimal | None

    def reason(self, i: int, *, premium: Decimal) -> str:
        """Row ``i``'s sentence, the one ``size_position`` gives for the same inputs."""
        return self.reasons([premium] * len(self.contracts), rows=[i])[0]

    def facts(self, rows: Sequence[int] | None = None) -> list[SizingFacts | None]:
        """The figures each row's sentence quotes (None for rows that could not be sized at all)."""
        contracts = self.contracts.tolist()
        with_stop = self.stop_premium is not None
        out: list[SizingFacts | None] = []
        for i, binding, figures in self._figures(rows):
            if figures is None:
                out.append(None)
                continue
            budget, risk_each, cost_each, *limits = (
                None if f is None else units_to_decimal(f) for f in figures
            )
            assert budget is not None and risk_each is not None and cost_each is not None  # known once sized
            out.append(SizingFacts(contracts[i], binding, budget, risk_each, cost_each, with_stop, *limits))
        return out

    def reasons(self, premiums: Sequence[Decimal | None], *, rows: Sequence[int] | None = None) -> list[str]:
        """The sentences of ``rows`` (default: all), from the integer columns (no Decimal built)."""
        contracts = self.contracts.tolist()
        with_stop = self.stop_premium is not None
        budget = self.budget_units.tolist()
        out = []
        for i, kind, figures in self._figures(rows):
            if figures is not None:
                out.append(sentence(contracts[i], kind, with_stop, dollars_of_units, *figures))
            elif kind == "invalid_premium":
                out.append(f"No trade: entry premium {premiums[i]} is not a positive price.")
            elif kind == "stop_not_below_entry":
                out.append(
                    f"No trade: the stop {self.stop_premium} is not below the entry premium {premiums[i]}."
                )
            else:
                out.append(no_budget_reason(None if budget[i] == UNKNOWN else units_to_decimal(budget[i])))
        return out

    def _figures(self, rows: Sequence[int] | None) -> Iterator[tuple[int, str, Figures | None]]:
        """Each row's index, binding constraint and the money its sentence quotes, in units and in
        ``sentence`` order (budget, risk and cost each, then bp, dtbp and daily with what is left of
        each: None when unknown, dtbp only where what is left of it is), or None for a row nothing
        could be sized for. ``facts`` and ``reasons`` both read the columns through this."""
        binding = self.binding_constraint.tolist()
        sized = (self.budget_units, self.risk_per_contract_units, self.cost_each_units)
        limits = (self.bp_units, self.bp_left_units, self.dtbp_units, self.dtbp_left_units, self.daily_units)
        columns = [c.tolist() for c in sized] + [_known(c) for c in (*limits, self.daily_left_units)]
        for i in range(len(binding)) if rows is None else rows:
            kind = str(binding[i])
            if kind in _UNSIZED:
                yield i, kind, None
                continue
            figures = [column[i] for column in columns]
            if figures[6] is None:  # no day-trade limit applies: its total is not quoted either
                figures[5] = None
            yield i, kind, tuple(figures)


Figures = tuple[int | None, ...]


def _known(units: npt.NDArray[np.int64]) -> list[int | None]:
    return [None if value == UNKNOWN else value for value in units.tolist()]


_UNSIZED = frozenset({"invalid_premium", "stop_not_below_entry", "no_risk_budget"})


def size_positions(
    risk: RiskArrays,
    premiums: npt.ArrayLike,
    *,
    stop_premium: MoneyLike | None = None,
    fee_per_contract: MoneyLike = DEFAULT_FEE,
    default_max_risk: MoneyLike | None = None,
    same_day: npt.ArrayLike = False,
    committed: CommittedArrays | None = None,
    slippage_units: npt.ArrayLike = 0,
) -> SizingBatch:
    """Vectorized ``size_position``: one premium per context (or one for all), same floors and caps.

    Premiums are floats on the cent grid (limit prices); a premium <= 0 or a stop not below it
    yields 0 contracts with binding constraint ``invalid_premium`` / ``stop_not_below_entry``
    instead of raising, because one bad row must not sink a batch. ``slippage_units`` (per row,
    1/10,000 dollars, never negative) is the expected adverse slippage per contract that realized
    fills taught: it is added to each contract's cost and risk, so the budgets hold after slippage.
    """
    fee = to_money(fee_per_contract, "fee_per_contract")
    assert fee is not None
    fee_u = exact_units(fee, "fee_per_contract")
    stop = stop_premium_value(stop_premium)
    default_budget = to_units(floor_units(to_money(default_max_risk, "default_max_risk")))
    n = len(risk)
    spent = committed or CommittedArrays.zeros(n)
    prem = np.broadcast_to(np.asarray(premiums, dtype=np.float64), (n,))
    usable = np.isfinite(prem) & (prem > 0) & (prem < float(MAX_PREMIUM))
    prem_u = np.rint(np.where(usable, prem, 0.0) * UNITS).astype(np.int64)
    slip_u = np.broadcast_to(np.asarray(slippage_units, dtype=np.int64), (n,))
    if (slip_u < 0).any():
        raise ValueError("slippage_units must not be negative: favourable slippage never buys extra size")
    cost_each = prem_u * MULTIPLIER + fee_u + slip_u
    if stop is None:
        risk_each = cost_each
        bad_stop = np.zeros(n, dtype=bool)
    else:
        stop_u = exact_units(stop, "stop_premium")
        risk_each = (prem_u - stop_u) * MULTIPLIER + fee_u + slip_u
        bad_stop = prem_u <= stop_u
    budget = np.where(risk.max_risk != UNKNOWN, risk.max_risk, default_budget)
    no_budget = (budget == UNKNOWN) | (budget == 0)
    invalid = prem_u <= 0
    none_possible = no_budget | invalid | bad_stop
    safe_risk = np.where(risk_each > 0, risk_each, 1)
    safe_cost = np.where(cost_each > 0, cost_each, 1)
    big = np.iinfo(np.int64).max

    def left(
        total: npt.NDArray[np.int64], used: npt.NDArray[np.int64], applies: npt.ArrayLike = True
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        known = (total != UNKNOWN) & np.asarray(applies, dtype=bool)
        return np.where(known, np.maximum(total - used, 0), UNKNOWN), known

    daily = risk.daily()
    daily_left, daily_known = left(daily, spent.risk)
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
        bp_units=risk.buying_power,
        bp_left_units=bp_left.astype(np.int64),
        dtbp_units=risk.dtbp,
        dtbp_left_units=dtbp_left.astype(np.int64),
        daily_units=daily,
        daily_left_units=daily_left.astype(np.int64),
        stop_premium=stop,
    )
