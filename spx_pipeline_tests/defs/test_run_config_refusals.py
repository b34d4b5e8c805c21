"""Bad run config is refused at the step's start in one line naming the field and the value.

Dagster checks only types before launch; pydantic constraints run when the step builds its config
(dagster-io/dagster PR #12536). Each case here is a value a person could type in the Launchpad:
the run fails, the failing step's error is a one-line ``dg.Failure`` (not "Error occurred while
executing op" with a pydantic report or an ``InvalidOperation`` as its cause), and nothing was written.
"""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import pytest

from spx_pipeline.defs.execution.assets import FidelityConfig, GuardrailConfig, ReconciliationConfig
from spx_pipeline.defs.execution.placement import PlacementConfig
from spx_pipeline.defs.market_data.assets import ChainConfig
from spx_pipeline.defs.orders.assets import PreviewConfig
from spx_pipeline.defs.recommendations.assets import AdhocRequest, AdhocRiskContext, RecommendationRunConfig
from spx_pipeline.defs.run_config import CheckedConfig, InvalidRunConfig
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv

NAN, INF = float("nan"), float("inf")

# (job, op whose config is bad, field, value)
RUN_CASES: list[tuple[str, str, str, object]] = [
    ("place_order_tickets_job", "order_placements", "max_opening_notional", NAN),
    ("place_order_tickets_job", "order_placements", "max_opening_notional", INF),
    ("place_order_tickets_job", "order_placements", "max_opening_notional", -1.0),
    ("reconciliation_job", "execution_guardrails", "max_p90_ticks", NAN),
    ("reconciliation_job", "execution_guardrails", "max_p90_ticks", INF),
    ("reconciliation_job", "execution_guardrails", "max_p90_ticks", -1.0),
    ("reconciliation_job", "execution_guardrails", "window_sessions", 0),
    ("reconciliation_job", "execution_guardrails", "min_fills", 0),
    ("reconciliation_job", "execution_fidelity", "lookback_sessions", -1),
    ("reconciliation_job", "execution_fidelity", "lookback_sessions", 0),
    ("reconciliation_job", "position_reconciliation", "tolerance_contracts", -1),
    ("reconciliation_job", "position_reconciliation", "history_sessions", 0),
    ("reconciliation_job", "position_reconciliation", "history_sessions", -1),
    ("recommendations_job", "spx_option_chain", "next_sessions", -1),
    ("recommendations_job", "spx_option_chain", "as_of", "1900-01-01"),
    ("recommendations_job", "spx_option_chain", "as_of", "2046-01-02"),
    ("recommendations_job", "spx_option_chain", "as_of", "not-a-date"),
    ("recommendations_job", "contract_recommendations", "max_risk_dollars", NAN),
    ("recommendations_job", "contract_recommendations", "max_risk_dollars", INF),
    ("recommendations_job", "contract_recommendations", "max_risk_dollars", -5.0),
    ("recommendations_job", "contract_recommendations", "max_daily_risk_dollars", NAN),
    ("recommendations_job", "contract_recommendations", "dtbp_floor", NAN),
    ("recommendations_job", "contract_recommendations", "max_spread_pct", NAN),
    ("recommendations_job", "contract_recommendations", "min_volume", -1),
    ("recommendations_job", "contract_recommendations", "fee_per_contract", INF),
    ("recommendations_job", "contract_recommendations", "max_quote_age_seconds", NAN),
    ("recommendations_job", "contract_recommendations", "max_snapshot_age_hours", NAN),
    ("recommendations_job", "contract_recommendations", "max_snapshot_age_hours", -1.0),
]


def _case_id(case: tuple[str, str, str, object]) -> str:
    return f"{case[2]}={case[3]!r}"


def _failures(result: dg.ExecuteInProcessResult) -> list[dg.DagsterEvent]:
    return [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]


@pytest.mark.parametrize("case", RUN_CASES, ids=_case_id)
def test_a_bad_run_config_value_fails_its_step_in_one_line_naming_field_and_value(
    pipeline_env: PipelineEnv, case: tuple[str, str, str, object]
) -> None:
    job, op, field, value = case
    job_def = pipeline_env.defs.resolve_job_def(job)
    run_config: dict[str, Any] = {"ops": {op: {"config": {field: value}}}}
    selection = {} if job == "place_order_tickets_job" else {"asset_selection": [dg.AssetKey(op)]}
    result = job_def.execute_in_process(
        instance=pipeline_env.instance, run_config=run_config, raise_on_error=False, **selection
    )
    assert not result.success
    [failure] = _failures(result)
    assert failure.step_key == op
    data = failure.step_failure_data
    assert data.error is not None and data.error.cls_name == "InvalidRunConfig", data.error
    assert data.user_failure_data is not None
    description = data.user_failure_data.description or ""
    assert "\n" not in description
    assert f"{field}=" in description and repr(value) in description, description
    assert data.error.cause is None


@pytest.mark.parametrize("case", RUN_CASES, ids=_case_id)
def test_the_config_model_refuses_the_value_by_name(case: tuple[str, str, str, object]) -> None:
    models: dict[str, type[CheckedConfig]] = {
        "order_placements": PlacementConfig,
        "execution_guardrails": GuardrailConfig,
        "execution_fidelity": FidelityConfig,
        "position_reconciliation": ReconciliationConfig,
        "spx_option_chain": ChainConfig,
        "contract_recommendations": RecommendationRunConfig,
    }
    _, op, field, value = case
    with pytest.raises(ValueError, match=re.escape(f"{field}={value!r}")) as refused:
        models[op](**{field: value})
    assert isinstance(refused.value, InvalidRunConfig) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (AdhocRiskContext, {"option_buying_power": NAN}, "option_buying_power"),
        (AdhocRiskContext, {"max_risk_dollars": -1.0}, "max_risk_dollars"),
        (AdhocRequest, {"risk_context": {"cash_available": INF}}, "risk_context.cash_available"),
        (AdhocRequest, {"risk_context": {}, "selection": {"min_volume": -3}}, "selection.min_volume"),
        (PreviewConfig, {"legs": ["entry", "moonshot"]}, "legs"),
    ],
)
def test_nested_and_list_fields_are_named_with_their_path(
    model: type[CheckedConfig], values: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRunConfig, match=rf"Invalid run config {model.__name__}: {field}"):
        model(**values)


def test_defaults_and_good_values_are_accepted() -> None:
    for model in (PlacementConfig, GuardrailConfig, FidelityConfig, ReconciliationConfig, ChainConfig):
        model()
    RecommendationRunConfig(max_risk_dollars=250.5, max_daily_risk_dollars=1000.0)
    ChainConfig(as_of="2026-11-24", next_sessions=0)
    ReconciliationConfig(tolerance_contracts=0, history_sessions=1)


def test_the_launchpad_shows_the_range_in_each_numeric_fields_description(pipeline_env: PipelineEnv) -> None:
    """The schema carries types only; the ranges reach the Launchpad through the descriptions."""
    for model in (PlacementConfig, GuardrailConfig, FidelityConfig, ReconciliationConfig, ChainConfig):
        for name, info in model.model_fields.items():
            if info.annotation in (int, float):
                assert info.description, f"{model.__name__}.{name} has no description"


@pytest.mark.parametrize(
    ("op", "field", "value"),
    [
        ("execution_guardrails", "max_p90_ticks", NAN),
        ("position_reconciliation", "history_sessions", 0),
        ("execution_fidelity", "lookback_sessions", -1),
    ],
)
def test_a_later_steps_bad_value_fails_the_reconciliation_run_before_any_broker_is_asked(
    pipeline_env: PipelineEnv, op: str, field: str, value: object
) -> None:
    """The reconciliation run sends exits at its ``trades`` step, before the guardrails step: a bad
    guardrail value must stop it at its first step, not after exits went out."""
    pipeline_env.emulator.reset_log()
    result = pipeline_env.run("reconciliation_job", {"ops": {op: {"config": {field: value}}}})
    assert not result.success
    [failure] = _failures(result)
    assert failure.step_key == "broker_state", failure.step_key
    data = failure.step_failure_data
    assert data.error is not None and data.error.cls_name == "InvalidRunConfig", data.error
    description = (data.user_failure_data.description if data.user_failure_data else "") or ""
    assert f"{field}={value!r}" in description and "\n" not in description, description
    assert pipeline_env.emulator.request_count() == 0
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert started == {"broker_state"}
