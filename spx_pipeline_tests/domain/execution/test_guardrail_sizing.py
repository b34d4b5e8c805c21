"""Realized slippage in sizing: expected slippage shrinks size within the budget; a bad p90 blocks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.domain.contract_selection import recommend
from spx_pipeline.domain.execution import Guardrail
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.emulator.sample_data import synthetic_spx_chain

AS_OF = date(2026, 11, 24)
CTX = RiskContext(
    max_risk_dollars=3000, pdt_qualified=False, option_buying_power=50_000, account_type="margin"
)
FIRST = Setup("first", "bullish", priority=0)
SECOND = Setup("second", "bearish", priority=1)


@pytest.fixture(scope="module")
def chain() -> pd.DataFrame:
    return synthetic_spx_chain(AS_OF)


def rows(chain: pd.DataFrame, *rails: Guardrail) -> pd.DataFrame:
    return recommend(chain, [FIRST, SECOND], {"VA1": CTX}, AS_OF, guardrails=rails).set_index("setup_id")


def test_without_guardrails_nothing_changes(chain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        recommend(chain, [FIRST, SECOND], {"VA1": CTX}, AS_OF),
        recommend(chain, [FIRST, SECOND], {"VA1": CTX}, AS_OF, guardrails=()),
    )


def test_expected_slippage_is_paid_for_inside_the_risk_budget(chain: pd.DataFrame) -> None:
    plain = rows(chain).loc["first"]
    assert plain["suggested_contracts"] >= 2
    cost_each = plain["suggested_cost"] / plain["suggested_contracts"]  # premium × 100 + fee
    slip = cost_each.quantize(Decimal("0.01"))  # slippage as large as the contract: size must halve
    guarded = rows(chain, Guardrail("first", "", 8, slip, None)).loc["first"]
    assert guarded["suggested_contracts"] == int(Decimal(CTX.max_risk_dollars) // (cost_each + slip))
    assert guarded["suggested_contracts"] < plain["suggested_contracts"]
    assert guarded["suggested_cost"] == guarded["suggested_contracts"] * (cost_each + slip)
    assert guarded["suggested_cost"] <= Decimal(CTX.max_risk_dollars)  # no stop: the whole cost is at risk
    assert f"${slip:,.2f} per contract of expected slippage (median of 8 fills)" in guarded["sizing_reason"]


def test_a_setup_above_its_p90_limit_is_blocked_and_spends_no_budget(chain: pd.DataFrame) -> None:
    reason = "setup first: p90 adverse slippage 6.5 ticks over 9 fills exceeds the limit of 4 ticks"
    got = rows(chain, Guardrail("first", "VA1", 9, Decimal(0), reason))
    first, second = got.loc["first"], got.loc["second"]
    assert first["blocked"] and first["suggested_contracts"] == 0 and first["suggested_cost"] == 0
    assert first["binding_constraint"] == "slippage_guardrail"
    assert "6.5 ticks" in first["blocked_reason"]
    alone = recommend(chain, [SECOND], {"VA1": CTX}, AS_OF).iloc[0]
    assert second["suggested_contracts"] == alone["suggested_contracts"]  # the blocked setup spent nothing


def test_a_rail_for_another_account_or_setup_does_not_apply(chain: pd.DataFrame) -> None:
    plain = rows(chain)
    other = rows(chain, Guardrail("first", "VA2", 9, Decimal(0), "blocked elsewhere"),
                 Guardrail("third", "", 9, Decimal(500), None))  # fmt: skip
    pd.testing.assert_frame_equal(plain, other)
