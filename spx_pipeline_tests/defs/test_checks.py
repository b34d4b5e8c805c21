"""Every asset's checks pass on a good run and fail when the warehouse breaks their promise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spx_pipeline_tests.fixtures.pipeline import FullRun, PipelineEnv


@pytest.fixture
def ran(full_run: FullRun) -> PipelineEnv:
    """Every check of the code location ran with the pipeline and passed."""
    evaluations = {e.check_name: e for e in full_run.result.get_asset_check_evaluations()}
    graph = full_run.env.defs.resolve_asset_graph()
    # The pipeline's own assets (execution has jobs of its own: tests/defs/test_execution.py).
    selected = full_run.env.defs.resolve_job_def("full_pipeline_job").asset_layer.selected_asset_keys
    assert set(evaluations) == {key.name for key in graph.asset_check_keys if key.asset_key in selected}
    failed = {name: e.metadata for name, e in evaluations.items() if not e.passed}
    assert not failed
    return full_run.env


def _only_run(env: PipelineEnv, table: str) -> str:
    frame = env.warehouse().query(f"SELECT DISTINCT run_id FROM {table}")
    assert len(frame) == 1
    return str(frame["run_id"].iloc[0])


def test_broker_credentials_check_fails_when_the_copy_loses_an_account(ran: PipelineEnv) -> None:
    ran.tamper("DELETE FROM broker_credentials WHERE account_id = 'VA00000002'")
    [result] = ran.run_checks("broker_credentials_match_app_database").values()
    assert not result.passed
    assert result.metadata["missing"].value == "VA00000002"


def test_balances_check_fails_when_an_account_is_neither_synced_nor_failed(ran: PipelineEnv) -> None:
    ran.tamper("DELETE FROM tradier_balances WHERE account_id = 'VA00000003'")
    [result] = ran.run_checks("tradier_balances_accounts_accounted_for").values()
    assert not result.passed
    assert result.metadata["accounts_unaccounted_for"].value == 1


def test_failure_checks_fail_on_a_failure_without_a_reason(ran: PipelineEnv) -> None:
    run_id = _only_run(ran, "tradier_balances")
    ran.tamper(
        "INSERT INTO sync_failures VALUES (?, 'VA00000001', 'balances', now(), 'TradierError', NULL, '  ')",
        [run_id],
    )
    results = ran.run_checks("sync_failures_have_reasons", "tradier_balances_accounts_accounted_for")
    assert not results["sync_failures_have_reasons"].passed
    assert results["sync_failures_have_reasons"].metadata["without_reason"].value == "VA00000001"
    balances = results["tradier_balances_accounts_accounted_for"]
    assert not balances.passed
    assert balances.metadata["synced_and_failed"].value == "VA00000001"


def test_chain_check_fails_on_crossed_quotes_and_missing_greeks(ran: PipelineEnv) -> None:
    symbols = ran.warehouse().query(
        "SELECT symbol FROM spx_option_chain WHERE bid > 0 ORDER BY symbol LIMIT 2"
    )
    crossed, greekless = symbols["symbol"]
    ran.tamper("UPDATE spx_option_chain SET bid = ask + 1 WHERE symbol = ?", [crossed])
    ran.tamper("UPDATE spx_option_chain SET delta = NULL WHERE symbol = ?", [greekless])
    [result] = ran.run_checks("spx_option_chain_session_greeks_quotes").values()
    assert not result.passed
    assert result.metadata["crossed_quotes"].value == 1
    assert result.metadata["crossed_examples"].value == crossed
    assert result.metadata["quotes_without_greeks"].value == 1


def test_chain_check_fails_when_the_chain_is_not_todays_session(ran: PipelineEnv) -> None:
    ran.set_now(ran.clock.now() + timedelta(days=1))  # Wednesday: the stored chain is Tuesday's
    [result] = ran.run_checks("spx_option_chain_session_greeks_quotes").values()
    assert not result.passed
    assert result.metadata["session"].value == "2026-11-25"


def test_ticket_checks_fail_on_an_off_grid_price_and_a_missing_entry(ran: PipelineEnv) -> None:
    tickets = ran.warehouse().query(
        "SELECT ticket_id, payload_json, account_id, setup_id FROM order_tickets WHERE leg = 'entry' "
        "ORDER BY ticket_id"
    )
    off_grid, dropped = tickets.iloc[0], tickets.iloc[1]
    # 1.03 is between the $0.05 ticks of prices under $3.
    ran.tamper(
        'UPDATE order_tickets SET payload_json = json_merge_patch(payload_json, \'{"price": "1.03"}\') '
        "WHERE ticket_id = ?",
        [off_grid["ticket_id"]],
    )
    ran.tamper("DELETE FROM order_tickets WHERE ticket_id = ?", [dropped["ticket_id"]])
    results = ran.run_checks("order_tickets_payloads_valid", "order_tickets_cover_tradable_recommendations")
    valid = results["order_tickets_payloads_valid"]
    assert not valid.passed and valid.metadata["invalid_payloads"].value == 1
    assert "price" in valid.metadata["first_problems"].value
    cover = results["order_tickets_cover_tradable_recommendations"]
    assert not cover.passed
    assert f"/{dropped['setup_id']}/{dropped['account_id']}/" in cover.metadata["not_ticketed"].value
