"""Client-side pacing of Tradier's per-token, per-bucket fixed-window quotas.

Tradier counts requests per access token in one-minute windows that start at the first request,
separately for three buckets (standard, market data, trading). Exceeding a bucket costs a 429 and,
for a sync over many accounts, a stall. So every request first takes a slot from a limiter shared by
*all* clients using the same token against the same host (module-level registry keyed by token
fingerprint + host + bucket): two client instances with one token must not each believe they own
the full quota.

The local count is only an estimate (other processes may use the token), so the limiter also trusts
the server: ``X-Ratelimit-Available`` / ``X-Ratelimit-Expiry`` (epoch *milliseconds*; one Python
client reads them as seconds and is off by 1000x) are fed back after each response, and once the
server says ``Available: 0`` the next request in that bucket sleeps until Expiry instead of
hammering into 429s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from spx_pipeline.broker.tradier.hosts import LIVE_HOST
from spx_pipeline.clock import wall_epoch
from spx_pipeline.domain.quotes import epoch_seconds
from spx_pipeline.domain.tradier.rate_limits import LIVE_LIMITS, SANDBOX_LIMITS, Bucket, bucket_for

__all__ = [
    "DEFAULT_REGISTRY",
    "Bucket",
    "FixedWindowLimiter",
    "RateLimitHeaders",
    "RateLimitWaitTooLong",
    "RateLimiterRegistry",
    "bucket_for",
    "limits_for_host",
]

# Server hints further out than this are treated as bogus (clock skew, seconds-vs-ms confusion).
_MAX_HINT_WINDOWS: Final = 2.0


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    allowed: int | None
    used: int | None
    available: int | None
    expiry: float | None  # epoch seconds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        """None when the response carries none of the headers (non rate-limited endpoint)."""
        lowered = {key.lower(): value for key, value in headers.items()}

        def as_int(name: str) -> int | None:
            raw = lowered.get(name)
            try:
                return int(float(raw)) if raw is not None else None
            except ValueError:
                return None

        available = as_int("x-ratelimit-available")
        raw_expiry = lowered.get("x-ratelimit-expiry")
        expiry = epoch_seconds(raw_expiry)  # milliseconds expected; seconds told apart by magnitude
        if available is None and expiry is None:
            return None
        return cls(
            allowed=as_int("x-ratelimit-allowed"),
            used=as_int("x-ratelimit-used"),
            available=available,
            expiry=expiry,
        )


class RateLimitWaitTooLong(Exception):
    """Taking a slot would mean waiting past the caller's budget; nothing was sent.

    ``until`` is when the bucket frees up (epoch seconds). The caller decides what to do (fail the
    call now, retry the account after the window resets) instead of sleeping blindly: a limiter
    left exhausted by one run must never stall the next one.
    """

    def __init__(self, until: float, wait: float) -> None:
        self.until = until
        self.wait = wait
        super().__init__(f"rate limit window frees up in {wait:.1f}s")


class FixedWindowLimiter:
    """Thread-safe fixed-window counter for one (token, host, bucket).

    ``clock`` must be wall-clock epoch seconds (``time.time``) because server hints are epoch
    timestamps; ``sleep`` is injectable so tests run without waiting.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float = 60.0,
        *,
        clock: Callable[[], float] = wall_epoch,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be >= 1, got {limit}")
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._window_end = 0.0
        self._used = 0
        self._server_available: int | None = None
        self._server_expiry: float | None = None
        self.total_waited = 0.0

    def acquire(self, max_wait: float | None = None) -> float:
        """Take one slot, sleeping (outside the lock) until one is free; returns seconds waited.

        With ``max_wait``, a wait that would take longer raises ``RateLimitWaitTooLong`` at once
        (no slot taken, nothing slept).
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_locked(now)
                if wait > 0 and max_wait is not None and waited + wait > max_wait:
                    raise RateLimitWaitTooLong(now + wait, wait)
                if wait <= 0:
                    self._used += 1
                    if self._server_available is not None:
                        self._server_available -= 1
                    self.total_waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    def _wait_locked(self, now: float) -> float:
        if self._server_expiry is not None and now >= self._server_expiry:
            self._server_available = None
            self._server_expiry = None
        if now >= self._window_end:
            self._window_end = now + self.window_seconds
            self._used = 0
        if self._server_available is not None and self._server_available <= 0 and self._server_expiry:
            return self._server_expiry - now
        if self._used >= self.limit:
            return self._window_end - now
        return 0.0

    def observe(self, hints: RateLimitHeaders) -> None:
        """Fold the server's view of the window into ours (it is authoritative)."""
        with self._lock:
            now = self._clock()
            expiry = hints.expiry
            if expiry is not None and not (now < expiry <= now + _MAX_HINT_WINDOWS * self.window_seconds):
                expiry = None
            if expiry is None:
                return
            self._server_expiry = expiry
            self._server_available = hints.available
            self._window_end = expiry
            if hints.used is not None:
                self._used = max(self._used, hints.used)
            if hints.allowed is not None and hints.available is not None:
                self._used = max(self._used, hints.allowed - hints.available)

    def exhausted_until(self, until: float) -> None:
        """A 429 arrived: nothing more in this bucket before ``until`` (epoch seconds)."""
        with self._lock:
            now = self._clock()
            until = min(until, now + _MAX_HINT_WINDOWS * self.window_seconds)
            if until > now:
                self._server_available = 0
                self._server_expiry = until
                self._window_end = until


class RateLimiterRegistry:
    """Limiters shared by every client with the same token fingerprint and host.

    The module default (``DEFAULT_REGISTRY``) is what production uses; tests pass their own registry
    with a fake clock/sleep so state never leaks between them.
    """

    def __init__(
        self,
        *,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = wall_epoch,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._limiters: dict[tuple[str, str, Bucket], FixedWindowLimiter] = {}

    def limiter(self, fingerprint: str, host: str, bucket: Bucket, limit: int) -> FixedWindowLimiter:
        key = (fingerprint, host.lower(), bucket)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = FixedWindowLimiter(limit, self.window_seconds, clock=self.clock, sleep=self.sleep)
                self._limiters[key] = limiter
            return limiter

    def __len__(self) -> int:
        return len(self._limiters)


DEFAULT_REGISTRY: Final = RateLimiterRegistry()


def limits_for_host(host: str) -> Mapping[Bucket, int]:
    """Live quotas for the production host; the lower sandbox quotas for anything else."""
    return LIVE_LIMITS if host.lower() == LIVE_HOST else SANDBOX_LIMITS
