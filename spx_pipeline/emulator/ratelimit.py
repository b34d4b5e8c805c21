"""Tradier's per-token rate limits: fixed windows that open at the first request.

Tradier counts requests per access token and bucket in one-minute windows that start with the
first request (not rolling), and reports the state in ``X-Ratelimit-*`` headers whose Expiry is
epoch *milliseconds*. Clients that throttle from those headers are only testable against a
server that keeps the same arithmetic (``used + available == allowed``), so this does.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from spx_pipeline.clock import wall_epoch
from spx_pipeline.domain.tradier.rate_limits import Bucket, bucket_for

__all__ = ["Bucket", "RateDecision", "RateLimiter", "bucket_for"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    used: int
    available: int
    expiry_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Allowed": str(self.limit),
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Available": str(self.available),
            "X-Ratelimit-Expiry": str(self.expiry_ms),
        }


@dataclass(slots=True)
class _Window:
    started: float
    used: int


class RateLimiter:
    """Counts requests per (token fingerprint, bucket); thread-safe."""

    def __init__(
        self,
        limits: Mapping[str, int],
        window_seconds: float,
        *,
        clock: Callable[[], float] = wall_epoch,
    ) -> None:
        self._limits = dict(limits)
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}

    def _current(self, key: tuple[str, str], now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.started + self._window:
            window = _Window(started=now, used=0)
            self._windows[key] = window
        return window

    def hit(self, fingerprint: str, bucket: str) -> RateDecision:
        """Count one request; over the limit the request is refused and not counted."""
        limit = self._limits[bucket]
        now = self._clock()
        with self._lock:
            window = self._current((fingerprint, bucket), now)
            allowed = window.used < limit
            if allowed:
                window.used += 1
            used = window.used
            expiry_ms = self._expiry_ms(window)
        return RateDecision(allowed, limit, used, limit - used, expiry_ms)

    def exhausted(self, fingerprint: str, bucket: str) -> RateDecision:
        """Headers for an injected 429: nothing available until the current window ends."""
        limit = self._limits[bucket]
        now = self._clock()
        with self._lock:
            window = self._current((fingerprint, bucket), now)
            expiry_ms = self._expiry_ms(window)
        return RateDecision(False, limit, limit, 0, expiry_ms)

    def _expiry_ms(self, window: _Window) -> int:
        """The window's end in whole milliseconds, rounded up: a client that waits until Expiry
        must find the window over (rounded to the nearest, it could be half a millisecond early
        and meet a 429)."""
        return math.ceil((window.started + self._window) * 1000)
