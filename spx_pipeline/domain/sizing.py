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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

AccountType = Literal["margin", "cash", "pdt"]
ACCOUNT_TYPES: tuple[str, ...] = ("margin", "cash", "pdt")
MULTIPLIER = 100
DEFAULT_FEE = Decimal("0.65")
MONEY_FIELDS = ("day_trade_buying_power", "max_risk_dollars", "option_buying_power", "cash_available")
FINGERPRINT_VERSION = "risk-context-v1"

# Vectorized sizing works in integer 1/10,000 dollars (the warehouse's DECIMAL(18,4)) so floors
# are exact and agree with the Decimal path.
_UNITS = 10_000
_UNKNOWN = -1

MoneyLike = Decimal | int | str | float


def to_money(value: MoneyLike | None, field: str) -> Decimal | None:
    """Parse money for ``field``: None passes through; negative, NaN and infinite are refused."""
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
    return amount


def _canonical(amount: Decimal | None) -> str | None:
    """500, 500.00 and 5E+2 must hash alike."""
    if amount is None:
        return None
    return format(amount.normalize(), "f")


def _dollars(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01')):,}"


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What a broker account allows right now; every field may be unknown (None)."""

    day_trade_buying_power: Decimal | None = None
    max_risk_dollars: Decimal | None = None
    pdt_qualified: bool | None = None
    option_buying_power: Decimal | None = None
    cash_available: Decimal | None = None
    account_type: AccountType | None = None

    def __post_init__(self) -> None:
        for name in MONEY_FIELDS:
            object.__setattr__(self, name, to_money(getattr(self, name), name))
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
    ) -> RiskContext:
        """Keyword constructor accepting int/str/float money (the dataclass does the conversion)."""
        return cls(
            day_trade_buying_power=day_trade_buying_power,  # type: ignore[arg-type]
            max_risk_dollars=max_risk_dollars,  # type: ignore[arg-type]
            pdt_qualified=pdt_qualified,
            option_buying_power=option_buying_power,  # type: ignore[arg-type]
            cash_available=cash_available,  # type: ignore[arg-type]
            account_type=account_type,  # type: ignore[arg-type]
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
        """Stable 16-hex id of everything that changes sizing; cache keys and warehouse PKs use it."""
        payload = {
            "v": FINGERPRINT_VERSION,
            "account_type": self.account_type,
            "pdt_qualified": self.pdt_qualified,
            **{name: _canonical(getattr(self, name)) for name in MONEY_FIELDS},
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
    return f"0DTE blocked: day-trade buying power {_dollars(dtbp)} is below the {_dollars(floor)} floor."


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
        dtbp_part = f"DTBP {_dollars(dtbp)} at or above the {_dollars(policy.dtbp_floor)} floor"
    return f"0DTE allowed: {pdt_part}; {dtbp_part}."


@dataclass(frozen=True, slots=True)
class SizingResult:
    contracts: int
    cost: Decimal
    risk_per_contract: Decimal
    binding_constraint: str
    reason: str


def _premium(value: MoneyLike, field: str) -> Decimal:
    amount = to_money(value, field)
    if amount is None or amount <= 0:
        raise ValueError(f"{field} must be a positive price, got {value!r}")
    return amount


def size_position(
    ctx: RiskContext,
    premium: MoneyLike,
    *,
    stop_premium: MoneyLike | None = None,
    fee_per_contract: MoneyLike = DEFAULT_FEE,
    default_max_risk: MoneyLike | None = None,
) -> SizingResult:
    """How many contracts fit the risk budget and then the buying power; 0 means do not trade."""
    entry = _premium(premium, "premium")
    stop = to_money(stop_premium, "stop_premium")
    fee = to_money(fee_per_contract, "fee_per_contract")
    assert fee is not None  # to_money only returns None for None, which the signature forbids
    if stop is not None and stop >= entry:
        raise ValueError(f"stop_premium {stop} must be below the entry premium {entry}")
    budget = (
        ctx.max_risk_dollars
        if ctx.max_risk_dollars is not None
        else to_money(default_max_risk, "default_max_risk")
    )
    cost_each = entry * MULTIPLIER + fee
    risk_each = (entry - stop) * MULTIPLIER + fee if stop is not None else cost_each
    if budget is None or budget == 0:
        return SizingResult(0, Decimal(0), risk_each, "no_risk_budget", _no_budget_reason(budget))
    by_risk = int((budget / risk_each).to_integral_value(ROUND_FLOOR)) if risk_each > 0 else 0
    bp = ctx.buying_power()
    by_bp = None if bp is None else int((bp / cost_each).to_integral_value(ROUND_FLOOR))
    contracts, binding = by_risk, "max_risk"
    if by_bp is not None and by_bp < by_risk:
        contracts, binding = by_bp, "buying_power"
    reason = _sizing_reason(
        contracts,
        binding,
        budget=budget,
        risk_each=risk_each,
        bp=bp,
        cost_each=cost_each,
        with_stop=stop is not None,
    )
    return SizingResult(contracts, cost_each * contracts, risk_each, binding, reason)


def _no_budget_reason(budget: Decimal | None) -> str:
    if budget is None:
        return "No trade: no max risk is set for this account and no default was given."
    return "No trade: the max risk is $0.00."


def _sizing_reason(
    contracts: int,
    binding: str,
    *,
    budget: Decimal,
    risk_each: Decimal,
    bp: Decimal | None,
    cost_each: Decimal,
    with_stop: bool,
) -> str:
    risk_word = "risk to the stop" if with_stop else "premium at risk"
    if contracts == 0:
        if binding == "buying_power":
            assert bp is not None
            return (
                f"No trade: buying power {_dollars(bp)} does not cover one contract at {_dollars(cost_each)}."
            )
        return (
            f"No trade: max risk {_dollars(budget)} is below the {risk_word} "
            f"of one contract ({_dollars(risk_each)})."
        )
    if binding == "buying_power":
        assert bp is not None
        return (
            f"{contracts} contract(s): capped by buying power {_dollars(bp)} at {_dollars(cost_each)} each "
            f"(max risk {_dollars(budget)} alone would allow more)."
        )
    bp_note = (
        "buying power not reported, not capped" if bp is None else f"buying power {_dollars(bp)} suffices"
    )
    return (
        f"{contracts} contract(s): max risk {_dollars(budget)} / {_dollars(risk_each)} {risk_word} "
        f"per contract; {bp_note}."
    )


# --- vectorized ---------------------------------------------------------------------------------


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

    @classmethod
    def from_contexts(cls, contexts: Sequence[RiskContext]) -> RiskArrays:
        def _pdt(ctx: RiskContext) -> int:
            return _UNKNOWN if ctx.pdt_qualified is None else int(ctx.pdt_qualified)

        return cls(
            max_risk=np.array([_units(c.max_risk_dollars) for c in contexts], dtype=np.int64),
            buying_power=np.array([_units(c.buying_power()) for c in contexts], dtype=np.int64),
            dtbp=np.array([_units(c.day_trade_buying_power) for c in contexts], dtype=np.int64),
            pdt=np.array([_pdt(c) for c in contexts], dtype=np.int8),
        )

    def __len__(self) -> int:
        return len(self.max_risk)


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


@dataclass(frozen=True, slots=True)
class SizingBatch:
    """``size_position`` for many contexts; money in int64 1/10,000 dollars."""

    contracts: npt.NDArray[np.int64]
    cost_units: npt.NDArray[np.int64]
    risk_per_contract_units: npt.NDArray[np.int64]
    binding_constraint: npt.NDArray[np.object_]


def size_positions(
    risk: RiskArrays,
    premiums: npt.ArrayLike,
    *,
    stop_premium: MoneyLike | None = None,
    fee_per_contract: MoneyLike = DEFAULT_FEE,
    default_max_risk: MoneyLike | None = None,
) -> SizingBatch:
    """Vectorized ``size_position``: one premium per context (or one for all), same floors and caps.

    Premiums are floats on the cent grid (limit prices); a premium <= 0 or a stop not below it
    yields 0 contracts with binding constraint ``invalid_premium`` / ``stop_not_below_entry``
    instead of raising, because one bad row must not sink a batch.
    """
    fee = to_money(fee_per_contract, "fee_per_contract")
    assert fee is not None
    fee_u = _exact_units(fee, "fee_per_contract")
    stop = to_money(stop_premium, "stop_premium")
    default_budget = _units(to_money(default_max_risk, "default_max_risk"))
    n = len(risk)
    prem = np.broadcast_to(np.asarray(premiums, dtype=np.float64), (n,))
    prem_u = np.rint(np.where(np.isfinite(prem), prem, 0.0) * _UNITS).astype(np.int64)
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
    safe_risk = np.where(risk_each > 0, risk_each, 1)
    by_risk = np.where(no_budget | invalid | bad_stop, 0, np.maximum(budget, 0) // safe_risk)
    bp_known = risk.buying_power != _UNKNOWN
    safe_cost = np.where(cost_each > 0, cost_each, 1)
    by_bp = np.where(bp_known, risk.buying_power // safe_cost, np.iinfo(np.int64).max)
    bp_binds = by_bp < by_risk
    contracts = np.where(bp_binds, by_bp, by_risk)
    binding = np.full(n, "max_risk", dtype=object)
    binding[bp_binds] = "buying_power"
    binding[no_budget] = "no_risk_budget"
    binding[bad_stop] = "stop_not_below_entry"
    binding[invalid] = "invalid_premium"
    return SizingBatch(
        contracts=contracts.astype(np.int64),
        cost_units=(contracts * cost_each).astype(np.int64),
        risk_per_contract_units=risk_each.astype(np.int64),
        binding_constraint=binding,
    )


def units_to_decimal(units: int) -> Decimal:
    """Back from 1/10,000 dollars to Decimal money (exact)."""
    return (Decimal(int(units)) / _UNITS).quantize(Decimal("0.0001"))


def sizing_reason_for(
    ctx: RiskContext,
    premium: Decimal,
    contracts: int,
    binding: str,
    *,
    stop_premium: Decimal | None,
    fee_per_contract: Decimal,
    default_max_risk: Decimal | None,
) -> str:
    """The sentence ``size_position`` would give, for rows sized by ``size_positions``."""
    if binding == "invalid_premium":
        return f"No trade: entry premium {premium} is not a positive price."
    if binding == "stop_not_below_entry":
        return f"No trade: the stop {stop_premium} is not below the entry premium {premium}."
    budget = ctx.max_risk_dollars if ctx.max_risk_dollars is not None else default_max_risk
    if binding == "no_risk_budget" or budget is None:
        return _no_budget_reason(budget)
    cost_each = premium * MULTIPLIER + fee_per_contract
    risk_each = (
        (premium - stop_premium) * MULTIPLIER + fee_per_contract if stop_premium is not None else cost_each
    )
    return _sizing_reason(
        contracts,
        binding,
        budget=budget,
        risk_each=risk_each,
        bp=ctx.buying_power(),
        cost_each=cost_each,
        with_stop=stop_premium is not None,
    )
