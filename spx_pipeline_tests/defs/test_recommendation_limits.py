"""The recommendation assets end to end: one budget per account, fresh data only, one default max risk."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.definitions import defs as code_location
from spx_pipeline.defs.recommendations.assets import RecommendationRunConfig
from spx_pipeline.domain.risk_context import DEFAULT_MAX_RISK_DOLLARS
from spx_pipeline.emulator import EmulatedAccount
from spx_pipeline.emulator.sample_data import synthetic_spx_chain
from spx_pipeline.transformations.chain import chain_rows
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return str(failure.event_specific_data.error.message)


def _adhoc(env: PipelineEnv, risk_context: dict[str, Any], **selection: Any) -> dg.ExecuteInProcessResult:
    config: dict[str, Any] = {"risk_context": risk_context, "label": "what-if"}
    if selection:
        config["selection"] = selection
    return env.run("adhoc_recommendation_job", {"ops": {"adhoc_recommendations": {"config": config}}})


def _adhoc_rows(env: PipelineEnv, result: dg.ExecuteInProcessResult) -> pd.DataFrame:
    return env.warehouse().query(
        "SELECT * FROM adhoc_contract_recommendations WHERE request_run_id = ? ORDER BY setup_id",
        [result.run_id],
    )


def test_one_default_max_risk_shows_in_the_ui_run_config_the_demo_and_the_readme() -> None:
    job = code_location.resolve_job_def("full_pipeline_job")
    ops = job.run_config_schema.config_type.fields["ops"].config_type
    fields = ops.fields["contract_recommendations"].config_type.fields["config"].config_type.fields
    assert fields["max_risk_dollars"].default_value == float(DEFAULT_MAX_RISK_DOLLARS)
    assert fields["max_quote_age_seconds"].default_value == 300.0  # the quote-age filter is on
    assert RecommendationRunConfig().max_risk_dollars == float(DEFAULT_MAX_RISK_DOLLARS)
    assert f"${DEFAULT_MAX_RISK_DOLLARS:,}" in README.read_text(encoding="utf-8")


def test_adhoc_sizes_with_the_selection_max_risk_refuses_absurd_input_and_stale_quotes(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    assert env.run("portfolio_sync_job").success
    assert env.run("recommendations_job").success
    state = {"option_buying_power": 20000, "account_type": "margin", "pdt_qualified": True}

    # No maxRiskDollars in the request: selection.max_risk_dollars sizes it (it used to size to zero).
    sized = _adhoc(env, state, max_risk_dollars=800)
    assert sized.success
    rows = _adhoc_rows(env, sized)
    assert rows["sizing_reason"].str.contains(r"max risk \$800\.00").all()
    assert (rows.loc[~rows["blocked"], "suggested_contracts"] >= 1).all()
    assert (~rows["blocked"]).any()

    # Absurd money is one clear line naming the field, not an OverflowError; nothing is written.
    absurd = _adhoc(env, {**state, "max_risk_dollars": 1e308})
    assert not absurd.success
    assert "risk_context.max_risk_dollars=1e+308: Input should be less than or equal to 1000000000" in (
        _failure_message(absurd)
    )
    assert _adhoc_rows(env, absurd).empty

    # Ten minutes later the stored chain's quotes are stale: nothing tradable, and the reason says so.
    env.set_now(env.clock.now() + timedelta(minutes=10))
    stale = _adhoc_rows(env, _adhoc(env, state))
    assert stale["blocked"].all()
    assert stale["blocked_reason"].str.startswith("Quotes older than 0:05:00").all()
    relaxed = _adhoc_rows(env, _adhoc(env, state, max_quote_age_seconds=3600))
    assert (~relaxed["blocked"]).any()


def test_a_stale_chain_stops_scheduled_and_adhoc_recommendations_naming_its_date(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    assert env.run("portfolio_sync_job").success
    old_day = date(2025, 12, 19)
    captured = datetime(2025, 12, 19, 15, tzinfo=UTC)
    rows = chain_rows(
        synthetic_spx_chain(old_day, strikes_each_side=6, now=captured),
        trading_day=old_day,
        run_id="old-run",
        captured_at=captured,
    )
    env.warehouse().replace_rows("spx_option_chain", rows, key_columns=["run_id", "symbol"])

    adhoc = _adhoc(env, {"max_risk_dollars": 2500, "option_buying_power": 20000, "account_type": "margin"})
    assert not adhoc.success
    assert "option chain in the warehouse is for 2025-12-19 (run old-run" in _failure_message(adhoc)
    assert "not the 2026-11-24 session" in _failure_message(adhoc)
    assert env.count("adhoc_contract_recommendations") == 0

    scheduled = env.execute(
        env.defs,
        "__ASSET_JOB",
        asset_selection=[dg.AssetKey("contract_recommendations")],
        raise_on_error=False,
    )
    assert not scheduled.success
    assert "is for 2025-12-19" in _failure_message(scheduled)
    assert env.count("contract_recommendations") == 0


def test_tickets_never_spend_more_than_an_accounts_buying_power_or_its_dtbp(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    small_cash = EmulatedAccount(
        account_id="VA00000021",
        token="small-cash-token-0021",
        account_type="cash",
        total_equity=Decimal("1000"),
        cash=Decimal("1000"),
    )
    tight_pdt = EmulatedAccount(
        account_id="VA00000022",
        token="tight-pdt-token-0022",
        account_type="pdt",
        total_equity=Decimal("101250.40"),
        cash=Decimal("100820.40"),
        option_buying_power=Decimal("95820.40"),
        day_trade_buying_power=Decimal("1500"),
    )
    env = pipeline_env_factory(accounts=[small_cash, tight_pdt])
    assert env.run("portfolio_sync_job").success
    selection = {"dtbp_floor": 0.0}  # let the tight DTBP account trade 0DTE, capped by its DTBP
    result = env.run("recommendations_job", {"ops": {"contract_recommendations": {"config": selection}}})
    assert result.success
    recs = env.warehouse().query("SELECT * FROM contract_recommendations ORDER BY account_id, setup_id")
    assert len(recs) == 4
    assert (recs["blocked"] != (recs["suggested_contracts"] >= 1)).all()  # tradable xor blocked
    materialization = result.asset_materializations_for_node("contract_recommendations")[0]
    counts = {k: materialization.metadata[k].value for k in ("tradable", "blocked")}
    assert counts == {"tradable": int((~recs["blocked"]).sum()), "blocked": int(recs["blocked"].sum())}
    assert recs["blocked"].any() and (~recs["blocked"]).any()
    dtbp_bound = recs[recs["binding_constraint"] == "day_trade_buying_power"]
    assert len(dtbp_bound) >= 1 and dtbp_bound["sizing_reason"].str.contains("day-trade buying power").all()

    assert env.run("order_tickets_job").success
    entries = env.warehouse().query("SELECT * FROM order_tickets WHERE leg = 'entry'")
    entries["cost"] = [
        Decimal(str(p)) * 100 * q + Decimal("0.65") * q
        for p, q in zip(entries["price"], entries["quantity"], strict=True)
    ]
    spent = entries.groupby("account_id")["cost"].sum()
    assert spent["VA00000021"] <= Decimal("1000")  # settled cash of the cash account
    assert spent["VA00000022"] <= Decimal("1500")  # every pdt row is a same-day trade: DTBP caps them
    blocked = recs[recs["blocked"]]
    assert not set(zip(blocked["account_id"], blocked["setup_id"], strict=True)) & set(
        zip(entries["account_id"], entries["setup_id"], strict=True)
    )


def test_absurd_selection_settings_fail_with_one_line_naming_the_setting() -> None:
    """Out of range at construction (run config checks), or in the domain's own rules (checked())."""
    for settings, field in [
        ({"max_risk_dollars": 1e308}, "max_risk_dollars=1e+308"),
        ({"max_daily_risk_dollars": -5.0}, "max_daily_risk_dollars=-5.0"),
        ({"max_quote_age_seconds": 0.0}, "max_quote_age_seconds=0.0"),
        ({"max_spread_pct": 0.123456}, "max_spread_pct"),
    ]:
        with pytest.raises(dg.Failure, match=re.escape(field)) as info:
            RecommendationRunConfig(**settings).checked()
        assert "\n" not in str(info.value.description)
