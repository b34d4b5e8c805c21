"""The 0DTE gate: what blocks a same-day expiry and what does not, scalar and vectorized alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.risk_context import RiskArrays, RiskContext
from spx_pipeline.domain.zero_dte import ZeroDtePolicy, evaluate_0dte, zero_dte_allowed
from spx_pipeline_tests.domain.strategies import contexts

D = Decimal


def test_not_pdt_qualified_blocks_only_with_legacy_check() -> None:
    ctx = RiskContext(pdt_qualified=False, day_trade_buying_power=50000)
    decision = evaluate_0dte(ctx, ZeroDtePolicy())
    assert not decision.allowed
    assert "not PDT-qualified" in decision.reason
    assert evaluate_0dte(ctx, ZeroDtePolicy(legacy_pdt_check=False)).allowed


def test_unknown_pdt_status_does_not_block() -> None:
    decision = evaluate_0dte(RiskContext(pdt_qualified=None), ZeroDtePolicy())
    assert decision.allowed
    assert "not reported" in decision.reason


def test_dtbp_below_floor_blocks_and_names_numbers() -> None:
    ctx = RiskContext(pdt_qualified=True, day_trade_buying_power="12000")
    decision = evaluate_0dte(ctx, ZeroDtePolicy())
    assert not decision.allowed
    assert "$12,000.00" in decision.reason
    assert "$25,000.00" in decision.reason
    assert evaluate_0dte(ctx, ZeroDtePolicy(dtbp_floor=D(10000))).allowed
    assert evaluate_0dte(ctx, ZeroDtePolicy(dtbp_floor=D(0))).allowed


def test_dtbp_at_floor_is_allowed_and_unknown_dtbp_does_not_block() -> None:
    assert evaluate_0dte(RiskContext(day_trade_buying_power=25000)).allowed
    assert evaluate_0dte(RiskContext(pdt_qualified=True)).allowed


def test_both_problems_are_reported() -> None:
    decision = evaluate_0dte(RiskContext(pdt_qualified=False, day_trade_buying_power=100))
    assert "PDT" in decision.reason
    assert "$100.00" in decision.reason


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="dtbp_floor"):
        ZeroDtePolicy(dtbp_floor=D(-1))
    with pytest.raises(ValueError, match="legacy_pdt_check"):
        ZeroDtePolicy(legacy_pdt_check="yes")  # type: ignore[arg-type]
    assert ZeroDtePolicy(dtbp_floor=1000).dtbp_floor == D(1000)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    ctxs=st.lists(contexts, min_size=1, max_size=20),
    floor=st.sampled_from([D(0), D(25000), D("100.5")]),
    legacy=st.booleans(),
)
def test_zero_dte_allowed_matches_evaluate(ctxs: list[RiskContext], floor: Decimal, legacy: bool) -> None:
    policy = ZeroDtePolicy(dtbp_floor=floor, legacy_pdt_check=legacy)
    allowed = zero_dte_allowed(RiskArrays.from_contexts(ctxs), policy)
    assert allowed.tolist() == [evaluate_0dte(c, policy).allowed for c in ctxs]
