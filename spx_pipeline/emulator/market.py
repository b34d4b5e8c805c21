"""Deterministic SPX market data for the emulator: expirations, chains, quotes, clock, calendar.

Prices and greeks are Black-Scholes around a fixed spot with a simple smile, so the same config
always yields the same chain (tests can assert on it, benches compare like with like). Only the
quote timestamps follow the clock. Listing rules, kept simple on purpose:

- SPXW (PM-settled, ``expiration_type`` "weeklys") lists every NYSE session from ``today`` for
  ``expirations`` sessions, including a 0DTE series when today is a session.
- SPX (AM-settled monthlies, "standard") lists the next three third Fridays strictly after
  ``today``. Their last trading day is the Thursday before; the emulator does not model the
  AM settlement itself.
- ``symbol=SPX`` without ``includeAllRoots`` lists only SPX dates (the documented trap), with it
  both roots; ``symbol=SPXW`` lists SPXW dates. Chains for ``symbol=SPX`` return every root
  expiring that day; ``symbol=SPXW`` only SPXW rows. (Tradier's real behaviour here is
  unverified; clients should filter on ``root_symbol`` either way.)

Time to expiry is ``(calendar days + 0.25) / 365``: a 0DTE row behaves like a quarter day left,
whatever the wall clock says, which keeps 0DTE greeks finite and the chain reproducible.
"""

from __future__ import annotations

import calendar as _calendar
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from spx_pipeline.domain import market_calendar as mc
from spx_pipeline.domain.ticks import round_to_tick
from spx_pipeline.emulator.symbols import ParsedOption

RATE = 0.04
PREMARKET_START = "04:00"
POSTMARKET_END = "20:00"
EARLY_POSTMARKET_END = "17:00"
INDEX_SYMBOL = "SPX"
MONTHLIES_LISTED = 3
_SQRT_2PI = math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True, slots=True)
class Theo:
    price: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    phi: float


def smile_iv(spot: float, strike: float, days: int) -> float:
    """A skewed smile: puts richer than calls, short-dated vol a bit higher."""
    m = math.log(strike / spot)
    base = 0.13 + 0.04 / math.sqrt(days + 1)
    return max(0.05, base - 0.8 * m + 4.0 * m * m)


def black_scholes(spot: float, strike: float, years: float, iv: float, right: str) -> Theo:
    """European price and greeks (theta per day, vega/rho/phi per 1 percentage point)."""
    sqrt_t = math.sqrt(years)
    d1 = (math.log(spot / strike) + (RATE + 0.5 * iv * iv) * years) / (iv * sqrt_t)
    d2 = d1 - iv * sqrt_t
    disc = math.exp(-RATE * years)
    gamma = _pdf(d1) / (spot * iv * sqrt_t)
    vega = spot * _pdf(d1) * sqrt_t / 100
    decay = -spot * _pdf(d1) * iv / (2 * sqrt_t)
    if right == "C":
        price = spot * _cdf(d1) - strike * disc * _cdf(d2)
        delta = _cdf(d1)
        theta = (decay - RATE * strike * disc * _cdf(d2)) / 365
        rho = strike * years * disc * _cdf(d2) / 100
        phi = -years * spot * _cdf(d1) / 100
    else:
        price = strike * disc * _cdf(-d2) - spot * _cdf(-d1)
        delta = _cdf(d1) - 1.0
        theta = (decay + RATE * strike * disc * _cdf(-d2)) / 365
        rho = -strike * years * disc * _cdf(-d2) / 100
        phi = years * spot * _cdf(-d1) / 100
    return Theo(max(price, 0.0), iv, delta, gamma, theta, vega, rho, phi)


def _stable_fraction(*parts: object) -> float:
    """A reproducible pseudo-random number in [0, 1) (hash() is salted per process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


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
        now: datetime | None,
    ) -> None:
        self.today = today
        self.spot = spot
        self.seed = seed
        self._now = now
        self.strike_step = strike_step
        atm = round(spot / strike_step) * strike_step
        self.strikes: list[float] = [
            float(atm + i * strike_step) for i in range(-strikes_each_side, strikes_each_side + 1)
        ]
        self.spxw_dates: list[date] = mc.sessions_from(today, expirations)
        self.spx_dates: list[date] = self._monthlies(today, MONTHLIES_LISTED)
        self._chain_cache: dict[tuple[str, date], list[dict[str, Any]]] = {}

    # ----- clock -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC)

    @staticmethod
    def _monthlies(today: date, count: int) -> list[date]:
        found: list[date] = []
        year, month = today.year, today.month
        while len(found) < count:
            friday = third_friday(year, month)
            if friday > today:
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

    # ----- pricing -----------------------------------------------------------------------

    def theo(self, expiration: date, right: str, strike: float) -> Theo:
        days = max((expiration - self.today).days, 0)
        years = (days + 0.25) / 365.0
        iv = smile_iv(self.spot, strike, days)
        return black_scholes(self.spot, strike, years, iv, right)

    def _static_row(self, root: str, expiration: date, right: str, strike: float) -> dict[str, Any]:
        contract = ParsedOption(root, expiration, right, Decimal(str(strike)))
        symbol = contract.tradier
        t = self.theo(expiration, right, strike)
        noise = _stable_fraction(self.seed, symbol)
        half_spread = max(0.05, t.price * 0.02)
        ask_raw = t.price + half_spread
        bid_raw = t.price - half_spread
        ask = float(round_to_tick(Decimal(str(max(ask_raw, 0.05))), "buy"))
        bid = float(round_to_tick(Decimal(str(bid_raw)), "sell")) if bid_raw >= 0.05 else None
        traded = noise >= 0.2 and t.price >= 0.05
        last = round(t.price, 2) if traded else None
        volume = int(noise * 5000) if traded else 0
        iv_spread = 0.004 + 0.01 * noise
        bid_iv = 0.0 if bid is None else round(max(t.iv - iv_spread, 0.0), 6)
        kind = "call" if right == "C" else "put"
        return {
            "symbol": symbol,
            "description": f"{root} {expiration:%b %d %Y} {strike:.2f} {kind.title()}",
            "exch": "Z",
            "type": "option",
            "last": last,
            "change": round((noise - 0.5) * t.price * 0.2, 2) if traded else None,
            "volume": volume,
            "open": last,
            "high": round(last * (1 + noise * 0.3), 2) if last is not None else None,
            "low": round(last * (1 - noise * 0.3), 2) if last is not None else None,
            "close": None,
            "bid": bid,
            "ask": ask,
            "underlying": INDEX_SYMBOL,
            "strike": strike,
            "greeks_row": {
                "delta": round(t.delta, 8),
                "gamma": round(t.gamma, 8),
                "theta": round(t.theta, 8),
                "vega": round(t.vega, 8),
                "rho": round(t.rho, 8),
                "phi": round(t.phi, 8),
                "bid_iv": bid_iv,
                "mid_iv": round(t.iv, 6) if bid is not None else 0.0,
                "ask_iv": round(t.iv + iv_spread, 6),
                "smv_vol": round(t.iv, 3),
            },
            "change_percentage": round((noise - 0.5) * 20, 2) if traded else None,
            "average_volume": int(noise * 3000),
            "last_volume": int(noise * 20) + 1 if traded else 0,
            "traded": traded,
            "prevclose": round(t.price * (0.9 + 0.2 * noise), 2),
            "week_52_high": 0.0,
            "week_52_low": 0.0,
            "bidsize": int(10 + noise * 90) if bid is not None else 0,
            "bidexch": "C",
            "asksize": int(10 + (1 - noise) * 90),
            "askexch": "C",
            "open_interest": int(noise * 20000),
            "contract_size": 100,
            "expiration_date": expiration.isoformat(),
            "expiration_type": "weeklys" if root == "SPXW" else "standard",
            "option_type": kind,
            "root_symbol": root,
        }

    def _stamp(self, row: dict[str, Any], *, greeks: bool) -> dict[str, Any]:
        """Add the clock-dependent fields in Tradier's field order (dates in epoch ms)."""
        now = self.now()
        now_ms = int(now.timestamp() * 1000)
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key in ("greeks_row", "traded"):
                continue
            out[key] = value
        out["trade_date"] = now_ms - 60_000 if row["traded"] else 0
        out["bid_date"] = now_ms - 1_000
        out["ask_date"] = now_ms - 1_000
        if greeks:
            hour = now.replace(minute=0, second=0, microsecond=0)
            out["greeks"] = {**row["greeks_row"], "updated_at": hour.strftime("%Y-%m-%d %H:%M:%S")}
        return out

    def _rows(self, root: str, expiration: date) -> list[dict[str, Any]]:
        key = (root, expiration)
        rows = self._chain_cache.get(key)
        if rows is None:
            rows = [
                self._static_row(root, expiration, right, strike)
                for strike in self.strikes
                for right in ("C", "P")
            ]
            self._chain_cache[key] = rows
        return rows

    def chain(self, symbol: str, expiration: date, *, greeks: bool) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for root in self.roots_for(symbol, include_all_roots=True):
            if expiration in self.dates_for_root(root):
                rows.extend(self._stamp(r, greeks=greeks) for r in self._rows(root, expiration))
        return rows

    def option_quote(self, contract: ParsedOption, *, greeks: bool) -> dict[str, Any] | None:
        """Quote any SPX/SPXW contract that has not expired (listed or not, it is priceable)."""
        if contract.underlying != INDEX_SYMBOL or contract.expiration < self.today:
            return None
        row = self._static_row(contract.root, contract.expiration, contract.right, float(contract.strike))
        return self._stamp(row, greeks=greeks)

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

    def clock(self) -> dict[str, Any]:
        now = self.now()
        local = now.astimezone(mc.NEW_YORK)
        day = local.date()
        hhmm = local.strftime("%H:%M")
        if mc.is_session(day):
            sess = mc.session(day)
            open_t = sess.open_utc.astimezone(mc.NEW_YORK).strftime("%H:%M")
            close_t = sess.close_utc.astimezone(mc.NEW_YORK).strftime("%H:%M")
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
            if not mc.is_session(day):
                days.append({"date": day.isoformat(), "status": "closed", "description": "Market is closed"})
                continue
            sess = mc.session(day)
            open_t = sess.open_utc.astimezone(mc.NEW_YORK).strftime("%H:%M")
            close_t = sess.close_utc.astimezone(mc.NEW_YORK).strftime("%H:%M")
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


def default_today(now: datetime | None) -> date:
    """The NYSE trading day as seen from ``now`` (real time when None)."""
    return mc.trading_day(now if now is not None else datetime.now(UTC))
