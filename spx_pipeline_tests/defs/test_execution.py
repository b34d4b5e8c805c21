"""Placement and reconciliation end to end on the filling local server, through Dagster."""

from __future__ import annotations

import re
from datetime import timedelta

import dagster as dg
import pytest

from spx_pipeline.emulator import EmulatorConfig, SimulationConfig, demo_accounts
from spx_pipeline.storage.app.placements import read_placements, read_setup_fidelity
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory
from spx_pipeline_tests.fixtures.simulation import PDT

HAND_HELD = "SPXW261218P05800000"


@pytest.fixture
def env(pipeline_env_factory: PipelineEnvFactory) -> PipelineEnv:
    config = EmulatorConfig(accounts=demo_accounts(), simulation=SimulationConfig(seed=7))
    env = pipeline_env_factory(emulator_config=config)
    assert env.run("full_pipeline_job").success
    return env


def orders(env: PipelineEnv) -> list[dict[str, object]]:
    """Orders the server holds for the PDT account (placed ones only: previews are not orders)."""
    return env.emulator.orders(PDT)


def place(env: PipelineEnv, confirm: str | None = None, **config: object) -> dg.ExecuteInProcessResult:
    """A placement run of the PDT account: a real one (dry_run false) unless told otherwise."""
    run_config = {"account_id": PDT, "dry_run": False, **config, **({"confirm": confirm} if confirm else {})}
    return env.run("place_order_tickets_job", {"ops": {"order_placements": {"config": run_config}}})


def refusal(result: dg.ExecuteInProcessResult) -> str:
    """The one-line description of a refused run (a dg.Failure: no stack trace for a person's refusal)."""
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    data = failure.step_failure_data
    assert data.user_failure_data is not None, data.error  # type: ignore[union-attr]
    return data.user_failure_data.description or ""  # type: ignore[union-attr]


def phrase(result: dg.ExecuteInProcessResult) -> str:
    found = re.search(r"confirm must be '(PLACE \d+)'", refusal(result))
    assert found, refusal(result)
    return found.group(1)


def test_placement_needs_the_confirmation_then_places_once_and_reconciles(env: PipelineEnv) -> None:
    first = place(env)  # no confirmation: refused, and the message says the phrase
    assert orders(env) == []
    entries = phrase(first)
    assert place(env, entries).success
    placed = [p for p in read_placements(env.app_db()) if p["status"] == "placed"]
    assert placed and {p["leg"] for p in placed} == {"entry"}
    assert env.count("published.order_placements", "status = 'placed'") == len(placed)
    env.set_now(env.clock.now() + timedelta(minutes=20))
    # The scheduled reconciliation sends the exits of what filled (closing orders need no phrase).
    assert env.run("reconciliation_job").success
    again = place(env)  # everything is at the broker now: nothing to send, no phrase needed
    assert again.success
    tags = [o["tag"] for o in orders(env)]
    assert len(tags) == len(set(tags))
    with env.app_db().engine.connect() as conn:
        claimed = conn.exec_driver_sql(
            "SELECT count(*) FROM trade_orders WHERE local_status = 'sent'"
        ).scalar()
    assert claimed == len(tags)

    reconciled = env.run("reconciliation_job")
    assert reconciled.success
    verdicts = {e.check_name: e.passed for e in reconciled.get_asset_check_evaluations()}
    assert verdicts == {
        "positions_accounted_for": True,
        "tradier_orders_unique_keys": True,
        "fills_are_priced": True,
        "execution_guardrails_unique_keys": True,
        "every_account_reconciled": True,
        "no_claim_left_unsettled": True,
        "filled_contracts_covered": True,
        "no_unexplained_difference": False,  # the position opened by hand is a real, unexplained one
    }
    statuses = env.warehouse().query(
        "SELECT account_id, option_symbol, status FROM published.position_reconciliation"
    )
    by_key = {(r.account_id, r.option_symbol): r.status for r in statuses.itertuples()}
    assert by_key[(PDT, HAND_HELD)] == "unexpected_at_broker"  # opened by hand, outside the pipeline
    ours = {k: v for k, v in by_key.items() if k[0] == PDT and k[1] != HAND_HELD}
    assert ours and set(ours.values()) <= {"matched"}  # what our fills imply is what the broker holds
    fidelity = env.warehouse().query(
        "SELECT * FROM published.execution_fidelity WHERE leg = 'entry' AND filled_quantity > 0"
    )
    assert len(fidelity) >= 1 and (fidelity["match"] == "tag").all()
    assert (fidelity["fill_price"] <= fidelity["intended_price"]).all()  # a buy limit never fills above it
    assert (fidelity["slippage_ticks"] <= 0).all()
    [shown] = [
        e.event_specific_data.materialization.metadata  # type: ignore[union-attr]
        for e in reconciled.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("execution_fidelity")
    ]
    assert shown["median_entry_slippage_ticks"].value == pytest.approx(
        float(fidelity["slippage_ticks"].median())
    )
    assert env.count("published.tradier_orders", "tag IS NOT NULL") >= len(placed)
    # The app's setups learn how their trades filled (execution-fidelity columns).
    columns = read_setup_fidelity(env.app_db())
    for setup_id in set(fidelity["setup_id"]):
        record = columns[setup_id]
        assert record["broker"] == "tradier" and record["filled_contracts"]
        assert record["entry_fill_price"] is not None and record["entry_slippage"] is not None
        assert str(record["entry_order_tag"]).endswith("-entry")


def test_placement_is_refused_from_a_schedule_above_its_caps_and_for_unknown_tickets(
    env: PipelineEnv,
) -> None:
    job = env.defs.resolve_job_def("place_order_tickets_job")
    config = {
        "ops": {"order_placements": {"config": {"account_id": PDT, "dry_run": False, "confirm": "PLACE 99"}}}
    }
    scheduled = job.execute_in_process(
        instance=env.instance, run_config=config, tags={"dagster/schedule_name": "x"}, raise_on_error=False
    )
    assert "never runs from a schedule or sensor" in refusal(scheduled)
    many = phrase(place(env))
    capped = place(env, dry_run=True, max_opening_notional=1.0)
    [plan] = [e for e in capped.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    metadata = plan.event_specific_data.asset_observation.metadata  # type: ignore[union-attr]
    assert metadata["confirm_phrase"].value == "PLACE 0" != many  # caps skip the entries, nothing else
    assert "exceeds max_opening_notional" in str(metadata["plan"].value)
    unknown = env.run(
        "place_order_tickets_job",
        {
            "ops": {
                "order_placements": {
                    "config": {"ticket_ids": ["nope"], "dry_run": False, "confirm": "PLACE 1"}
                }
            }
        },
    )
    assert "not found" in refusal(unknown)
    assert orders(env) == []
    automated = {s.job_name for s in env.defs.schedules} | {
        j.name for s in env.defs.sensors for j in (s.jobs if s.has_jobs else [])
    }
    assert "place_order_tickets_job" not in automated


def test_a_failed_positions_fetch_is_unknown_never_flat(env: PipelineEnv) -> None:
    from spx_pipeline.emulator import FaultConfig

    env.emulator.set_faults(FaultConfig(failing_accounts=frozenset({PDT}), failing_status=503))
    assert env.run("reconciliation_job").success
    rows = env.warehouse().query(
        "SELECT option_symbol, status, reason FROM published.position_reconciliation WHERE account_id = ?",
        [PDT],
    )
    assert list(rows["status"]) == ["unknown"] and rows["option_symbol"].iloc[0] == ""
    assert env.count("published.sync_failures", "account_id = ? AND stage = 'positions'", [PDT]) == 1
    checks = env.run_checks("every_account_reconciled")
    assert not checks["every_account_reconciled"].passed


def test_the_full_pipeline_never_places_or_reads_orders(env: PipelineEnv) -> None:
    job = env.defs.resolve_job_def("full_pipeline_job")
    keys = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}  # type: ignore[union-attr]
    assert "order_placements" not in keys and "tradier_positions" not in keys and "trades" not in keys
    assert "order_tickets" in keys


def test_a_dry_run_says_the_phrase_and_sends_nothing(env: PipelineEnv) -> None:
    result = place(env, dry_run=True)
    assert result.success
    assert result.get_asset_materialization_events() == []  # a dry run changes nothing: an observation
    [event] = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    metadata = event.event_specific_data.asset_observation.metadata  # type: ignore[union-attr]
    assert metadata["confirm_phrase"].value == phrase(place(env))
    assert orders(env) == [] and read_placements(env.app_db()) == []


def test_the_default_config_is_a_dry_run(env: PipelineEnv) -> None:
    result = env.run(
        "place_order_tickets_job", {"ops": {"order_placements": {"config": {"account_id": PDT}}}}
    )
    assert result.success and orders(env) == []
