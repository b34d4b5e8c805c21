"""Risk context validation, the buying-power rule, fingerprint stability and the columnar form."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.money import units_to_decimal
from spx_pipeline.domain.risk_context import FINGERPRINT_VERSION, MONEY_FIELDS, RiskArrays, RiskContext
from spx_pipeline.domain.sizing import size_position
from spx_pipeline.domain.sizing_batch import size_positions
from spx_pipeline_tests.domain import strategies
from spx_pipeline_tests.domain.strategies import contexts

D = Decimal


# --- RiskContext --------------------------------------------------------------------------------


def test_build_converts_money_and_floats_go_through_str() -> None:
    ctx = RiskContext(max_risk_dollars=0.1, option_buying_power="1000.50", cash_available=3)
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
        RiskContext(**{field: bad})  # type: ignore[arg-type]
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_unknown_account_type_refused() -> None:
    with pytest.raises(ValueError, match=r"account_type.*'ira'"):
        RiskContext(account_type="ira")


def test_pdt_qualified_must_be_bool_or_none() -> None:
    with pytest.raises(ValueError, match=r"pdt_qualified.*'yes please'"):
        RiskContext(pdt_qualified="yes please")  # type: ignore[arg-type]
    assert RiskContext(pdt_qualified=np.bool_(True)).pdt_qualified is True  # type: ignore[arg-type]


def test_from_mapping_accepts_seed_camel_case_and_refuses_unknown_keys() -> None:
    ctx = RiskContext.from_mapping(
        {"dayTradeBuyingPower": "30000", "maxRiskDollars": 500, "pdtQualified": "false", "accountType": "pdt"}
    )
    assert ctx == RiskContext(
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
    ctx = RiskContext(option_buying_power=2000, cash_available=700, account_type=account_type)
    assert ctx.buying_power() == expected


def test_buying_power_unknown() -> None:
    assert RiskContext().buying_power() is None
    assert RiskContext(account_type="margin").buying_power() is None
    assert RiskContext(option_buying_power=5).buying_power() == D(5)


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
    ctx = RiskContext(account_type=account_type, max_risk_dollars=5000, **reported)  # type: ignore[arg-type]
    assert ctx.buying_power() == expected
    result = size_position(ctx, "1.15", fee_per_contract=0)
    if expected == D(250):
        assert (result.contracts, result.binding_constraint) == (2, "buying_power")
        assert "$250.00" in result.reason
    assert "not reported" not in result.reason
    batch = size_positions(RiskArrays.from_contexts([ctx]), 1.15, fee_per_contract=0)
    assert batch.contracts.tolist() == [result.contracts]


# --- fingerprint --------------------------------------------------------------------------------

BASE = RiskContext(
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
        "from spx_pipeline.domain.risk_context import RiskContext;"
        "print(RiskContext(day_trade_buying_power='30000', max_risk_dollars=500.0, pdt_qualified=True,"
        " option_buying_power=10000, cash_available='2000.00', account_type='margin').fingerprint())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == BASE.fingerprint()


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


def _json_dumps_fingerprint(ctx: RiskContext) -> str:
    """The fingerprint as ``json.dumps`` of a dict wrote it: the reference the direct JSON matches."""
    payload = {
        "v": FINGERPRINT_VERSION,
        "account_type": ctx.account_type,
        "pdt_qualified": ctx.pdt_qualified,
        **{
            name: None if getattr(ctx, name) is None else format(getattr(ctx, name).normalize(), "f")
            for name in MONEY_FIELDS
            if name != "max_daily_risk_dollars" or ctx.max_daily_risk_dollars is not None
        },
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@settings(max_examples=500, deadline=None)
@given(
    ctx=strategies.contexts,
    daily=st.one_of(st.none(), strategies.money, st.sampled_from(["0", "0.0001", "1E+3", "100.10", 5e-5])),
)
def test_the_fingerprint_is_the_json_dumps_one_byte_for_byte(ctx: RiskContext, daily: object) -> None:
    ctx = dataclasses.replace(ctx, max_daily_risk_dollars=daily)
    assert ctx.fingerprint() == _json_dumps_fingerprint(ctx)
