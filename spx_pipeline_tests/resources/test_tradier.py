from __future__ import annotations

import pytest

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import LIVE_BASE_URL, SANDBOX_BASE_URL, LiveTradingNotAllowedError
from spx_pipeline.resources import TradierResource
from spx_pipeline.resources import tradier as tradier_resource
from spx_pipeline_tests.fixtures.pipeline import PipelineEnvFactory

TOKEN = SecretToken("resource-test-token-0001")


def test_client_host_follows_the_credential_environment_like_the_balance_sync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRADIER_BASE_URL", raising=False)
    monkeypatch.setenv("TRADIER_ALLOW_LIVE", "true")
    resource = TradierResource()
    assert resource.client(TOKEN, "live").base_url == LIVE_BASE_URL
    assert resource.client(TOKEN, "sandbox").base_url == SANDBOX_BASE_URL
    assert resource.client(TOKEN).base_url == SANDBOX_BASE_URL


def test_explicit_or_env_base_url_wins_and_live_needs_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADIER_BASE_URL", "http://127.0.0.1:8787/v1")
    assert TradierResource().client(TOKEN, "live").base_url == "http://127.0.0.1:8787/v1"
    assert TradierResource(base_url="http://127.0.0.1:9/v1").client(TOKEN).base_url == (
        "http://127.0.0.1:9/v1"
    )
    monkeypatch.delenv("TRADIER_BASE_URL")
    monkeypatch.delenv("TRADIER_ALLOW_LIVE", raising=False)
    with pytest.raises(LiveTradingNotAllowedError):
        TradierResource().client(TOKEN, "live")
    with pytest.raises(ValueError, match="'paper'"):
        TradierResource().client(TOKEN, "paper")


def test_balances_and_other_reads_fan_out_with_the_same_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, dict[str, object]] = {}
    monkeypatch.setattr(tradier_resource, "fetch_balances_many", lambda c, **o: seen.setdefault("b", o))
    monkeypatch.setattr(tradier_resource, "fetch_each_account", lambda c, f, **o: seen.setdefault("e", o))
    resource = TradierResource(
        base_url="http://127.0.0.1:9/v1", allow_live=False, max_workers=3, read_timeout_seconds=7.0,
        max_attempts=2, rate_limit_budget_seconds=5.0,
    )  # fmt: skip
    resource.fetch_balances([])
    resource.fetch_each([], lambda client, account: None)
    assert seen["b"] == seen["e"]
    assert {k: seen["b"][k] for k in ("max_workers", "base_url", "allow_live", "rate_limit_budget")} == {
        "max_workers": 3, "base_url": "http://127.0.0.1:9/v1", "allow_live": False, "rate_limit_budget": 5.0,
    }  # fmt: skip
    assert seen["b"]["timeout"][1] == 7.0 and seen["b"]["retry"].max_attempts == 2  # type: ignore[index,union-attr]


def test_a_window_one_run_exhausted_does_not_stall_the_next_run(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    from spx_pipeline.definitions import build_definitions
    from spx_pipeline.emulator import EmulatorConfig, FaultConfig, demo_accounts

    env = pipeline_env_factory(
        emulator_config=EmulatorConfig(
            accounts=demo_accounts(),
            # The longest window the client believes (two of its own): run 2 starts well inside it.
            rate_limit_window_seconds=120.0,
            faults=FaultConfig(burst_429=3, path_prefix="/accounts"),
        )
    )
    # Neither run may wait for a reset: an account refused by a 429 (or by a limiter still
    # exhausted from run 1, which would make the client wait minutes) is reported as failed.
    impatient = build_definitions(
        {
            **env.resources(),
            "tradier": TradierResource(base_url=env.emulator.base_url, rate_limit_budget_seconds=0),
        }
    )
    first = env.execute(impatient, "portfolio_sync_job", raise_on_error=False)
    assert not first.success
    assert (
        env.count("sync_failures", "run_id = ? AND error_class = 'TradierRateLimitError'", [first.run_id])
        == 3
    )
    # Run 2, same process, same tokens, inside the same window: its own limiter, nothing to wait for.
    second = env.execute(impatient, "portfolio_sync_job", raise_on_error=False)
    assert second.success
    assert env.count("portfolio_snapshots", "run_id = ?", [second.run_id]) == 3
    assert env.count("sync_failures", "run_id = ?", [second.run_id]) == 0
