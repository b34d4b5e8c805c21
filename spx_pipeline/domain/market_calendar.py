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
# A fixed span, not "today + n": the calendar must not depend on the machine's date. Days outside
# it are refused by name, never answered wrongly.
CALENDAR_START = date(2000, 1, 3)
CALENDAR_END = date(2045, 12, 29)
# Building the whole span costs ~0.5 s (pandas date ranges over every day), a price every run
# process paid on its first question, though a run only asks about days near its own. So questions
# go to a block of four years that holds the asked days with at least a year to spare on either
# side (~0.2 s to build), clipped to the span, where it answers exactly as the whole span does; a
# question reaching past its block (a long range) goes to the whole span.
_BLOCK_YEARS = 2  # blocks start every other year and reach a year before and after their pair
_MARGIN = timedelta(days=31)  # the furthest a next/previous session or a minute's session can be


@functools.lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    """XNYS sessions from ``CALENDAR_START`` to ``CALENDAR_END`` (holidays and early closes).

    exchange-calendars is imported here, on first use, not when the code location loads.
    """
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR_NAME, start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat())


def _block_span(year: int) -> tuple[date, date]:
    """The days of the block that holds ``year``: its pair of years and one more on either side."""
    first = year - (year - CALENDAR_START.year) % _BLOCK_YEARS
    start = max(date(first - 1, 1, 1), CALENDAR_START)
    end = min(date(first + _BLOCK_YEARS, 12, 31), CALENDAR_END)
    return start, end


@functools.lru_cache(maxsize=4)
def _block(start: date, end: date) -> xcals.ExchangeCalendar:
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR_NAME, start=start.isoformat(), end=end.isoformat())


def calendar_for(first: date, last: date | None = None) -> xcals.ExchangeCalendar:
    """A calendar that answers about ``first``..``last`` (and a month either side) as ``nyse()`` does.

    Its block when the days fit in it with that margin, or the block's edge is the span's own
    (where both calendars end alike); else the whole span.
    """
    last = first if last is None else last
    start, end = _block_span(first.year)
    fits_start = first - _MARGIN >= start or start == CALENDAR_START
    fits_end = last + _MARGIN <= end or end == CALENDAR_END
    return _block(start, end) if fits_start and fits_end else nyse()


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
    return bool(calendar_for(_in_range(day)).is_session(pd.Timestamp(day)))


def session(day: date) -> Session:
    """The session on ``day``; ValueError if the exchange is closed that day."""
    if not is_session(day):
        raise ValueError(f"{day.isoformat()} is not an NYSE session")
    cal = calendar_for(day)
    ts = pd.Timestamp(day)
    return Session(
        day=day,
        open_utc=cal.session_open(ts).to_pydatetime(),
        close_utc=cal.session_close(ts).to_pydatetime(),
    )


def is_open_at(moment: datetime) -> bool:
    """Regular hours only (09:30 to 16:00 ET, or the early close)."""
    ts = _as_utc(moment)
    day = _in_range(ts.tz_convert(NEW_YORK).date())
    return bool(calendar_for(day).is_open_on_minute(ts, ignore_breaks=True))


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
    after = _in_range(_in_range(day) + timedelta(days=1))
    return calendar_for(after).date_to_session(pd.Timestamp(after), direction="next").date()


def previous_session(day: date) -> date:
    """Last session strictly before ``day``."""
    before = _in_range(_in_range(day) - timedelta(days=1))
    return calendar_for(before).date_to_session(pd.Timestamp(before), direction="previous").date()


def sessions_from(day: date, count: int) -> list[date]:
    """``count`` sessions starting at ``day`` (included if it is one)."""
    # Two days a session and the month's margin reach the last one (the longest closure since
    # 2000, 9/11, was four sessions); a block that falls short hands the question to the whole span.
    cal = calendar_for(_in_range(day), day + timedelta(days=2 * max(count, 0)))
    first = cal.date_to_session(pd.Timestamp(day), direction="next")
    start = cal.sessions.get_loc(first)
    return [s.date() for s in cal.sessions[start : start + count]]


def sessions_between(start: date, end: date) -> list[date]:
    cal = calendar_for(_in_range(start), max(_in_range(end), start))
    return [s.date() for s in cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]


def minutes_to_close(moment: datetime) -> float:
    """Minutes from ``moment`` to the close of its trading day (0 once past it)."""
    close = session(trading_day(moment)).close_utc
    return max((close - _as_utc(moment).to_pydatetime()) / timedelta(minutes=1), 0.0)
