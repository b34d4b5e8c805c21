"""Rate limits: bucket mapping, fixed windows (unit, fake clock) and headers/429 over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from spx_pipeline.domain.tradier.rate_limits import Bucket
from spx_pipeline.emulator import EmulatorConfig, make_accounts
from spx_pipeline.emulator.ratelimit import RateLimiter, bucket_for

STANDARD, MARKET, TRADING = Bucket.STANDARD, Bucket.MARKET_DATA, Bucket.TRADING

MARGIN = "VA00000001"
MARGIN_AUTH = {"Authorization": "Bearer demo-margin-token-0001"}
PDT_AUTH = {"Authorization": "Bearer demo-pdt-token-0003"}


@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("GET", "/v1/accounts/VA1/balances", STANDARD),
        ("GET", "/v1/accounts/VA1/orders", STANDARD),
        ("GET", "/v1/user/profile", STANDARD),
        ("GET", "/v1/watchlists", STANDARD),
        ("GET", "/v1/markets/options/chains", MARKET),
        ("POST", "/v1/markets/quotes", MARKET),
        ("POST", "/v1/accounts/VA1/orders", TRADING),
        ("PUT", "/v1/accounts/VA1/orders/5", TRADING),
        ("DELETE", "/v1/accounts/VA1/orders/5", TRADING),
    ],
)
def test_bucket_for(method, path, bucket):
    assert bucket_for(method, path) == bucket


def test_fixed_window_starts_at_first_request_and_resets_after_it():
    now = [1000.0]
    limiter = RateLimiter({STANDARD: 2}, 60.0, clock=lambda: now[0])
    first = limiter.hit("fp", STANDARD)
    assert (first.allowed, first.used, first.available, first.expiry_ms) == (True, 1, 1, 1_060_000)
    now[0] = 1059.0
    assert limiter.hit("fp", STANDARD).available == 0
    refused = limiter.hit("fp", STANDARD)
    assert (refused.allowed, refused.used, refused.available) == (False, 2, 0)
    assert limiter.hit("other-token", STANDARD).allowed  # per token
    now[0] = 1060.0  # window over: a new one opens at this request
    fresh = limiter.hit("fp", STANDARD)
    assert (fresh.allowed, fresh.used, fresh.expiry_ms) == (True, 1, 1_120_000)


def test_headers_are_consistent():
    limiter = RateLimiter({MARKET: 5}, 1.0, clock=lambda: 10.0)
    for _ in range(7):
        decision = limiter.hit("fp", MARKET)
        headers = decision.headers()
        assert int(headers["X-Ratelimit-Used"]) + int(headers["X-Ratelimit-Available"]) == 5
        assert headers["X-Ratelimit-Allowed"] == "5"
        assert headers["X-Ratelimit-Expiry"] == "11000"


def test_http_429_at_the_limit_then_a_new_window(tradier_emulator_factory):
    emu = tradier_emulator_factory(EmulatorConfig(rate_limit_window_seconds=2.5))
    url = f"{emu.base_url}/accounts/{MARGIN}/balances"
    with requests.Session() as session:
        session.headers.update({**MARGIN_AUTH, "Accept": "application/json"})
        started_ms = time.time() * 1000
        responses = [session.get(url, timeout=30) for _ in range(61)]
        assert [r.status_code for r in responses[:60]] == [200] * 60
        last_ok, refused = responses[59], responses[60]
        assert last_ok.headers["X-Ratelimit-Used"] == "60"
        assert last_ok.headers["X-Ratelimit-Available"] == "0"
        assert refused.status_code == 429
        assert refused.text == "Rate limit exceeded"
        assert refused.headers["X-Ratelimit-Allowed"] == "60"
        assert refused.headers["X-Ratelimit-Available"] == "0"
        expiry_ms = int(refused.headers["X-Ratelimit-Expiry"])
        assert started_ms - 50 <= expiry_ms - 2500 <= time.time() * 1000
        # other buckets and other tokens are unaffected
        assert session.get(f"{emu.base_url}/markets/clock", timeout=30).status_code == 200
        assert session.get(f"{emu.base_url}/user/profile", headers=PDT_AUTH, timeout=30).status_code == 200
        time.sleep(max(expiry_ms / 1000 - time.time(), 0) + 0.05)
        again = session.get(url, timeout=30)
        assert again.status_code == 200
        assert again.headers["X-Ratelimit-Used"] == "1"


def test_production_limits_and_trading_bucket(tradier_emulator_factory):
    emu = tradier_emulator_factory(EmulatorConfig(sandbox=False))
    with requests.Session() as session:
        session.headers.update({**MARGIN_AUTH, "Accept": "application/json"})
        read = session.get(f"{emu.base_url}/accounts/{MARGIN}/orders", timeout=30)
        assert read.headers["X-Ratelimit-Allowed"] == "120"
        data = session.get(f"{emu.base_url}/markets/clock", timeout=30)
        assert data.headers["X-Ratelimit-Allowed"] == "120"
        cancel = session.delete(f"{emu.base_url}/accounts/{MARGIN}/orders/1", timeout=30)
        assert cancel.status_code == 404
        assert cancel.headers["X-Ratelimit-Allowed"] == "60"
        assert cancel.headers["X-Ratelimit-Used"] == "1"


def test_unauthenticated_requests_do_not_consume_quota(tradier_emulator):
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(f"{tradier_emulator.base_url}/markets/clock", timeout=30).status_code == 401
        ok = session.get(f"{tradier_emulator.base_url}/markets/clock", headers=MARGIN_AUTH, timeout=30)
        assert ok.headers["X-Ratelimit-Used"] == "1"


def test_shared_token_shares_one_quota_across_accounts(tradier_emulator_factory):
    accounts = make_accounts(3, shared_token="fleet-token")
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer fleet-token"
        used = [
            session.get(f"{emu.base_url}/accounts/{a.account_id}/balances", timeout=30).headers[
                "X-Ratelimit-Used"
            ]
            for a in accounts
        ]
    assert used == ["1", "2", "3"]


def test_disabled_rate_limits_send_no_headers(tradier_emulator_factory):
    emu = tradier_emulator_factory(EmulatorConfig(rate_limits_enabled=False, rate_limit_window_seconds=60))
    with requests.Session() as session:
        session.headers.update(MARGIN_AUTH)
        responses = [session.get(f"{emu.base_url}/markets/clock", timeout=30) for _ in range(70)]
    assert {r.status_code for r in responses} == {200}
    assert not any(h.lower().startswith("x-ratelimit") for h in responses[-1].headers)
