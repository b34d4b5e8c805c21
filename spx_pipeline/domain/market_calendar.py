"""NYSE sessions decide what "today" means for SPX 0DTE and when snapshots run.

exchange-calendars' XNYS knows holidays and early closes (13:00 ET); the expiring SPXW series
stops at the equity close, so the NYSE close is the 0DTE cut-off. There is no Cboe options
calendar in exchange-calendars and pandas-market-calendars' Cboe ones miss Christmas Eve.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd

if TYPE_CHECKING:
    import exchange_calendars as xcals

NEW_YORK = ZoneInfo("America/New_York")
CALENDAR_NAME = "XNYS"
# A fixed span, not "today + n": the calendar must not depend on the machine's date (building
# 2000-2045 costs ~0.3 s once). Days outside it are refused by name, never answered wrongly.
CALENDAR_START = date(2000, 1, 3)
CALENDAR_END = date(2045, 12, 29)


@functools.lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    """XNYS sessions from ``CALENDAR_START`` to ``CALENDAR_END`` (holidays and early closes).

    exchange-calendars is imported here, on first use, not when the code location loads.
    """
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR_NAME, start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat())


def _in_range(day: date) -> date:
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ValueError(
            f"{day.isoformat()} is outside the NYSE calendar span "
            f"{CALENDAR_START.isoformat()}..{CALENDAR_END.isoformat()}"
        )
    return day


@dataclass(frozen=True, slots=True)
class Session:
    """One NYSE regular session: its date and UTC open/close (close is early on half days)."""

    day: date
    open_utc: datetime
    close_utc: datetime

    @property
    def is_early_close(self) -> bool:
        return self.close_utc.astimezone(NEW_YORK).hour < 16


def _as_utc(moment: datetime) -> pd.Timestamp:
    if moment.tzinfo is None:
        raise ValueError(f"moment must be timezone-aware, got naive {moment!r}")
    return pd.Timestamp(moment).tz_convert("UTC")


def is_session(day: date) -> bool:
    return bool(nyse().is_session(pd.Timestamp(_in_range(day))))


def session(day: date) -> Session:
    """The session on ``day``; ValueError if the exchange is closed that day."""
    if not is_session(day):
        raise ValueError(f"{day.isoformat()} is not an NYSE session")
    cal = nyse()
    ts = pd.Timestamp(day)
    return Session(
        day=day,
        open_utc=cal.session_open(ts).to_pydatetime(),
        close_utc=cal.session_close(ts).to_pydatetime(),
    )


def is_open_at(moment: datetime) -> bool:
    """Regular hours only (09:30 to 16:00 ET, or the early close)."""
    ts = _as_utc(moment)
    _in_range(ts.tz_convert(NEW_YORK).date())
    return bool(nyse().is_open_on_minute(ts, ignore_breaks=True))


def trading_day(moment: datetime) -> date:
    """The session the market is in or will open next, as seen at ``moment``.

    On a session day before the close that is today; after the close, on a weekend or a
    holiday it is the next session. This is the day whose 0DTE series is "current".
    """
    ts = _as_utc(moment)
    local_day = ts.tz_convert(NEW_YORK).date()
    if is_session(local_day) and ts < pd.Timestamp(session(local_day).close_utc):
        return local_day
    return next_session(local_day)


def next_session(day: date) -> date:
    """First session strictly after ``day``."""
    after = _in_range(day) + timedelta(days=1)
    return nyse().date_to_session(pd.Timestamp(_in_range(after)), direction="next").date()


def previous_session(day: date) -> date:
    """Last session strictly before ``day``."""
    before = _in_range(day) - timedelta(days=1)
    return nyse().date_to_session(pd.Timestamp(_in_range(before)), direction="previous").date()


def sessions_from(day: date, count: int) -> list[date]:
    """``count`` sessions starting at ``day`` (included if it is one)."""
    cal = nyse()
    first = cal.date_to_session(pd.Timestamp(_in_range(day)), direction="next")
    start = cal.sessions.get_loc(first)
    return [s.date() for s in cal.sessions[start : start + count]]


def sessions_between(start: date, end: date) -> list[date]:
    first, last = pd.Timestamp(_in_range(start)), pd.Timestamp(_in_range(end))
    return [s.date() for s in nyse().sessions_in_range(first, last)]


def minutes_to_close(moment: datetime) -> float:
    """Minutes from ``moment`` to the close of its trading day (0 once past it)."""
    close = session(trading_day(moment)).close_utc
    return max((close - _as_utc(moment).to_pydatetime()) / timedelta(minutes=1), 0.0)
