"""Contract sizing: the reference examples, every cap named, and the batch path equal to the scalar one."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.money import units_to_decimal
from spx_pipeline.domain.risk_context import RiskArrays, RiskContext
from spx_pipeline.domain.sizing import Committed, size_position
from spx_pipeline.domain.sizing_batch import CommittedArrays, size_positions
from spx_pipeline.domain.sizing_reasons import dollars, dollars_of_units, sizing_reason
from spx_pipeline_tests.domain.strategies import contexts

D = Decimal


# --- size_position ------------------------------------------------------------------------------

RISK_500 = RiskContext(max_risk_dollars=500)


@pytest.mark.parametrize(
    ("premium", "stop", "fee", "contracts"),
    [
        ("4.20", None, "0", 1),
        ("1.15", None, "0", 4),
        ("1.15", "0.60", "0", 9),
        ("4.20", None, "0.65", 1),
        ("1.15", None, "0.65", 4),
        ("1.15", "0.60", "0.65", 8),
    ],
)
def test_reference_worked_examples(premium: str, stop: str | None, fee: str, contracts: int) -> None:
    result = size_position(RISK_500, D(premium), stop_premium=stop, fee_per_contract=D(fee))
    assert result.contracts == contracts
    assert result.binding_constraint == "max_risk"
    assert result.cost == (D(premium) * 100 + D(fee)) * contracts
    expected_risk = (D(premium) - D(stop or 0)) * 100 + D(fee)
    assert result.risk_per_contract == expected_risk


def test_default_fee_cost_of_four_at_115() -> None:
    result = size_position(RISK_500, "1.15")
    assert result.cost == D("462.60")
    assert "4 contract(s)" in result.reason


def test_buying_power_caps_and_is_named() -> None:
    ctx = RiskContext(max_risk_dollars=500, option_buying_power=300, account_type="margin")
    result = size_position(ctx, "1.15", stop_premium="0.60", fee_per_contract=0)
    assert result.contracts == 2
    assert result.binding_constraint == "buying_power"
    assert "$300.00" in result.reason


def test_cash_account_uses_cash_available() -> None:
    ctx = RiskContext(
        max_risk_dollars=5000, option_buying_power=100000, cash_available=250, account_type="cash"
    )
    assert size_position(ctx, "1.15", fee_per_contract=0).contracts == 2


def test_zero_when_max_risk_below_one_contract() -> None:
    result = size_position(RiskContext(max_risk_dollars=100), "4.20")
    assert result.contracts == 0
    assert result.cost == 0
    assert result.reason.startswith("No trade")
    assert "$100.00" in result.reason
    assert "$420.65" in result.reason


def test_zero_when_buying_power_below_one_contract() -> None:
    ctx = RiskContext(max_risk_dollars=1000, cash_available=50, account_type="cash")
    result = size_position(ctx, "1.15")
    assert (result.contracts, result.binding_constraint) == (0, "buying_power")
    assert "does not cover" in result.reason


def test_no_risk_budget_and_default_max_risk() -> None:
    none = size_position(RiskContext(), "1.15")
    assert (none.contracts, none.binding_constraint) == (0, "no_risk_budget")
    assert "no max risk" in none.reason
    zero = size_position(RiskContext(max_risk_dollars=0), "1.15", default_max_risk=1000)
    assert (zero.contracts, zero.binding_constraint) == (0, "no_risk_budget")
    fallback = size_position(RiskContext(), "1.15", default_max_risk=500, fee_per_contract=0)
    assert fallback.contracts == 4
    assert "buying power not reported" in fallback.reason


@pytest.mark.parametrize(
    ("stop", "match"), [("1.15", "below the entry"), ("2", "below the entry"), ("-0.1", "negative")]
)
def test_bad_stop_refused(stop: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        size_position(RISK_500, "1.15", stop_premium=stop)


@pytest.mark.parametrize("premium", ["0", "-1", "nan", None])
def test_bad_premium_refused(premium: object) -> None:
    with pytest.raises(ValueError, match="premium"):
        size_position(RISK_500, premium)  # type: ignore[arg-type]


def test_bad_fee_refused() -> None:
    with pytest.raises(ValueError, match="fee_per_contract"):
        size_position(RISK_500, "1.15", fee_per_contract=-1)


# --- vectorized agrees with scalar --------------------------------------------------------------

premiums = st.integers(min_value=1, max_value=2000).map(lambda c: D(c) * D("0.05"))


@settings(max_examples=60, deadline=None)
@given(
    ctxs=st.lists(contexts, min_size=1, max_size=20),
    premium=premiums,
    stop=st.one_of(st.none(), st.sampled_from([D("0"), D("0.60"), D("2.50")])),
    fee=st.sampled_from([D("0"), D("0.65"), D("1.3")]),
    default=st.one_of(st.none(), st.just(D("750"))),
)
def test_size_positions_matches_size_position(
    ctxs: list[RiskContext], premium: Decimal, stop: Decimal | None, fee: Decimal, default: Decimal | None
) -> None:
    batch = size_positions(
        RiskArrays.from_contexts(ctxs),
        float(premium),
        stop_premium=stop,
        fee_per_contract=fee,
        default_max_risk=default,
    )
    for i, ctx in enumerate(ctxs):
        if stop is not None and stop >= premium:
            assert batch.binding_constraint[i] == "stop_not_below_entry"
            assert batch.contracts[i] == 0
            continue
        scalar = size_position(
            ctx, premium, stop_premium=stop, fee_per_contract=fee, default_max_risk=default
        )
        assert batch.contracts[i] == scalar.contracts
        assert batch.binding_constraint[i] == scalar.binding_constraint
        assert units_to_decimal(batch.cost_units[i]) == scalar.cost
        assert units_to_decimal(batch.risk_per_contract_units[i]) == scalar.risk_per_contract
        reason = batch.reason(i, premium=premium)
        assert reason == scalar.reason


def test_size_positions_invalid_premium_row_does_not_raise() -> None:
    risk = RiskArrays.from_contexts([RISK_500, RISK_500])
    batch = size_positions(risk, np.array([0.0, 1.15]))
    assert batch.contracts.tolist() == [0, 4]
    assert batch.binding_constraint.tolist() == ["invalid_premium", "max_risk"]


def test_size_positions_refuses_sub_hundredth_cent_fee() -> None:
    with pytest.raises(ValueError, match="fee_per_contract"):
        size_positions(RiskArrays.from_contexts([RISK_500]), 1.15, fee_per_contract=D("0.00001"))


@settings(max_examples=60, deadline=None)
@given(
    ctxs=st.lists(contexts, min_size=1, max_size=20),
    premium=premiums,
    stop=st.one_of(st.none(), st.sampled_from([D("0"), D("0.60")])),
    same_day=st.booleans(),
    spent=st.integers(min_value=0, max_value=5_000_000),
)
def test_sentences_quote_the_figures_that_were_sized(
    ctxs: list[RiskContext], premium: Decimal, stop: Decimal | None, same_day: bool, spent: int
) -> None:
    """Cost and risk are computed once: the sentence's figures are the batch's own columns."""
    risk = RiskArrays.from_contexts(ctxs)
    n = len(ctxs)
    committed = CommittedArrays(np.full(n, spent), np.full(n, spent // 2), np.full(n, spent // 3))
    batch = size_positions(risk, float(premium), stop_premium=stop, same_day=same_day, committed=committed)
    facts = batch.facts()
    reasons = batch.reasons([premium] * n)
    for i, row in enumerate(facts):
        if row is None:  # nothing sized: no budget, or a stop not below the entry
            assert batch.contracts[i] == 0
            continue
        assert row.contracts == batch.contracts[i]
        assert row.binding == batch.binding_constraint[i]
        assert row.cost_each * row.contracts == units_to_decimal(batch.cost_units[i])
        assert row.risk_each == units_to_decimal(batch.risk_per_contract_units[i])
        assert reasons[i] == sizing_reason(row)
        scalar = size_position(
            ctxs[i],
            premium,
            stop_premium=stop,
            same_day=same_day,
            committed=Committed(
                cost=units_to_decimal(spent), same_day_cost=units_to_decimal(spent // 2),
                risk=units_to_decimal(spent // 3),
            ),
        )  # fmt: skip
        assert (scalar.contracts, scalar.cost, scalar.risk_per_contract, scalar.reason) == (
            row.contracts,
            row.cost_each * row.contracts,
            row.risk_each,
            reasons[i],
        )


@settings(max_examples=500, deadline=None)
@given(
    units=st.one_of(st.integers(-(10**6), 10**16), st.sampled_from([0, 50, 150, 250, 349, 350, 12_345_650]))
)
def test_units_are_written_as_dollars_writes_their_decimal(units: int) -> None:
    """Half-even to the cent and grouped by thousands, without building a Decimal."""
    assert dollars_of_units(units) == dollars(units_to_decimal(units))
