"""Which injected fault, if any, the next request gets.

Counters are consumed one per matching request, so a test can say "the next two balance calls
get a 503, the third succeeds" and check that a client's retry loop does exactly that. A
request gets at most one counted fault; the precedence (reset, timeout, 429, 5xx, malformed)
runs from "no answer at all" towards "an answer that is wrong".
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from spx_pipeline.emulator.config import FaultConfig

RESET = "reset"
TIMEOUT = "timeout"
BURST_429 = "burst_429"
FAIL_5XX = "fail_5xx"
MALFORMED = "malformed"
RANDOM_5XX = "error_rate"
FAILING_ACCOUNT = "failing_account"
LATENCY = "latency"

_COUNTED: tuple[str, ...] = (RESET, TIMEOUT, BURST_429, FAIL_5XX, MALFORMED)
_FIELD = {
    RESET: "resets",
    TIMEOUT: "timeouts",
    BURST_429: "burst_429",
    FAIL_5XX: "fail_5xx",
    MALFORMED: "malformed",
}


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request. ``kind`` None means answer normally."""

    kind: str | None
    latency_seconds: float
    timeout_seconds: float = 0.0
    status: int = 0


class FaultInjector:
    """Holds the active FaultConfig and its remaining counters; thread-safe."""

    def __init__(self, faults: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = faults
        self._remaining: dict[str, int] = {}
        self._rng = random.Random(faults.seed)
        self.replace(faults)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def replace(self, faults: FaultConfig) -> None:
        with self._lock:
            self._config = faults
            self._remaining = {kind: getattr(faults, _FIELD[kind]) for kind in _COUNTED}
            self._rng = random.Random(faults.seed)

    def remaining(self) -> dict[str, int]:
        with self._lock:
            return dict(self._remaining)

    def plan(self, path: str, account_id: str | None) -> FaultPlan:
        with self._lock:
            cfg = self._config
            latency = cfg.latency_ms / 1000.0
            if account_id is not None and account_id in cfg.failing_accounts:
                return FaultPlan(FAILING_ACCOUNT, latency, status=cfg.failing_status)
            if not path_matches(cfg.path_prefix, path):
                return FaultPlan(None, latency)
            for kind in _COUNTED:
                if self._remaining[kind] > 0:
                    self._remaining[kind] -= 1
                    return FaultPlan(kind, latency, timeout_seconds=cfg.timeout_seconds, status=503)
            if cfg.error_rate > 0 and self._rng.random() < cfg.error_rate:
                return FaultPlan(RANDOM_5XX, latency, status=503)
            return FaultPlan(None, latency)


def path_matches(prefix: str | None, path: str) -> bool:
    """``/v1/accounts`` and ``/accounts`` both select ``/v1/accounts/...``."""
    if not prefix:
        return True
    if path.startswith(prefix):
        return True
    return path.startswith("/v1") and path[3:].startswith(prefix)
