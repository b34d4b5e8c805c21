"""The 0DTE policy: whether an account may open a contract that expires today.

It trusts broker-reported state, because the PDT rule is being replaced in phases (FINRA, from
2026-06-04 to 2027-10-20) and brokers differ: ``pdt_qualified is False`` blocks while the legacy
check is on, a known day-trade buying power below the floor blocks, and an unknown figure does not
block by itself (Tradier reports no DTBP for margin and cash accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from spx_pipeline.domain.money import UNKNOWN, to_money, to_units
from spx_pipeline.domain.risk_context import RiskArrays, RiskContext
from spx_pipeline.domain.sizing_reasons import dollars


@dataclass(frozen=True, slots=True)
class ZeroDtePolicy:
    """When same-day expiries may be opened; a ``dtbp_floor`` of 0 disables the DTBP check."""

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


def zero_dte_allowed(risk: RiskArrays, policy: ZeroDtePolicy | None = None) -> npt.NDArray[np.bool_]:
    """Vectorized ``evaluate_0dte(...).allowed``; reasons are built only where a row needs one."""
    policy = policy or ZeroDtePolicy()
    allowed = np.ones(len(risk), dtype=bool)
    if policy.legacy_pdt_check:
        allowed &= risk.pdt != 0
    floor = to_units(policy.dtbp_floor)
    if floor > 0:
        allowed &= ~((risk.dtbp != UNKNOWN) & (risk.dtbp < floor))
    return allowed
