"""The sentences that explain a sizing: one builder for the scalar and the vectorized path.

Both paths write their facts through ``sentence``, so for the same inputs they say the same thing, to
the cent: the scalar path's ``SizingFacts`` (Decimal money) through ``sizing_reason``, the batch
path's integer columns directly (its money written by ``dollars_of_units``, which spells an amount
as ``dollars`` does without building a Decimal). Budgets that earlier setups of the account already
used are quoted as "$70.00 left of $300.00 after earlier setups": the remaining budget is the one
that bound.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, NamedTuple, TypeVar

Money = TypeVar("Money", Decimal, int)


class Limit(NamedTuple, Generic[Money]):
    """A budget beside the max risk (buying power, day-trade buying power, daily max risk) as a
    sentence quotes it: the whole of it, and what earlier setups of the account left of it."""

    total: Money
    left: Money


@functools.lru_cache(maxsize=1 << 14)
def dollars(amount: Decimal) -> str:
    """$1,234.57: rounded half-even to the cent for display only (every comparison is exact)."""
    return f"${amount.quantize(Decimal('0.01')):,}"


@dataclass(frozen=True, slots=True)
class SizingFacts:
    """Every number a sizing sentence quotes; built by both paths so their sentences are identical."""

    contracts: int
    binding: str
    budget: Decimal
    risk_each: Decimal
    cost_each: Decimal
    with_stop: bool
    bp: Limit[Decimal] | None
    dtbp: Limit[Decimal] | None  # only for a same-day expiry
    daily: Limit[Decimal] | None


def no_budget_reason(budget: Decimal | None) -> str:
    if budget is None:
        return "No trade: no max risk is set for this account and no default was given."
    return "No trade: the max risk is $0.00."


@functools.lru_cache(maxsize=1 << 14)
def dollars_of_units(units: int) -> str:
    """``dollars`` of ``units`` 1/10,000 dollars, without a Decimal: half-even to the cent, commas."""
    if units < 0:
        return dollars(Decimal(units).scaleb(-4))
    cents, rest = divmod(units, 100)
    if rest > 50 or (rest == 50 and cents % 2):
        cents += 1
    whole, part = divmod(cents, 100)
    return f"${whole:,}.{part:02d}"


# The limits a sizing can bind on besides the max risk, as the sentences name them, in quoting order.
_LIMIT_NAMES = {
    "buying_power": "buying power",
    "day_trade_buying_power": "day-trade buying power",
    "daily_max_risk": "daily max risk",
}


def sizing_reason(f: SizingFacts) -> str:
    return sentence(
        f.contracts, f.binding, f.with_stop, dollars,
        f.budget, f.risk_each, f.cost_each, f.bp, f.dtbp, f.daily,
    )  # fmt: skip


def sentence(  # noqa: PLR0917 - the facts, spelled out so the batch path need not build them
    contracts: int,
    binding: str,
    with_stop: bool,
    text: Callable[[Money], str],
    budget: Money,
    risk_each: Money,
    cost_each: Money,
    bp: tuple[Money, Money] | None,
    dtbp: tuple[Money, Money] | None,
    daily: tuple[Money, Money] | None,
) -> str:
    """The sentence of ``SizingFacts``, its money written by ``text``: ``dollars`` for Decimal money,
    ``dollars_of_units`` for integer 1/10,000-dollar units (the batch path); both write the same.
    Each limit is a ``Limit`` (total, left), or None when not reported."""

    def limit(name: str) -> str | None:
        """The limit ``name`` as every sentence quotes it: the whole of it, or what is left of it once
        earlier setups committed part of it; None when not reported (or not a limit)."""
        quoted, earlier = {
            "buying_power": (bp, "earlier setups"),
            "day_trade_buying_power": (dtbp, "earlier same-day setups"),
            "daily_max_risk": (daily, "earlier setups"),
        }.get(name, (None, ""))
        if quoted is None:
            return None
        total, left = quoted
        amount = text(total) if left == total else f"{text(left)} left of {text(total)} after {earlier}"
        return f"{_LIMIT_NAMES[name]} {amount}"

    risk_word = "risk to the stop" if with_stop else "premium at risk"
    bound = limit(binding)
    assert bound is not None or binding not in _LIMIT_NAMES, f"{binding} bound without its figures"
    if contracts == 0:
        if binding == "buying_power":
            return f"No trade: {bound} does not cover one contract at {text(cost_each)}."
        if binding == "day_trade_buying_power":
            return f"No trade: {bound} does not cover one same-day contract at {text(cost_each)}."
        if binding == "daily_max_risk":
            return f"No trade: {bound} is below the {risk_word} of one contract ({text(risk_each)})."
        return (
            f"No trade: max risk {text(budget)} is below the {risk_word} of one contract ({text(risk_each)})."
        )
    more = f"max risk {text(budget)} alone would allow more"
    if binding == "buying_power":
        return f"{contracts} contract(s): capped by {bound} at {text(cost_each)} each ({more})."
    if binding == "day_trade_buying_power":
        return (
            f"{contracts} contract(s): capped by {bound} at {text(cost_each)} each "
            f"(closing a same-day expiry is a day trade; {more})."
        )
    if binding == "daily_max_risk":
        return f"{contracts} contract(s): capped by {bound} at {text(risk_each)} {risk_word} each ({more})."
    quoted = [limit(name) for name in _LIMIT_NAMES]
    notes = [] if quoted[0] is not None else ["buying power not reported, not capped"]
    notes += [f"{phrase} suffices" for phrase in quoted if phrase is not None]
    return (
        f"{contracts} contract(s): max risk {text(budget)} / {text(risk_each)} {risk_word} "
        f"per contract; {'; '.join(notes)}."
    )
