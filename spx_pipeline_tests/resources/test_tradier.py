import pytest

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import LIVE_BASE_URL, SANDBOX_BASE_URL, LiveTradingNotAllowedError
from spx_pipeline.resources import TradierResource

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
