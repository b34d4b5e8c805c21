"""Sessions, ``/markets/clock`` and ``/markets/calendar`` from the NYSE calendar, cached per day.

Calendar lookups go through pandas (~0.3 ms each); a day's answer never changes, so every
component of one server (the clock endpoint, the calendar, the fill engine) shares one cache.
"""

from __future__ import annotations

import calendar as month_calendar
import threading
from datetime import date, datetime
from typing import Any

from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.quotes import to_epoch_seconds

PREMARKET_START = "04:00"
POSTMARKET_END = "20:00"
EARLY_POSTMARKET_END = "17:00"


class MarketHours:
    """Regular sessions of the NYSE calendar, as the local server reports and trades them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[date, market_calendar.Session | None] = {}

    def session(self, day: date) -> market_calendar.Session | None:
        """The regular session on ``day``; None on weekends and holidays."""
        with self._lock:
            if day in self._sessions:
                return self._sessions[day]
        found = market_calendar.session(day) if market_calendar.is_session(day) else None
        with self._lock:
            self._sessions[day] = found
        return found

    def session_at(self, moment: datetime) -> market_calendar.Session | None:
        """The session whose regular hours contain ``moment``, if any."""
        sess = self.session(moment.astimezone(market_calendar.NEW_YORK).date())
        if sess is not None and sess.open_utc <= moment < sess.close_utc:
            return sess
        return None

    def clock(self, now: datetime) -> dict[str, Any]:
        local = now.astimezone(market_calendar.NEW_YORK)
        day = local.date()
        hhmm = local.strftime("%H:%M")
        sess = self.session(day)
        if sess is not None:
            open_t, close_t = _hhmm(sess.open_utc), _hhmm(sess.close_utc)
            post_end = EARLY_POSTMARKET_END if sess.is_early_close else POSTMARKET_END
            if hhmm < PREMARKET_START:
                state, nxt, nxt_state = "closed", PREMARKET_START, "premarket"
            elif now < sess.open_utc:
                state, nxt, nxt_state = "premarket", open_t, "open"
            elif now < sess.close_utc:
                state, nxt, nxt_state = "open", close_t, "postmarket"
            elif hhmm < post_end:
                state, nxt, nxt_state = "postmarket", post_end, "closed"
            else:
                state, nxt, nxt_state = "closed", PREMARKET_START, "premarket"
            description = f"Market is {state} from {open_t} to {close_t}"
        else:
            state, nxt, nxt_state = "closed", PREMARKET_START, "premarket"
            description = "Market is closed"
        return {
            "clock": {
                "date": day.isoformat(),
                "description": description,
                "state": state,
                "timestamp": to_epoch_seconds(now),
                "next_change": nxt,
                "next_state": nxt_state,
            }
        }

    def calendar_days(self, year: int, month: int) -> list[dict[str, Any]]:
        days: list[dict[str, Any]] = []
        for n in range(1, month_calendar.monthrange(year, month)[1] + 1):
            day = date(year, month, n)
            sess = self.session(day)
            if sess is None:
                days.append({"date": day.isoformat(), "status": "closed", "description": "Market is closed"})
                continue
            open_t, close_t = _hhmm(sess.open_utc), _hhmm(sess.close_utc)
            post_end = EARLY_POSTMARKET_END if sess.is_early_close else POSTMARKET_END
            days.append(
                {
                    "date": day.isoformat(),
                    "status": "open",
                    "description": "Market is open" + (" (early close)" if sess.is_early_close else ""),
                    "premarket": {"start": PREMARKET_START, "end": open_t},
                    "open": {"start": open_t, "end": close_t},
                    "postmarket": {"start": close_t, "end": post_end},
                }
            )
        return days


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(market_calendar.NEW_YORK).strftime("%H:%M")
