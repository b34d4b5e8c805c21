"""Fixed-window limiter with an injected clock: local quota, server hints, 429 backoff, sharing."""

from __future__ import annotations

import threading

import pytest

from spx_pipeline.broker.tradier.ratelimit import (
    FixedWindowLimiter,
    RateLimiterRegistry,
    RateLimitHeaders,
    bucket_for,
    limits_for_host,
)
from spx_pipeline.domain.quotes import epoch_seconds


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def test_local_window_blocks_after_limit_then_resets() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(3, 60.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 10
    waited = limiter.acquire()
    assert waited == pytest.approx(50.0)
    assert clock.sleeps == [pytest.approx(50.0)]


def test_server_available_zero_sleeps_until_expiry_ms() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    expiry_ms = str(int((clock.now + 12.5) * 1000))
    hints = RateLimitHeaders.from_headers(
        {
            "X-Ratelimit-Allowed": "60",
            "X-Ratelimit-Used": "60",
            "X-Ratelimit-Available": "0",
            "X-Ratelimit-Expiry": expiry_ms,
        }
    )
    assert hints is not None
    limiter.observe(hints)
    waited = limiter.acquire()
    assert waited == pytest.approx(12.5, abs=0.01)


def test_server_available_positive_does_not_wait() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    hints = RateLimitHeaders(allowed=60, used=10, available=50, expiry=clock.now + 30)
    limiter.observe(hints)
    assert limiter.acquire() == 0.0


def test_server_count_from_other_processes_is_adopted() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(5, 60.0, clock=clock, sleep=clock.sleep)
    limiter.observe(RateLimitHeaders(allowed=5, used=4, available=1, expiry=clock.now + 20))
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(20.0)


def test_absurd_expiry_hint_is_ignored() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    limiter.observe(RateLimitHeaders(allowed=60, used=60, available=0, expiry=clock.now + 86_400))
    assert limiter.acquire() == 0.0


def test_exhausted_until_blocks_the_bucket() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    limiter.exhausted_until(clock.now + 7)
    assert limiter.acquire() == pytest.approx(7.0)


def test_parse_expiry_milliseconds_and_seconds() -> None:
    assert epoch_seconds("1369168800001") == pytest.approx(1369168800.001)
    assert epoch_seconds("1369168800") == pytest.approx(1369168800.0)
    assert epoch_seconds("junk") is None
    assert RateLimitHeaders.from_headers({"Content-Type": "application/json"}) is None


def test_buckets_and_limits() -> None:
    assert bucket_for("GET", "/markets/quotes") == "market_data"
    assert bucket_for("POST", "/markets/quotes") == "market_data"
    assert bucket_for("GET", "/accounts/VA1/orders") == "standard"
    assert bucket_for("POST", "/accounts/VA1/orders") == "trading"
    assert bucket_for("DELETE", "/accounts/VA1/orders/5") == "trading"
    assert bucket_for("GET", "/user/balances") == "standard"
    assert limits_for_host("api.tradier.com")["standard"] == 120
    assert limits_for_host("sandbox.tradier.com")["standard"] == 60
    assert limits_for_host("api.tradier.com")["trading"] == 60


def test_registry_shares_limiter_per_token_and_host() -> None:
    registry = RateLimiterRegistry()
    a = registry.limiter("fp1", "Host:1", "standard", 60)
    assert registry.limiter("fp1", "host:1", "standard", 60) is a
    assert registry.limiter("fp2", "host:1", "standard", 60) is not a
    assert registry.limiter("fp1", "host:2", "standard", 60) is not a
    assert registry.limiter("fp1", "host:1", "trading", 60) is not a


def test_concurrent_acquire_never_exceeds_limit_per_window() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(10, 60.0, clock=clock, sleep=clock.sleep)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                granted.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 20
    start = min(granted)
    assert sum(1 for t in granted if t < start + 60) <= 10


def test_invalid_limits_are_named() -> None:
    with pytest.raises(ValueError, match="rate limit must be >= 1, got 0"):
        FixedWindowLimiter(0)
    with pytest.raises(ValueError, match="window_seconds"):
        FixedWindowLimiter(1, 0)
