"""Realized slippage fed back into sizing: what a setup has cost us, and when to stop trading it.

Statistics are exact (Decimal, linear-interpolated quantiles as numpy's default), over the filled
legs (entries and exits) of a window of sessions. A setup with enough fills adds its expected
adverse slippage to the per-contract cost and risk, so the risk budget still holds after
slippage; a setup whose p90 adverse slippage exceeds the configured limit is blocked with a
reason naming the figure. With fewer fills than ``min_fills`` nothing changes: a handful of
fills is noise, not evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal


@dataclass(frozen=True, slots=True)
class SlippageSample:
    setup_id: str
    account_id: str
    session: date
    ticks: Decimal
    per_contract: Decimal


@dataclass(frozen=True, slots=True)
class SlippageStats:
    setup_id: str
    account_id: str  # "" for the setup across all accounts
    fills: int
    median_ticks: Decimal
    p90_ticks: Decimal
    median_dollars: Decimal
    p90_dollars: Decimal


@dataclass(frozen=True, slots=True)
class GuardrailPolicy:
    window_sessions: int = 20
    min_fills: int = 5
    max_p90_ticks: Decimal = Decimal(4)

    def __post_init__(self) -> None:
        for name in ("window_sessions", "min_fills"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.max_p90_ticks, Decimal) or self.max_p90_ticks < 0:
            raise ValueError(f"max_p90_ticks must be a Decimal >= 0, got {self.max_p90_ticks!r}")


@dataclass(frozen=True, slots=True)
class Guardrail:
    """What sizing must do for one setup (and, when ``account_id`` is set, one account)."""

    setup_id: str
    account_id: str
    fills: int
    expected_slippage_per_contract: Decimal  # >= 0: added to cost and risk per contract
    blocked_reason: str | None


def quantile(values: Sequence[Decimal], q: Decimal) -> Decimal:
    """The ``q`` quantile by linear interpolation between closest ranks (numpy's default), exactly."""
    if not values:
        raise ValueError("quantile of no values")
    if not Decimal(0) <= q <= Decimal(1):
        raise ValueError(f"q must be within [0, 1], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    if low + 1 >= len(ordered):
        return ordered[-1]
    return ordered[low] + (position - low) * (ordered[low + 1] - ordered[low])


def in_window(
    samples: Iterable[SlippageSample], sessions: Sequence[date], policy: GuardrailPolicy
) -> list[SlippageSample]:
    """Samples from the last ``window_sessions`` of ``sessions`` (the trading days, in any order)."""
    recent = set(sorted(sessions)[-policy.window_sessions :])
    return [sample for sample in samples if sample.session in recent]


def slippage_stats(samples: Iterable[SlippageSample], policy: GuardrailPolicy) -> list[SlippageStats]:
    """Per setup over all accounts, and per setup × account where that account has ``min_fills``."""
    groups: dict[tuple[str, str], list[SlippageSample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.setup_id, "")].append(sample)
        groups[(sample.setup_id, sample.account_id)].append(sample)
    stats = []
    for (setup_id, account_id), group in sorted(groups.items()):
        if account_id and len(group) < policy.min_fills:
            continue
        ticks = [s.ticks for s in group]
        dollars = [s.per_contract for s in group]
        stats.append(
            SlippageStats(
                setup_id=setup_id,
                account_id=account_id,
                fills=len(group),
                median_ticks=quantile(ticks, Decimal("0.5")),
                p90_ticks=quantile(ticks, Decimal("0.9")),
                median_dollars=quantile(dollars, Decimal("0.5")),
                p90_dollars=quantile(dollars, Decimal("0.9")),
            )
        )
    return stats


def guardrails(stats: Iterable[SlippageStats], policy: GuardrailPolicy) -> list[Guardrail]:
    """A guardrail for every statistic with at least ``min_fills`` fills.

    The expected slippage is the median adverse dollars per contract (never negative: a lucky
    streak does not buy extra size); the block uses the p90 in ticks.
    """
    rails = []
    for stat in stats:
        if stat.fills < policy.min_fills:
            continue
        blocked = None
        if stat.p90_ticks > policy.max_p90_ticks:
            scope = f"setup {stat.setup_id}" + (f" in account {stat.account_id}" if stat.account_id else "")
            blocked = (
                f"{scope}: p90 adverse slippage {stat.p90_ticks.normalize():f} ticks "
                f"over {stat.fills} fills exceeds the limit of {policy.max_p90_ticks.normalize():f} ticks"
            )
        rails.append(
            Guardrail(
                setup_id=stat.setup_id,
                account_id=stat.account_id,
                fills=stat.fills,
                # Rounded up to the warehouse's 4 places: sizing may only err on the safe side.
                expected_slippage_per_contract=max(stat.median_dollars, Decimal(0)).quantize(
                    Decimal("0.0001"), ROUND_CEILING
                ),
                blocked_reason=blocked,
            )
        )
    return rails


def guardrail_for(rails: Iterable[Guardrail], setup_id: str, account_id: str) -> Guardrail | None:
    """The account's own guardrail when it has one, else the setup's, else None (nothing changes)."""
    setup_wide = None
    for rail in rails:
        if rail.setup_id != setup_id:
            continue
        if rail.account_id == account_id:
            return rail
        if rail.account_id == "":
            setup_wide = rail
    return setup_wide
