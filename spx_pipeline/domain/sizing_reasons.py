"""The sentences that explain a sizing: one builder for the scalar and the vectorized path.

Both paths fill the same ``SizingFacts`` (Decimal money, exact) and call ``sizing_reason``, so for the
same inputs they say the same thing, to the cent. Budgets that earlier setups of the account already
used are quoted as "$70.00 left of $300.00 after earlier setups": the remaining budget is the one
that bound.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal


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
    bp: Decimal | None
    bp_left: Decimal | None
    dtbp: Decimal | None  # only for a same-day expiry
    dtbp_left: Decimal | None
    daily: Decimal | None
    daily_left: Decimal | None


def no_budget_reason(budget: Decimal | None) -> str:
    if budget is None:
        return "No trade: no max risk is set for this account and no default was given."
    return "No trade: the max risk is $0.00."


def _left(total: Decimal, left: Decimal, earlier: str = "earlier setups") -> str:
    """The whole budget, or what is left of it once earlier setups committed part of it."""
    if left == total:
        return dollars(total)
    return f"{dollars(left)} left of {dollars(total)} after {earlier}"


def _budget_phrases(f: SizingFacts) -> dict[str, str]:
    """Each budget the account reported, as every sentence names it, keyed like ``binding``."""
    phrases: dict[str, str] = {}
    if f.bp is not None and f.bp_left is not None:
        phrases["buying_power"] = f"buying power {_left(f.bp, f.bp_left)}"
    if f.dtbp is not None and f.dtbp_left is not None:
        phrases["day_trade_buying_power"] = (
            f"day-trade buying power {_left(f.dtbp, f.dtbp_left, 'earlier same-day setups')}"
        )
    if f.daily is not None and f.daily_left is not None:
        phrases["daily_max_risk"] = f"daily max risk {_left(f.daily, f.daily_left)}"
    return phrases


def sizing_reason(f: SizingFacts) -> str:
    risk_word = "risk to the stop" if f.with_stop else "premium at risk"
    phrases = _budget_phrases(f)
    if f.contracts == 0:
        if f.binding == "buying_power":
            return f"No trade: {phrases[f.binding]} does not cover one contract at {dollars(f.cost_each)}."
        if f.binding == "day_trade_buying_power":
            return (
                f"No trade: {phrases[f.binding]} does not cover one same-day contract at "
                f"{dollars(f.cost_each)}."
            )
        if f.binding == "daily_max_risk":
            return (
                f"No trade: {phrases[f.binding]} is below the {risk_word} "
                f"of one contract ({dollars(f.risk_each)})."
            )
        return (
            f"No trade: max risk {dollars(f.budget)} is below the {risk_word} "
            f"of one contract ({dollars(f.risk_each)})."
        )
    more = f"max risk {dollars(f.budget)} alone would allow more"
    capped = f"{f.contracts} contract(s): capped by {phrases.get(f.binding)} at"
    if f.binding == "buying_power":
        return f"{capped} {dollars(f.cost_each)} each ({more})."
    if f.binding == "day_trade_buying_power":
        return f"{capped} {dollars(f.cost_each)} each (closing a same-day expiry is a day trade; {more})."
    if f.binding == "daily_max_risk":
        return f"{capped} {dollars(f.risk_each)} {risk_word} each ({more})."
    notes = [f"{phrase} suffices" for phrase in phrases.values()]
    if "buying_power" not in phrases:
        notes.insert(0, "buying power not reported, not capped")
    return (
        f"{f.contracts} contract(s): max risk {dollars(f.budget)} / {dollars(f.risk_each)} {risk_word} "
        f"per contract; {'; '.join(notes)}."
    )
