"""Deterministic SPX market data for the emulator: expirations, chains, quotes, clock, calendar.

Chain rows come from ``spx_pipeline.emulator.sample_data.tradier_chain_records`` (Black-Scholes
around a fixed spot, time measured to the expiry's close from the quote time) so the emulator,
the demo and the tests all see the same synthetic market; the emulator only adds the quote
fields that generator leaves out (change, open/high/low, 52-week range, exchanges, trade_date).
Time comes from the emulator's ``Clock`` (``spx_pipeline.clock``): a pinned clock prices the
chain at that instant; a clock that follows the machine prices it at 10:30 ET on ``today`` so
prices stay reproducible run to run. Either way the epoch-ms quote stamps are moved to the
clock's current instant at each response, so quotes are exactly as fresh as the clock says.

Listing rules, kept simple on purpose:

- SPXW (PM-settled, ``expiration_type`` "weeklys") lists every NYSE session from ``today`` for
  ``expirations`` sessions, including a 0DTE series when today is a session.
- SPX (AM-settled monthlies, "standard") lists the next three third Fridays strictly after
  ``today`` that are sessions. Their last trading day is the Thursday before; the emulator does
  not model the AM settlement itself, and a holiday Friday (Juneteenth) is simply not listed.
- ``symbol=SPX`` without ``includeAllRoots`` lists only SPX dates (the documented trap), with it
  both roots; ``symbol=SPXW`` lists SPXW dates. Chains for ``symbol=SPX`` return every root
  expiring that day; ``symbol=SPXW`` only SPXW rows. (Tradier's real behaviour here is
  unverified; clients should filter on ``root_symbol`` either way.)
- Quotes know every generated contract (including SPXW on the monthly Fridays); anything else
  is an unmatched symbol.
"""

from __future__ import annotations

import calendar as _calendar
import hashlib
import threading
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from spx_pipeline.clock import Clock, is_pinned
from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.occ import OptionContract
from spx_pipeline.emulator.sample_data import tradier_chain_records

PREMARKET_START = "04:00"
POSTMARKET_END = "20:00"
EARLY_POSTMARKET_END = "17:00"
INDEX_SYMBOL = "SPX"
MONTHLIES_LISTED = 3
DEFAULT_QUOTE_TIME = time(10, 30)


def _stable_fraction(*parts: object) -> float:
    """A reproducible pseudo-random number in [0, 1) (hash() is salted per process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


def _complete(row: dict[str, Any], seed: int) -> dict[str, Any]:
    """A generated row plus the remaining Tradier quote fields, in Tradier's field order."""
    noise = _stable_fraction(seed, row["symbol"])
    last = row["last"]
    traded = last is not None
    prevclose = round(((row["bid"] or 0) + row["ask"]) / 2 * (0.9 + 0.2 * noise), 2)
    return {
        "symbol": row["symbol"],
        "description": row["description"],
        "exch": row["exch"],
        "type": row["type"],
        "last": last,
        "change": round(last - prevclose, 2) if traded else None,
        "volume": row["volume"],
        "open": round(last * (0.9 + 0.2 * noise), 2) if traded else None,
        "high": round(last * (1.05 + 0.3 * noise), 2) if traded else None,
        "low": round(last * (0.95 - 0.3 * noise), 2) if traded else None,
        "close": None,
        "bid": row["bid"],
        "ask": row["ask"],
        "underlying": row["underlying"],
        "strike": row["strike"],
        "greeks": row["greeks"],
        "change_percentage": round((last - prevclose) / prevclose * 100, 2) if traded and prevclose else None,
        "average_volume": int(row["volume"] * (0.5 + noise)),
        "last_volume": 1 + int(noise * 10) if traded else 0,
        "trade_date": row["bid_date"] - 30_000 if traded else 0,
        "prevclose": prevclose,
        "week_52_high": 0.0,
        "week_52_low": 0.0,
        "bidsize": row["bidsize"],
        "bidexch": "C",
        "bid_date": row["bid_date"],
        "asksize": row["asksize"],
        "askexch": "C",
        "ask_date": row["ask_date"],
        "open_interest": row["open_interest"],
        "contract_size": row["contract_size"],
        "expiration_date": row["expiration_date"],
        "expiration_type": row["expiration_type"],
        "option_type": row["option_type"],
        "root_symbol": row["root_symbol"],
    }


@lru_cache(maxsize=8)
def _generated_rows(
    today: date,
    *,
    spot: float,
    expirations: tuple[date, ...],
    strikes_each_side: int,
    strike_step: int,
    seed: int,
    quote_time: datetime,
) -> tuple[dict[str, Any], ...]:
    """Shared across emulators with the same market (every test starts one; ~0.1 s to generate)."""
    rows = tradier_chain_records(
        today, spot, list(expirations), strikes_each_side, strike_step, seed, quote_time
    )
    return tuple(_complete(row, seed) for row in rows)


class Market:
    """One emulator's market: fixed spot, listed series and the clock it answers with."""

    def __init__(
        self,
        *,
        today: date,
        spot: float,
        expirations: int,
        strikes_each_side: int,
        strike_step: int,
        seed: int,
        clock: Clock,
    ) -> None:
        self.today = today
        self.spot = spot
        self.seed = seed
        self._clock = clock
        self.strikes_each_side = strikes_each_side
        self.strike_step = strike_step
        atm = round(spot / strike_step) * strike_step
        self.strikes: list[float] = [
            float(atm + i * strike_step)
            for i in range(-strikes_each_side, strikes_each_side + 1)
            if atm + i * strike_step > 0
        ]
        self.spxw_dates: list[date] = market_calendar.sessions_from(today, expirations)
        self.spx_dates: list[date] = self._monthlies(today, MONTHLIES_LISTED)
        self.quote_time = (
            clock.now()
            if is_pinned(clock)
            else datetime.combine(today, DEFAULT_QUOTE_TIME, tzinfo=market_calendar.NEW_YORK)
        )
        self._pool_lock = threading.Lock()
        self._by_series: dict[tuple[str, date], list[dict[str, Any]]] | None = None
        self._by_symbol: dict[str, dict[str, Any]] = {}
        self._sessions: dict[date, market_calendar.Session | None] = {}

    # ----- clock -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock.now()

    @staticmethod
    def _monthlies(today: date, count: int) -> list[date]:
        found: list[date] = []
        year, month = today.year, today.month
        while len(found) < count:
            friday = third_friday(year, month)
            if friday > today and market_calendar.is_session(friday):
                found.append(friday)
            month += 1
            if month == 13:
                year, month = year + 1, 1
        return found

    # ----- listings ----------------------------------------------------------------------

    def roots_for(self, symbol: str, *, include_all_roots: bool) -> list[str]:
        symbol = symbol.upper()
        if symbol == "SPXW":
            return ["SPXW"]
        if symbol == "SPX":
            return ["SPX", "SPXW"] if include_all_roots else ["SPX"]
        return []

    def dates_for_root(self, root: str) -> list[date]:
        return self.spxw_dates if root == "SPXW" else self.spx_dates if root == "SPX" else []

    def expirations(self, symbol: str, *, include_all_roots: bool) -> list[date]:
        dates: set[date] = set()
        for root in self.roots_for(symbol, include_all_roots=include_all_roots):
            dates.update(self.dates_for_root(root))
        return sorted(dates)

    # ----- rows --------------------------------------------------------------------------

    def _pool(self) -> dict[tuple[str, date], list[dict[str, Any]]]:
        """Generated on first use so starting an emulator stays cheap."""
        with self._pool_lock:
            if self._by_series is None:
                rows = _generated_rows(
                    self.today,
                    spot=self.spot,
                    expirations=tuple(sorted(set(self.spxw_dates) | set(self.spx_dates))),
                    strikes_each_side=self.strikes_each_side,
                    strike_step=self.strike_step,
                    seed=self.seed,
                    quote_time=self.quote_time,
                )
                by_series: dict[tuple[str, date], list[dict[str, Any]]] = {}
                for row in rows:
                    key = (row["root_symbol"], date.fromisoformat(row["expiration_date"]))
                    by_series.setdefault(key, []).append(row)
                    self._by_symbol[row["symbol"]] = row
                self._by_series = by_series
            return self._by_series

    def _stamp(self, row: dict[str, Any], *, greeks: bool) -> dict[str, Any]:
        """A copy for one response: greeks on request, quote stamps moved to the clock's instant."""
        out = dict(row)
        if not greeks:
            del out["greeks"]
        shift = int(self.now().timestamp() * 1000) - int(self.quote_time.timestamp() * 1000)
        if shift:
            for key in ("bid_date", "ask_date", "trade_date"):
                if out[key]:
                    out[key] += shift
        return out

    def chain(self, symbol: str, expiration: date, *, greeks: bool) -> list[dict[str, Any]]:
        pool = self._pool()
        rows: list[dict[str, Any]] = []
        for root in self.roots_for(symbol, include_all_roots=True):
            if expiration in self.dates_for_root(root):
                rows.extend(self._stamp(r, greeks=greeks) for r in pool.get((root, expiration), []))
        return rows

    def option_quote(self, contract: OptionContract, *, greeks: bool) -> dict[str, Any] | None:
        """The generated row for ``contract``; None for contracts this market does not list."""
        self._pool()
        row = self._by_symbol.get(contract.tradier)
        return None if row is None else self._stamp(row, greeks=greeks)

    def index_quote(self) -> dict[str, Any]:
        now_ms = int(self.now().timestamp() * 1000)
        return {
            "symbol": INDEX_SYMBOL,
            "description": "S&P 500 Index",
            "exch": "I",
            "type": "index",
            "last": round(self.spot, 2),
            "change": round(self.spot * 0.0042, 2),
            "volume": 0,
            "open": round(self.spot * 0.997, 2),
            "high": round(self.spot * 1.004, 2),
            "low": round(self.spot * 0.995, 2),
            "close": None,
            "bid": None,
            "ask": None,
            "change_percentage": 0.42,
            "average_volume": 0,
            "last_volume": 0,
            "trade_date": now_ms - 1_000,
            "prevclose": round(self.spot / 1.0042, 2),
            "week_52_high": round(self.spot * 1.08, 2),
            "week_52_low": round(self.spot * 0.82, 2),
            "bidsize": 0,
            "bidexch": None,
            "bid_date": 0,
            "asksize": 0,
            "askexch": None,
            "ask_date": 0,
            "root_symbols": "SPX,SPXW",
        }

    # ----- clock and calendar --------------------------------------------------------------

    def _session(self, day: date) -> market_calendar.Session | None:
        """Calendar lookups go through pandas (~0.3 ms); a day's answer never changes, so keep it."""
        if day not in self._sessions:
            self._sessions[day] = market_calendar.session(day) if market_calendar.is_session(day) else None
        return self._sessions[day]

    def clock(self) -> dict[str, Any]:
        now = self.now()
        local = now.astimezone(market_calendar.NEW_YORK)
        day = local.date()
        hhmm = local.strftime("%H:%M")
        sess = self._session(day)
        if sess is not None:
            open_t = sess.open_utc.astimezone(market_calendar.NEW_YORK).strftime("%H:%M")
            close_t = sess.close_utc.astimezone(market_calendar.NEW_YORK).strftime("%H:%M")
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
            if state == "open":
                description = f"Market is open from {open_t} to {close_t}"
        else:
            state, nxt, nxt_state = "closed", PREMARKET_START, "premarket"
            description = "Market is closed"
        return {
            "clock": {
                "date": day.isoformat(),
                "description": description,
                "state": state,
                "timestamp": int(now.timestamp()),
                "next_change": nxt,
                "next_state": nxt_state,
            }
        }

    def calendar_days(self, year: int, month: int) -> list[dict[str, Any]]:
        days: list[dict[str, Any]] = []
        for n in range(1, _calendar.monthrange(year, month)[1] + 1):
            day = date(year, month, n)
            sess = self._session(day)
            if sess is None:
                days.append({"date": day.isoformat(), "status": "closed", "description": "Market is closed"})
                continue
            open_t = sess.open_utc.astimezone(market_calendar.NEW_YORK).strftime("%H:%M")
            close_t = sess.close_utc.astimezone(market_calendar.NEW_YORK).strftime("%H:%M")
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


def default_today(clock: Clock) -> date:
    """The NYSE trading day as seen from the clock's instant."""
    return market_calendar.trading_day(clock.now())
