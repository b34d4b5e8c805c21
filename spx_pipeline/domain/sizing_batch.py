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
from spx_pipeline.domain.sizing_reasons import (
    Limit,
    SizingFacts,
    dollars_of_units,
    no_budget_reason,
    sentence,
)


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
class LimitColumns:
    """One budget beside the max risk, for every row: its total and what earlier trades and setups
    left of it (the cap sizes from what is left). -1: unknown, and for ``left`` also where the limit
    does not apply (day-trade buying power outside a same-day expiry)."""

    total: npt.NDArray[np.int64]
    left: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls, total: npt.NDArray[np.int64], used: npt.NDArray[np.int64], applies: npt.ArrayLike = True
    ) -> LimitColumns:
        known = (total != UNKNOWN) & np.asarray(applies, dtype=bool)
        return cls(total, np.where(known, np.maximum(total - used, 0), UNKNOWN).astype(np.int64))

    def cap(self, each: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Whole contracts at ``each`` that what is left allows (no cap: the int64 maximum)."""
        return np.where(self.left != UNKNOWN, self.left // each, np.iinfo(np.int64).max)

    def quoted(self) -> list[tuple[int, int] | None]:
        """Each row's (total, left) as its sentence quotes it; None where unknown or not applying.
        Bare pairs rather than ``Limit``s: a batch quotes them for every row."""
        return [
            None if left == UNKNOWN else (total, left)
            for total, left in zip(self.total.tolist(), self.left.tolist(), strict=True)
        ]


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
    bp: LimitColumns
    dtbp: LimitColumns
    """Day-trade buying power: what is left is -1 unless the expiry is same-day."""
    daily: LimitColumns
    """The daily max risk."""
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
            budget, risk_each, cost_each, *limits = figures
            money = (units_to_decimal(budget), units_to_decimal(risk_each), units_to_decimal(cost_each))
            quoted = (None if x is None else Limit(*map(units_to_decimal, x)) for x in limits)
            out.append(SizingFacts(contracts[i], binding, *money, with_stop, *quoted))
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
        ``sentence`` order (budget, risk and cost each, then bp, dtbp and daily: None where unknown
        or not applying), or None for a row nothing could be sized for. ``facts`` and ``reasons``
        both read the columns through this."""
        binding = self.binding_constraint.tolist()
        sized = (self.budget_units, self.risk_per_contract_units, self.cost_each_units)
        columns = [c.tolist() for c in sized] + [c.quoted() for c in (self.bp, self.dtbp, self.daily)]
        for i in range(len(binding)) if rows is None else rows:
            kind = str(binding[i])
            yield i, kind, None if kind in _UNSIZED else tuple(column[i] for column in columns)


# budget, risk each, cost each, then bp, dtbp and daily (``LimitColumns.quoted``)
Quoted = tuple[int, int] | None
Figures = tuple[int, int, int, Quoted, Quoted, Quoted]


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
    daily = LimitColumns.of(risk.daily(), spent.risk)
    bp = LimitColumns.of(risk.buying_power, spent.cost)
    same = np.broadcast_to(np.asarray(same_day, dtype=bool), (n,))
    dtbp = LimitColumns.of(risk.dtbp, spent.same_day_cost, same)
    caps = [
        ("max_risk", np.maximum(budget, 0) // safe_risk),
        ("daily_max_risk", daily.cap(safe_risk)),
        ("buying_power", bp.cap(safe_cost)),
        ("day_trade_buying_power", dtbp.cap(safe_cost)),
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
        bp=bp,
        dtbp=dtbp,
        daily=daily,
        stop_premium=stop,
    )
