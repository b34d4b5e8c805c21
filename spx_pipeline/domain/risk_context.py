"""What a broker account allows right now, and its fingerprint: the one input sizing needs per account.

Every field may be unknown (None): brokers report different subsets, and an unknown figure must
never be read as zero. ``RiskArrays`` holds many contexts as int64 columns so the batch path reads
them once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spx_pipeline.domain.money import UNKNOWN, floor_units, to_money, to_units
from spx_pipeline.domain.tradier.enums import ACCOUNT_TYPES

AccountType = Literal["margin", "cash", "pdt"]
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


def _canonical(amount: Decimal | None) -> str | None:
    """500, 500.00 and 5E+2 must hash alike."""
    if amount is None:
        return None
    return format(amount.normalize(), "f")


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What a broker account allows right now; every field may be unknown (None).

    Money may be given as Decimal, int, numeric str or float; it is parsed by ``to_money``, floored
    to 1/10,000 dollar (the warehouse's DECIMAL(18,4)) and bounded by ``MAX_MONEY``, so the scalar
    and the batch path see the same numbers and none can overflow the int64 columns.
    """

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
    def from_mapping(cls, data: Mapping[str, Any]) -> RiskContext:
        """From run config or a request body: snake_case or camelCase keys.

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
        return cls(**values)

    def buying_power(self) -> Decimal | None:
        """The broker number that limits buying options for this account type.

        Margin/pdt accounts pay long options in full from ``option_buying_power``, cash accounts from
        settled ``cash_available``. When the type's own figure is missing the other reported one is
        used, since a broker figure we have is a better cap than none; when the type is unknown we
        take the smaller, since we cannot tell which one the broker applies.
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
        it existed still match the same contexts. The JSON is written out directly, keys in sorted
        order, exactly as ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` writes it (a
        test compares the two); a run fingerprints every account.
        """
        daily = (
            ""
            if self.max_daily_risk_dollars is None
            else f'"max_daily_risk_dollars":{_json_money(self.max_daily_risk_dollars)},'
        )
        text = (
            f'{{"account_type":{_JSON_TYPES[self.account_type]},'
            f'"cash_available":{_json_money(self.cash_available)},'
            f'"day_trade_buying_power":{_json_money(self.day_trade_buying_power)},{daily}'
            f'"max_risk_dollars":{_json_money(self.max_risk_dollars)},'
            f'"option_buying_power":{_json_money(self.option_buying_power)},'
            f'"pdt_qualified":{_JSON_FLAGS[self.pdt_qualified]},"v":"{FINGERPRINT_VERSION}"}}'
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_JSON_TYPES = {name: json.dumps(name) for name in (*ACCOUNT_TYPES, None)}
_JSON_FLAGS = {True: "true", False: "false", None: "null"}


def _json_money(amount: Decimal | None) -> str:
    """``json.dumps(_canonical(amount))``: the amount's digits without trailing zeros, in quotes."""
    if amount is None:
        return "null"
    text = str(amount)  # a floored amount has 4 places: plain digits, never an exponent
    if "E" in text or "e" in text or "." not in text:
        return f'"{_canonical(amount)}"'
    return f'"{text.rstrip("0").rstrip(".")}"'


@dataclass(frozen=True, slots=True)
class RiskArrays:
    """Many risk contexts as columns, built once so sizing and the 0DTE gate run as numpy ops.

    Money is int64 1/10,000 dollars (floored); ``UNKNOWN`` (-1) marks unknown. ``pdt`` is 1/0/-1.
    """

    max_risk: npt.NDArray[np.int64]
    buying_power: npt.NDArray[np.int64]
    dtbp: npt.NDArray[np.int64]
    pdt: npt.NDArray[np.int8]
    daily_risk: npt.NDArray[np.int64] | None = None

    @classmethod
    def from_contexts(cls, contexts: Sequence[RiskContext]) -> RiskArrays:
        def _pdt(ctx: RiskContext) -> int:
            return UNKNOWN if ctx.pdt_qualified is None else int(ctx.pdt_qualified)

        return cls(
            max_risk=np.array([to_units(c.max_risk_dollars) for c in contexts], dtype=np.int64),
            buying_power=np.array([to_units(c.buying_power()) for c in contexts], dtype=np.int64),
            dtbp=np.array([to_units(c.day_trade_buying_power) for c in contexts], dtype=np.int64),
            pdt=np.array([_pdt(c) for c in contexts], dtype=np.int8),
            daily_risk=np.array([to_units(c.max_daily_risk_dollars) for c in contexts], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.max_risk)

    def daily(self) -> npt.NDArray[np.int64]:
        return self.daily_risk if self.daily_risk is not None else np.full(len(self), UNKNOWN, np.int64)
