"""The one place the pipeline asks what time it is.

Every "now", "today", session and 0DTE decision goes through a ``Clock`` handed down from the
caller: Dagster resources, the local Tradier server, the stores and the checks all take one.
Production uses ``SystemClock``; tests, the demo and anyone reproducing a day by hand pin it
(``FixedClock`` in code, ``SPX_NOW=2026-11-26T15:00:00-05:00`` for a process), so behaviour at an
open, a close, a holiday, a DST switch or midnight UTC is reproducible. Durations are measured
with ``time.monotonic()`` elsewhere; that is not "now" and does not belong here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

NOW_VAR = "SPX_NOW"


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current instant, timezone-aware (UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's wall clock: the only wall-clock read in the package."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    @property
    def pinned(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A pinned instant that moves only when told to (``set``/``advance``); thread-safe."""

    def __init__(self, at: datetime | str) -> None:
        self._lock = threading.Lock()
        self._at = _aware(at, "FixedClock")

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime | str) -> None:
        moment = _aware(at, "FixedClock.set")
        with self._lock:
            self._at = moment

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at = self._at + delta
            return self._at

    @property
    def pinned(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"FixedClock({self.now().isoformat()})"


class TickingClock:
    """Starts at a pinned instant and then runs forward at real speed (a replayed day by hand)."""

    def __init__(self, start: datetime | str) -> None:
        self._start = _aware(start, "TickingClock")
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)

    @property
    def pinned(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"TickingClock(start={self._start.isoformat()})"


def wall_epoch() -> float:
    """Real epoch seconds for transport timing only (rate-limit windows and their epoch headers).

    A rate-limit window lasts real seconds even while the business clock is pinned to another
    day, so this never follows ``SPX_NOW``; nothing about sessions or freshness may use it.
    """
    return time.time()


class InstantError(ValueError):
    """A setting or flag that should hold an instant does not; the message names it and the value."""


def parse_instant(text: str, *, name: str = "time") -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed), as UTC; naive or malformed is refused.

    The message names ``name`` (a setting or a flag) and the value, so a typo reads as one line.
    """
    raw = (text or "").strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise InstantError(
            f"{name}={text!r} is not an ISO 8601 instant (for example 2026-11-26T15:00:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise InstantError(f"{name}={text!r} has no UTC offset (for example 2026-11-26T15:00:00-05:00)")
    return moment.astimezone(UTC)


def clock_from_env(env: Mapping[str, str] | None = None, *, default: Clock | None = None) -> Clock:
    """``SPX_NOW`` pins the process's clock (frozen); unset or empty means ``default`` or real time."""
    value = (env if env is not None else os.environ).get(NOW_VAR, "").strip()
    if not value:
        return default if default is not None else SystemClock()
    return FixedClock(parse_instant(value, name=NOW_VAR))


def is_pinned(clock: Clock) -> bool:
    """Whether ``clock`` is pinned (tests, replays) rather than following the machine."""
    return bool(getattr(clock, "pinned", False))


def _aware(at: datetime | str, what: str) -> datetime:
    if isinstance(at, str):
        return parse_instant(at, name=what)
    if at.tzinfo is None:
        raise ValueError(f"{what} needs a timezone-aware instant, got naive {at!r}")
    return at.astimezone(UTC)
