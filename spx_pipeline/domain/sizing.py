"""Risk context, the 0DTE gate and position sizing for long SPX options.

Decisions the tests pin down:

* Money is ``Decimal``. Floats are converted through ``str`` so 0.1 stays 0.1.
* ``buying_power()``: margin/pdt accounts are limited by ``option_buying_power`` (long options are
  paid in full), cash accounts by settled ``cash_available``; when that figure is not reported the
  other one is used, so a reported figure always caps. When the account type is unknown we take the
  smaller of whatever was reported, since we cannot tell which one the broker applies.
* The 0DTE gate trusts broker-reported state (FINRA replaced the PDT rule on 2026-06-04 with a
  phase-in to 2027-10-20, so brokers differ). ``pdt_qualified is False`` blocks same-day expiries
  while ``legacy_pdt_check`` is on; ``None`` (not reported) does not block by itself. A known DTBP
  below the floor blocks; an unknown DTBP does not (Tradier has no DTBP field for margin/cash
  accounts), and a floor of 0 disables the check.
* Sizing: the fee is charged once per contract and counted both in the risk and in the cost of a
  contract: ``risk = premium*100 + fee`` (or ``(entry - stop)*100 + fee`` with a stop) and
  ``cost = premium*100 + fee``. With the default $0.65 fee the reference examples give 1 contract at
  4.20, 4 at 1.15 and 8 (not 9) with a 0.60 stop; with ``fee_per_contract=0`` they give 1, 4 and 9.
  Counts are floored, never rounded up; unknown buying power does not cap (the reason says so).
* One budget per account: buying power, day-trade buying power and the optional daily max risk are
  spent once per account, not once per setup. ``Committed`` says what earlier setups of the same
  account already took; each setup is sized against what is left (``domain.contracts.recommend``
  walks the setups in a fixed order). The per-trade ``max_risk_dollars`` applies to each trade.
* A same-day expiry can only be closed by a day trade, so it is also capped by what is left of the
  reported day-trade buying power. Caps are checked in the order max risk, daily max risk, buying
  power, day-trade buying power; the first that gives the smallest count is the one named.
* Money in a ``RiskContext`` is floored to 1/10,000 dollar (the warehouse's DECIMAL(18,4)) and bounded
  by ``MAX_MONEY`` so both paths see the same numbers and none can overflow the int64 columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal

import numpy as np

from spx_pipeline.domain.sizing_reasons import SizingFacts, dollars, no_budget_reason, sizing_reason
from spx_pipeline.domain.ticks import MAX_PRICE as MAX_PREMIUM
from spx_pipeline.domain.tradier.enums import ACCOUNT_TYPES

AccountType = Literal["margin", "cash", "pdt"]
MULTIPLIER = 100
DEFAULT_FEE = Decimal("0.65")
MONEY_FIELDS = (
    "day_trade_buying_power",
    "max_risk_dollars",
    "option_buying_power",
    "cash_available",
    "max_daily_risk_dollars",
)
FINGERPRINT_VERSION = "risk-context-v1"
# The one default per-trade max risk: the Dagster run config (UI launchpad), the demo and the README
# all show this value. $2,500 sizes a typical 0.30-0.40 delta SPXW contract (premium $5-$20) to one or
# more contracts; below about $1,000 most of them size to zero.
DEFAULT_MAX_RISK_DOLLARS = Decimal("2500")
# $1 trillion: far above any account, low enough that 1/10,000-dollar units never overflow int64.
MAX_MONEY = Decimal("1000000000000")


MoneyLike = Decimal | int | str | float


def to_money(value: MoneyLike | None, field: str, *, maximum: Decimal | None = MAX_MONEY) -> Decimal | None:
    """Parse money for ``field``: None passes through; negative, NaN, infinite and absurd are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a number, got bool {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float | str | np.integer | np.floating):
        text = str(value).strip() if not isinstance(value, np.integer | np.floating) else str(value.item())
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"{field} is not a number: {value!r}") from exc
    else:
        raise ValueError(
            f"{field} must be a Decimal, int, str or float, got {type(value).__name__} {value!r}"
        )
    if not amount.is_finite():
        raise ValueError(f"{field} must be finite, got {value!r}")
    if amount < 0:
        raise ValueError(f"{field} must not be negative, got {value!r}")
    if maximum is not None and amount > maximum:
        raise ValueError(f"{field} must be at most {maximum:,}, got {value!r}")
    return amount


def floor_units(amount: Decimal | None) -> Decimal | None:
    """Floor to 1/10,000 dollar; flooring a limit can only make sizing more conservative."""
    if amount is None:
        return None
    return amount.quantize(Decimal("0.0001"), rounding=ROUND_FLOOR)


def _canonical(amount: Decimal | None) -> str | None:
    """500, 500.00 and 5E+2 must hash alike."""
    if amount is None:
        return None
    return format(amount.normalize(), "f")


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What a broker account allows right now; every field may be unknown (None)."""

    day_trade_buying_power: Decimal | None = None
    max_risk_dollars: Decimal | None = None
    pdt_qualified: bool | None = None
    option_buying_power: Decimal | None = None
    cash_available: Decimal | None = None
    account_type: AccountType | None = None
    max_daily_risk_dollars: Decimal | None = None

    def __post_init__(self) -> None:
        for name in MONEY_FIELDS:
            object.__setattr__(self, name, floor_units(to_money(getattr(self, name), name)))
        pdt = self.pdt_qualified
        if isinstance(pdt, np.bool_):
            object.__setattr__(self, "pdt_qualified", bool(pdt))
        elif pdt is not None and not isinstance(pdt, bool):
            raise ValueError(f"pdt_qualified must be True, False or None, got {pdt!r}")
        if self.account_type is not None and self.account_type not in ACCOUNT_TYPES:
            raise ValueError(
                f"account_type must be one of {ACCOUNT_TYPES} or None, got {self.account_type!r}"
            )

    @classmethod
    def build(
        cls,
        *,
        day_trade_buying_power: MoneyLike | None = None,
        max_risk_dollars: MoneyLike | None = None,
        pdt_qualified: bool | None = None,
        option_buying_power: MoneyLike | None = None,
        cash_available: MoneyLike | None = None,
        account_type: str | None = None,
        max_daily_risk_dollars: MoneyLike | None = None,
    ) -> RiskContext:
        """Keyword constructor accepting int/str/float money (the dataclass does the conversion)."""
        return cls(
            day_trade_buying_power=day_trade_buying_power,  # type: ignore[arg-type]
            max_risk_dollars=max_risk_dollars,  # type: ignore[arg-type]
            pdt_qualified=pdt_qualified,
            option_buying_power=option_buying_power,  # type: ignore[arg-type]
            cash_available=cash_available,  # type: ignore[arg-type]
            account_type=account_type,  # type: ignore[arg-type]
            max_daily_risk_dollars=max_daily_risk_dollars,  # type: ignore[arg-type]
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RiskContext:
        """From run config or a request body: snake_case or the seed's camelCase keys.

        Unknown keys are refused so a typo (``max_risk``) cannot silently drop a limit.
        ``pdt_qualified`` also accepts "true"/"false"/"1"/"0" strings from config.
        """
        aliases = {
            "dayTradeBuyingPower": "day_trade_buying_power",
            "maxRiskDollars": "max_risk_dollars",
            "pdtQualified": "pdt_qualified",
            "optionBuyingPower": "option_buying_power",
            "cashAvailable": "cash_available",
            "accountType": "account_type",
            "maxDailyRiskDollars": "max_daily_risk_dollars",
        }
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = aliases.get(key, key)
            if name not in known:
                raise ValueError(f"unknown risk context field {key!r}; expected one of {sorted(known)}")
            values[name] = value
        pdt = values.get("pdt_qualified")
        if isinstance(pdt, str):
            lowered = pdt.strip().lower()
            if lowered in ("true", "1", "yes"):
                values["pdt_qualified"] = True
            elif lowered in ("false", "0", "no"):
                values["pdt_qualified"] = False
            elif lowered in ("", "none", "null", "unknown"):
                values["pdt_qualified"] = None
            else:
                raise ValueError(f"pdt_qualified must be true, false or empty, got {pdt!r}")
        return cls.build(**values)

    def buying_power(self) -> Decimal | None:
        """The broker number that limits buying options for this account type.

        The type's own figure wins; when only the other one is reported it is used instead, since a
        broker figure we have is a better cap than none (leaving the account uncapped would size on
        max risk alone).
        """
        if self.account_type in ("margin", "pdt"):
            return self.option_buying_power if self.option_buying_power is not None else self.cash_available
        if self.account_type == "cash":
            return self.cash_available if self.cash_available is not None else self.option_buying_power
        known = [v for v in (self.option_buying_power, self.cash_available) if v is not None]
        return min(known) if known else None

    def fingerprint(self) -> str:
        """Stable 16-hex id of everything that changes sizing; cache keys and warehouse PKs use it.

        The daily max risk joined later: it is hashed only when set, so fingerprints stored before
        it existed still match the same contexts.
        """
        payload = {
            "v": FINGERPRINT_VERSION,
            "account_type": self.account_type,
            "pdt_qualified": self.pdt_qualified,
            **{
                name: _canonical(getattr(self, name))
                for name in MONEY_FIELDS
                if name != "max_daily_risk_dollars" or self.max_daily_risk_dollars is not None
            },
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ZeroDtePolicy:
    """When same-day expiries may be opened; see the module docstring for why it trusts the broker."""

    dtbp_floor: Decimal = Decimal("25000")
    legacy_pdt_check: bool = True

    def __post_init__(self) -> None:
        floor = to_money(self.dtbp_floor, "dtbp_floor")
        if floor is None:
            raise ValueError("dtbp_floor must be a number (use 0 to disable the DTBP check), got None")
        object.__setattr__(self, "dtbp_floor", floor)
        if not isinstance(self.legacy_pdt_check, bool):
            raise ValueError(f"legacy_pdt_check must be a bool, got {self.legacy_pdt_check!r}")


@dataclass(frozen=True, slots=True)
class ZeroDteDecision:
    allowed: bool
    reason: str


_PDT_BLOCK = (
    "0DTE blocked: the account is not PDT-qualified and the legacy PDT check is on, "
    "so closing a same-day SPXW position would be a restricted day trade."
)


def _dtbp_block(dtbp: Decimal, floor: Decimal) -> str:
    return f"0DTE blocked: day-trade buying power {dollars(dtbp)} is below the {dollars(floor)} floor."


def evaluate_0dte(ctx: RiskContext, policy: ZeroDtePolicy | None = None) -> ZeroDteDecision:
    """Whether this account may open a contract expiring today, with a sentence saying why."""
    policy = policy or ZeroDtePolicy()
    problems: list[str] = []
    if policy.legacy_pdt_check and ctx.pdt_qualified is False:
        problems.append(_PDT_BLOCK)
    dtbp = ctx.day_trade_buying_power
    floor = policy.dtbp_floor
    if floor > 0 and dtbp is not None and dtbp < floor:
        problems.append(_dtbp_block(dtbp, floor))
    if problems:
        return ZeroDteDecision(False, " ".join(problems))
    return ZeroDteDecision(True, _allowed_reason(ctx.pdt_qualified, dtbp, policy))


def _allowed_reason(pdt: bool | None, dtbp: Decimal | None, policy: ZeroDtePolicy) -> str:
    if not policy.legacy_pdt_check:
        pdt_part = "legacy PDT check off"
    elif pdt is None:
        pdt_part = "PDT status not reported"
    else:
        pdt_part = "PDT-qualified"
    if policy.dtbp_floor == 0:
        dtbp_part = "DTBP floor disabled"
    elif dtbp is None:
        dtbp_part = "DTBP not reported"
    else:
        dtbp_part = f"DTBP {dollars(dtbp)} at or above the {dollars(policy.dtbp_floor)} floor"
    return f"0DTE allowed: {pdt_part}; {dtbp_part}."


@dataclass(frozen=True, slots=True)
class SizingResult:
    contracts: int
    cost: Decimal
    risk_per_contract: Decimal
    binding_constraint: str
    reason: str

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


STOP_FIELD = "stop_premium"


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
    if stop != stop.quantize(Decimal("0.0001")):
        raise ValueError(f"{field} {value!r} has more than 4 decimal places")
    return stop


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
    daily, bp = ctx.max_daily_risk_dollars, ctx.buying_power()
    dtbp = ctx.day_trade_buying_power if same_day else None
    daily_left = None if daily is None else max(daily - spent.risk, Decimal(0))
    bp_left = None if bp is None else max(bp - spent.cost, Decimal(0))
    dtbp_left = None if dtbp is None else max(dtbp - spent.same_day_cost, Decimal(0))
    contracts, binding = _bind(
        [
            ("max_risk", _floor_div(budget, risk_each)),
            ("daily_max_risk", None if daily_left is None else _floor_div(daily_left, risk_each)),
            ("buying_power", None if bp_left is None else _floor_div(bp_left, cost_each)),
            ("day_trade_buying_power", None if dtbp_left is None else _floor_div(dtbp_left, cost_each)),
        ]
    )
    facts = SizingFacts(
        contracts, binding, budget, risk_each, cost_each, stop is not None,
        bp, bp_left, dtbp, dtbp_left, daily, daily_left,
    )  # fmt: skip
    return SizingResult(contracts, cost_each * contracts, risk_each, binding, sizing_reason(facts))
