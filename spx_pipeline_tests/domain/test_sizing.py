"""Risk context validation, fingerprint stability, the 0DTE gate and contract sizing."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.sizing import (
    RiskContext,
    ZeroDtePolicy,
    evaluate_0dte,
    size_position,
)
from spx_pipeline.domain.sizing_batch import RiskArrays, size_positions, units_to_decimal, zero_dte_allowed

D = Decimal


# --- RiskContext --------------------------------------------------------------------------------


def test_build_converts_money_and_floats_go_through_str() -> None:
    ctx = RiskContext.build(max_risk_dollars=0.1, option_buying_power="1000.50", cash_available=3)
    assert ctx.max_risk_dollars == D("0.1")
    assert ctx.option_buying_power == D("1000.50")
    assert ctx.cash_available == D(3)
    assert isinstance(ctx.cash_available, Decimal)


@pytest.mark.parametrize(
    "field", ["day_trade_buying_power", "max_risk_dollars", "option_buying_power", "cash_available"]
)
@pytest.mark.parametrize("bad", [-1, "-0.01", float("nan"), float("inf"), "abc", True])
def test_bad_money_refused_naming_field_and_value(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=field) as info:
        RiskContext.build(**{field: bad})  # type: ignore[arg-type]
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_unknown_account_type_refused() -> None:
    with pytest.raises(ValueError, match=r"account_type.*'ira'"):
        RiskContext.build(account_type="ira")


def test_pdt_qualified_must_be_bool_or_none() -> None:
    with pytest.raises(ValueError, match=r"pdt_qualified.*'yes please'"):
        RiskContext(pdt_qualified="yes please")  # type: ignore[arg-type]
    assert RiskContext(pdt_qualified=np.bool_(True)).pdt_qualified is True  # type: ignore[arg-type]


def test_from_mapping_accepts_seed_camel_case_and_refuses_unknown_keys() -> None:
    ctx = RiskContext.from_mapping(
        {"dayTradeBuyingPower": "30000", "maxRiskDollars": 500, "pdtQualified": "false", "accountType": "pdt"}
    )
    assert ctx == RiskContext.build(
        day_trade_buying_power=30000, max_risk_dollars=500, pdt_qualified=False, account_type="pdt"
    )
    with pytest.raises(ValueError, match="'max_risk'"):
        RiskContext.from_mapping({"max_risk": 500})
    with pytest.raises(ValueError, match=r"pdt_qualified.*'maybe'"):
        RiskContext.from_mapping({"pdt_qualified": "maybe"})


@pytest.mark.parametrize(
    ("account_type", "expected"),
    [("margin", D(2000)), ("pdt", D(2000)), ("cash", D(700)), (None, D(700))],
)
def test_buying_power_depends_on_account_type(account_type: str | None, expected: Decimal) -> None:
    ctx = RiskContext.build(option_buying_power=2000, cash_available=700, account_type=account_type)
    assert ctx.buying_power() == expected


def test_buying_power_unknown() -> None:
    assert RiskContext().buying_power() is None
    assert RiskContext.build(account_type="margin").buying_power() is None
    assert RiskContext.build(option_buying_power=5).buying_power() == D(5)


@pytest.mark.parametrize(
    ("account_type", "reported", "expected"),
    [
        ("margin", {"cash_available": 250}, D(250)),
        ("pdt", {"cash_available": 250}, D(250)),
        ("cash", {"option_buying_power": 250}, D(250)),
        ("margin", {"option_buying_power": 900, "cash_available": 250}, D(900)),
        ("cash", {"option_buying_power": 250, "cash_available": 900}, D(900)),
    ],
)
def test_buying_power_falls_back_to_the_other_reported_figure(
    account_type: str, reported: dict[str, int], expected: Decimal
) -> None:
    """A known type whose own figure is missing must not leave the account uncapped."""
    ctx = RiskContext.build(account_type=account_type, max_risk_dollars=5000, **reported)  # type: ignore[arg-type]
    assert ctx.buying_power() == expected
    result = size_position(ctx, "1.15", fee_per_contract=0)
    if expected == D(250):
        assert (result.contracts, result.binding_constraint) == (2, "buying_power")
        assert "$250.00" in result.reason
    assert "not reported" not in result.reason
    batch = size_positions(RiskArrays.from_contexts([ctx]), 1.15, fee_per_contract=0)
    assert batch.contracts.tolist() == [result.contracts]


# --- fingerprint --------------------------------------------------------------------------------

BASE = RiskContext.build(
    day_trade_buying_power="30000",
    max_risk_dollars="500",
    pdt_qualified=True,
    option_buying_power="10000",
    cash_available="2000",
    account_type="margin",
)


def test_fingerprint_is_short_hex_and_ignores_decimal_spelling() -> None:
    fp = BASE.fingerprint()
    assert len(fp) == 16
    int(fp, 16)
    same = dataclasses.replace(BASE, max_risk_dollars=D("500.00"), option_buying_power=D("1E+4"))
    assert same.fingerprint() == fp


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("day_trade_buying_power", D("30000.01")),
        ("day_trade_buying_power", None),
        ("max_risk_dollars", D("501")),
        ("pdt_qualified", False),
        ("pdt_qualified", None),
        ("option_buying_power", D("9999")),
        ("cash_available", D("0")),
        ("account_type", "pdt"),
        ("account_type", None),
    ],
)
def test_every_sizing_field_changes_the_fingerprint(field: str, value: object) -> None:
    assert dataclasses.replace(BASE, **{field: value}).fingerprint() != BASE.fingerprint()


def test_fingerprint_is_stable_across_processes() -> None:
    code = (
        "from spx_pipeline.domain.sizing import RiskContext;"
        "print(RiskContext.build(day_trade_buying_power='30000', max_risk_dollars=500.0, pdt_qualified=True,"
        " option_buying_power=10000, cash_available='2000.00', account_type='margin').fingerprint())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == BASE.fingerprint()


# --- 0DTE policy --------------------------------------------------------------------------------


def test_not_pdt_qualified_blocks_only_with_legacy_check() -> None:
    ctx = RiskContext.build(pdt_qualified=False, day_trade_buying_power=50000)
    decision = evaluate_0dte(ctx, ZeroDtePolicy())
    assert not decision.allowed
    assert "not PDT-qualified" in decision.reason
    assert evaluate_0dte(ctx, ZeroDtePolicy(legacy_pdt_check=False)).allowed


def test_unknown_pdt_status_does_not_block() -> None:
    decision = evaluate_0dte(RiskContext.build(pdt_qualified=None), ZeroDtePolicy())
    assert decision.allowed
    assert "not reported" in decision.reason


def test_dtbp_below_floor_blocks_and_names_numbers() -> None:
    ctx = RiskContext.build(pdt_qualified=True, day_trade_buying_power="12000")
    decision = evaluate_0dte(ctx, ZeroDtePolicy())
    assert not decision.allowed
    assert "$12,000.00" in decision.reason
    assert "$25,000.00" in decision.reason
    assert evaluate_0dte(ctx, ZeroDtePolicy(dtbp_floor=D(10000))).allowed
    assert evaluate_0dte(ctx, ZeroDtePolicy(dtbp_floor=D(0))).allowed


def test_dtbp_at_floor_is_allowed_and_unknown_dtbp_does_not_block() -> None:
    assert evaluate_0dte(RiskContext.build(day_trade_buying_power=25000)).allowed
    assert evaluate_0dte(RiskContext.build(pdt_qualified=True)).allowed


def test_both_problems_are_reported() -> None:
    decision = evaluate_0dte(RiskContext.build(pdt_qualified=False, day_trade_buying_power=100))
    assert "PDT" in decision.reason
    assert "$100.00" in decision.reason


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="dtbp_floor"):
        ZeroDtePolicy(dtbp_floor=D(-1))
    with pytest.raises(ValueError, match="legacy_pdt_check"):
        ZeroDtePolicy(legacy_pdt_check="yes")  # type: ignore[arg-type]
    assert ZeroDtePolicy(dtbp_floor=1000).dtbp_floor == D(1000)  # type: ignore[arg-type]


# --- size_position ------------------------------------------------------------------------------

RISK_500 = RiskContext.build(max_risk_dollars=500)


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
    ctx = RiskContext.build(max_risk_dollars=500, option_buying_power=300, account_type="margin")
    result = size_position(ctx, "1.15", stop_premium="0.60", fee_per_contract=0)
    assert result.contracts == 2
    assert result.binding_constraint == "buying_power"
    assert "$300.00" in result.reason


def test_cash_account_uses_cash_available() -> None:
    ctx = RiskContext.build(
        max_risk_dollars=5000, option_buying_power=100000, cash_available=250, account_type="cash"
    )
    assert size_position(ctx, "1.15", fee_per_contract=0).contracts == 2


def test_zero_when_max_risk_below_one_contract() -> None:
    result = size_position(RiskContext.build(max_risk_dollars=100), "4.20")
    assert result.contracts == 0
    assert result.cost == 0
    assert result.reason.startswith("No trade")
    assert "$100.00" in result.reason
    assert "$420.65" in result.reason


def test_zero_when_buying_power_below_one_contract() -> None:
    ctx = RiskContext.build(max_risk_dollars=1000, cash_available=50, account_type="cash")
    result = size_position(ctx, "1.15")
    assert (result.contracts, result.binding_constraint) == (0, "buying_power")
    assert "does not cover" in result.reason


def test_no_risk_budget_and_default_max_risk() -> None:
    none = size_position(RiskContext(), "1.15")
    assert (none.contracts, none.binding_constraint) == (0, "no_risk_budget")
    assert "no max risk" in none.reason
    zero = size_position(RiskContext.build(max_risk_dollars=0), "1.15", default_max_risk=1000)
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

money = st.one_of(
    st.none(), st.integers(min_value=0, max_value=60_000).map(D), st.decimals("0", "9999.9999", places=4)
)
contexts = st.builds(
    RiskContext,
    day_trade_buying_power=money,
    max_risk_dollars=money,
    pdt_qualified=st.sampled_from([True, False, None]),
    option_buying_power=money,
    cash_available=money,
    account_type=st.sampled_from(["margin", "cash", "pdt", None]),
)
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
        reason = batch.reason(i, RiskArrays.from_contexts(ctxs), premium=premium, stop_premium=stop)
        assert reason == scalar.reason


@settings(max_examples=60, deadline=None)
@given(ctxs=st.lists(contexts, min_size=1, max_size=20))
def test_risk_arrays_buying_power_matches_scalar_and_the_fallback_rule(ctxs: list[RiskContext]) -> None:
    arrays = RiskArrays.from_contexts(ctxs)
    for ctx, units in zip(ctxs, arrays.buying_power.tolist(), strict=True):
        scalar = ctx.buying_power()
        assert (units == -1) == (scalar is None)
        if scalar is not None:
            assert units_to_decimal(units) == scalar.quantize(D("0.0001"), rounding="ROUND_FLOOR")
        own, other = (
            (ctx.cash_available, ctx.option_buying_power)
            if ctx.account_type == "cash"
            else (ctx.option_buying_power, ctx.cash_available)
        )
        reported = [v for v in (own, other) if v is not None]
        if ctx.account_type is None:
            assert scalar == (min(reported) if reported else None)
        else:
            assert scalar == (own if own is not None else other)


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


def test_size_positions_invalid_premium_row_does_not_raise() -> None:
    risk = RiskArrays.from_contexts([RISK_500, RISK_500])
    batch = size_positions(risk, np.array([0.0, 1.15]))
    assert batch.contracts.tolist() == [0, 4]
    assert batch.binding_constraint.tolist() == ["invalid_premium", "max_risk"]


def test_size_positions_refuses_sub_hundredth_cent_fee() -> None:
    with pytest.raises(ValueError, match="fee_per_contract"):
        size_positions(RiskArrays.from_contexts([RISK_500]), 1.15, fee_per_contract=D("0.00001"))
