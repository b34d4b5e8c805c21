"""Multi-account balances: one result per account, one /user/balances per shared token, failures isolated."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import (
    AccountCredential,
    LiveTradingNotAllowedError,
    RateLimiterRegistry,
    TradierAuthError,
    TradierClient,
    TradierRateLimitError,
    TradierServerError,
    account_sync,
    fetch_balances_many,
)
from spx_pipeline.broker.tradier.balance_sync import workers_for_latency
from spx_pipeline.broker.tradier.transport import pooled_session
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, demo_accounts, make_accounts
from spx_pipeline_tests.fixtures.tradier import FAST_RETRY, EmulatorFactory


def creds(accounts: list, *, token_of: Callable[[object], str] | None = None) -> list[AccountCredential]:
    return [
        AccountCredential(a.account_id, SecretToken(token_of(a) if token_of else a.token)) for a in accounts
    ]


def fetch(emu: TradierEmulator, credentials: list[AccountCredential], **kwargs: object) -> list:
    return fetch_balances_many(
        credentials, base_url=emu.base_url, retry=FAST_RETRY, registry=RateLimiterRegistry(), **kwargs
    )


def test_one_result_per_account_in_order(tradier_emulator_factory: EmulatorFactory) -> None:
    accounts = make_accounts(12)
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    results = fetch(emu, creds(accounts), max_workers=4)
    assert [r.account_id for r in results] == [a.account_id for a in accounts]
    for result, account in zip(results, accounts, strict=True):
        assert result.ok and result.balances is not None
        assert result.balances.effective_option_buying_power == account.effective_option_buying_power
        assert result.elapsed_s >= 0
    assert emu.request_count("/accounts") == 12
    assert emu.request_count("/user") == 0


def test_shared_token_uses_one_user_balances_call(tradier_emulator_factory: EmulatorFactory) -> None:
    accounts = make_accounts(50, shared_token="one-token-for-fifty")
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    results = fetch(emu, creds(accounts))
    assert all(r.ok for r in results) and len(results) == 50
    assert emu.request_count("") == 1
    assert emu.request_count("/user/balances") == 1
    assert [r.balances.account_number for r in results if r.balances] == [a.account_id for a in accounts]


def test_user_balances_failure_falls_back_per_account(tradier_emulator_factory: EmulatorFactory) -> None:
    accounts = make_accounts(3, shared_token="shared-t")
    emu = tradier_emulator_factory(
        EmulatorConfig(accounts=accounts, faults=FaultConfig(fail_5xx=5, path_prefix="/user"))
    )
    results = fetch(emu, creds(accounts))
    assert all(r.ok for r in results)
    assert emu.request_count("/user/balances") == 2  # first try + one retry, then per-account
    assert emu.request_count("/accounts") == 3


def test_account_missing_from_user_balances_is_fetched_alone(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    accounts = make_accounts(3, shared_token="shared-t")
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    wanted = [*creds(accounts[:2]), AccountCredential("VA99999999", SecretToken("shared-t"))]
    results = fetch(emu, wanted)
    assert [r.ok for r in results] == [True, True, False]
    assert isinstance(results[2].error, TradierAuthError)  # not this token's account
    assert emu.request_count("/user/balances") == 1 and emu.request_count("/accounts") == 1


def test_bad_account_never_blocks_the_others(tradier_emulator_factory: EmulatorFactory) -> None:
    accounts = demo_accounts()
    emu = tradier_emulator_factory(
        EmulatorConfig(accounts=accounts, faults=FaultConfig(failing_accounts=frozenset({"VA00000002"})))
    )
    wanted = [*creds(accounts), AccountCredential("VA00000001", SecretToken("not-a-real-token"))]
    results = fetch(emu, wanted)
    assert [r.account_id for r in results] == ["VA00000001", "VA00000002", "VA00000003", "VA00000001"]
    assert results[0].ok and results[2].ok
    assert isinstance(results[1].error, TradierServerError)
    assert isinstance(results[3].error, TradierAuthError)
    assert results[2].balances is not None and results[2].balances.day_trade_buying_power == Decimal(
        "383281.60"
    )


def test_shared_token_auth_failure_is_not_retried_per_account(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    emu = tradier_emulator_factory(EmulatorConfig(accounts=demo_accounts()))
    wanted = [AccountCredential(f"VA0000000{i}", SecretToken("revoked-token")) for i in (1, 2, 3)]
    results = fetch(emu, wanted)
    assert all(isinstance(r.error, TradierAuthError) for r in results)
    assert emu.request_count("") == 1


def test_live_environment_refused_without_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADIER_BASE_URL", raising=False)
    monkeypatch.delenv("TRADIER_ALLOW_LIVE", raising=False)
    results = fetch_balances_many([AccountCredential("VA1", SecretToken("x"), environment="live")])
    assert isinstance(results[0].error, LiveTradingNotAllowedError)


def test_credential_validation_names_value() -> None:
    with pytest.raises(ValueError, match="'paper'"):
        AccountCredential("VA1", SecretToken("x"), environment="paper")
    with pytest.raises(TypeError, match="SecretToken"):
        AccountCredential("VA1", "x")  # type: ignore[arg-type]
    assert fetch_balances_many([]) == []


def test_an_account_id_stored_before_the_entry_check_fails_alone(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    """The store now refuses such ids; one already stored is that account's failure, not the sync's."""
    accounts = demo_accounts()
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    legacy = AccountCredential("VA-123", SecretToken("legacy-token-000000"))
    results = fetch(emu, [*creds(accounts), legacy])
    assert [r.ok for r in results] == [True, True, True, False]
    assert "account_id must be 1-32 letters or digits" in str(results[-1].error)


class FakeTime:
    """The client's clock and sleep: sleeping moves the clock, in no real time."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        from spx_pipeline.clock import wall_epoch

        return wall_epoch() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds


def test_a_429_with_a_60_second_window_is_retried_once_the_window_resets(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    accounts = demo_accounts()
    emu = tradier_emulator_factory(
        EmulatorConfig(accounts=accounts, rate_limit_window_seconds=60.0, faults=FaultConfig(burst_429=1))
    )
    fake = FakeTime()
    results = fetch_balances_many(
        creds(accounts), base_url=emu.base_url, retry=FAST_RETRY, sleep=fake.sleep, clock=fake.clock
    )
    assert all(r.ok for r in results), [str(r.error) for r in results]
    assert emu.request_count("/accounts") == len(accounts) + 1  # the refused one asked twice
    waited = sum(fake.slept)
    assert 0 < waited <= 61.0  # until the broker's window reset (X-Ratelimit-Expiry), not a blind minute


def test_a_429_past_the_budget_is_reported_at_once(tradier_emulator_factory: EmulatorFactory) -> None:
    accounts = demo_accounts()
    emu = tradier_emulator_factory(
        EmulatorConfig(accounts=accounts, rate_limit_window_seconds=60.0, faults=FaultConfig(burst_429=1))
    )
    fake = FakeTime()
    results = fetch_balances_many(
        creds(accounts),
        base_url=emu.base_url,
        retry=FAST_RETRY,
        sleep=fake.sleep,
        clock=fake.clock,
        rate_limit_budget=5.0,
    )
    [limited] = [r for r in results if not r.ok]
    assert isinstance(limited.error, TradierRateLimitError) and limited.error.reset_at is not None
    assert sum(fake.slept) == 0  # neither the call nor the run slept towards a reset it cannot wait for
    assert emu.request_count("/accounts") == len(accounts)


def test_an_exhausted_window_fails_fast_instead_of_stalling_the_caller() -> None:
    from spx_pipeline.broker.tradier.ratelimit import FixedWindowLimiter, RateLimitWaitTooLong

    fake = FakeTime()
    limiter = FixedWindowLimiter(60, clock=fake.clock, sleep=fake.sleep)
    limiter.exhausted_until(fake.clock() + 48)
    with pytest.raises(RateLimitWaitTooLong) as info:
        limiter.acquire(max_wait=30)
    assert 47 < info.value.wait <= 48 and fake.slept == []
    assert limiter.acquire(max_wait=60) > 47  # a caller with the budget for it waits


def test_every_client_of_a_sync_shares_one_pool_of_connections(
    tradier_emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = make_accounts(40)
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    opened: list[int] = []
    sessions: list[requests.Session] = []

    def spied(pool_maxsize: int) -> requests.Session:
        session = pooled_session(pool_maxsize)
        close = session.close

        def close_and_count() -> None:  # the pool is emptied on close: count before
            pools = session.get_adapter(emu.base_url).poolmanager.pools
            keys = pools.keys()  # urllib3's container of pools cannot be iterated itself
            opened.append(sum(pools[key].num_connections for key in keys))
            close()

        session.close = close_and_count  # type: ignore[method-assign]
        sessions.append(session)
        return session

    monkeypatch.setattr(account_sync, "pooled_session", spied)
    results = fetch(emu, creds(accounts), max_workers=4)
    assert all(r.ok for r in results)
    assert len(sessions) == 1 and opened == [opened[0]]  # one session, closed once, by the sync
    assert 1 <= opened[0] <= 4  # 40 accounts with 40 tokens over at most 4 connections


def test_a_client_leaves_a_session_it_was_given_open(tradier_emulator: TradierEmulator) -> None:
    shared = pooled_session(2)
    token = demo_accounts()[0].token
    for _ in range(2):
        with TradierClient(token, base_url=tradier_emulator.base_url, session=shared) as client:
            assert client.get_clock().state
    assert shared.get_adapter(tradier_emulator.base_url).poolmanager.pools.keys()  # still pooled
    shared.close()


@pytest.mark.parametrize(
    ("latency_s", "workers"), [(0.0, 8), (0.004, 8), (0.02, 34), (0.05, 84), (0.2, 96), (30.0, 96)]
)
def test_the_pool_keeps_one_core_busy_for_the_latency(latency_s: float, workers: int) -> None:
    assert workers_for_latency(latency_s) == workers
    assert workers_for_latency(0.05, cap=16) == 16


def test_without_max_workers_the_pool_is_sized_from_the_first_round_trips(
    tradier_emulator_factory: EmulatorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = make_accounts(20)
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts, faults=FaultConfig(latency_ms=20)))
    with caplog.at_level(logging.INFO, logger="spx_pipeline.broker.tradier"):
        results = fetch(emu, creds(accounts))
    assert all(r.ok for r in results) and emu.request_count("/accounts") == 20
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("account sync:")]
    workers = int(line.split()[2])
    assert 34 <= workers <= 96  # at least 20 ms per round trip / 0.6 ms of CPU per request
