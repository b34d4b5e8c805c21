"""Deterministic SPX market data for the emulator: expirations, chains, quotes, clock, calendar.

Chain rows come from ``sample_data.tradier_chain_records`` so the emulator, the demo and the tests
all see the same synthetic market; this module adds the quote fields that generator leaves out,
moves quotes along the day's ``PricePath`` when simulating, and stamps them with the clock's
instant, so quotes are exactly as fresh as the clock says. Rows are generated once per day and a
moved series once per path step (vectorised), and the chain, the quotes and the fill engine all
read that one result. The listing rules are under "emulator" in docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

from spx_pipeline.clock import Clock
from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.occ import OptionContract
from spx_pipeline.domain.quotes import to_epoch_ms
from spx_pipeline.emulator.price_path import FloatArray, PricePath, black_scholes, moved_quotes
from spx_pipeline.emulator.sample_data import tradier_chain_records

INDEX_SYMBOL = "SPX"
MONTHLIES_LISTED = 3
DEFAULT_QUOTE_TIME = time(10, 30)
_MOVED_KEPT = 256  # (series, step) results kept; the fill engine walks forward, requests read now


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


@dataclass(frozen=True, slots=True)
class Touch:
    """The inside quote of one contract at one instant, as the quote endpoint shows it."""

    bid: Decimal
    ask: Decimal
    bidsize: int
    asksize: int


@dataclass(frozen=True, slots=True)
class _Series:
    """One (root, expiration) of the generated chain as arrays, for vectorised repricing."""

    rows: list[dict[str, Any]]
    strikes: FloatArray
    is_call: np.ndarray
    sigma: FloatArray
    bid: FloatArray
    ask: FloatArray
    cutoff: datetime  # SPX monthlies stop at the open of expiration day (AM settlement), SPXW at the close
    base_value: FloatArray

    def minutes_from(self, moment: datetime) -> FloatArray:
        return np.full(len(self.rows), (self.cutoff - moment).total_seconds() / 60.0)


class Market:
    """One trading day's market: listed series, their quotes at any instant, the index quote."""

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
        quote_time: datetime,
        path: PricePath | None = None,
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
        self.quote_time = quote_time
        self.path = path
        self._pool_lock = threading.Lock()
        self._by_series: dict[tuple[str, date], list[dict[str, Any]]] | None = None
        self._by_symbol: dict[str, dict[str, Any]] = {}
        self._position: dict[str, tuple[tuple[str, date], int]] = {}
        self._series: dict[tuple[str, date], _Series] = {}
        self._moved: OrderedDict[tuple[tuple[str, date], int], tuple[FloatArray, FloatArray]] = OrderedDict()

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
                    series_rows = by_series.setdefault(key, [])
                    self._position[row["symbol"]] = (key, len(series_rows))
                    series_rows.append(row)
                    self._by_symbol[row["symbol"]] = row
                self._by_series = by_series
            return self._by_series

    def _series_model(self, key: tuple[str, date], rows: list[dict[str, Any]]) -> _Series:
        """Arrays of one series and its value at the quote time; call with the pool lock held."""
        series = self._series.get(key)
        if series is None:
            root, expiration = key
            sess = market_calendar.session(expiration)
            cutoff = sess.open_utc if root == "SPX" else sess.close_utc
            strikes = np.array([r["strike"] for r in rows], dtype=np.float64)
            is_call = np.array([r["option_type"] == "call" for r in rows])
            sigma = np.array([r["greeks"]["mid_iv"] for r in rows], dtype=np.float64)
            minutes = np.full(len(rows), (cutoff - self.quote_time).total_seconds() / 60.0)
            series = _Series(
                rows=rows,
                strikes=strikes,
                is_call=is_call,
                sigma=sigma,
                bid=np.array([r["bid"] for r in rows], dtype=np.float64),
                ask=np.array([r["ask"] for r in rows], dtype=np.float64),
                cutoff=cutoff,
                base_value=black_scholes(self.spot, strikes, is_call, sigma, minutes),
            )
            self._series[key] = series
        return series

    def _quotes_at(
        self, path: PricePath, key: tuple[str, date], moment: datetime
    ) -> tuple[FloatArray, FloatArray]:
        """(bid, ask) of every row of a series in the path step of ``moment``."""
        index = path.index_at(moment)
        rows = self._pool()[key]
        with self._pool_lock:
            cached = self._moved.get((key, index))
            if cached is not None:
                return cached
            series = self._series_model(key, rows)
        spot = self.spot * path.factor_at(moment)
        minutes = series.minutes_from(path.pricing_instant(index))
        value = black_scholes(spot, series.strikes, series.is_call, series.sigma, minutes)
        moved = moved_quotes(series.bid, series.ask, series.base_value, value)
        with self._pool_lock:
            self._moved[(key, index)] = moved
            while len(self._moved) > _MOVED_KEPT:
                self._moved.popitem(last=False)
        return moved

    def _stamp(self, row: dict[str, Any], *, greeks: bool) -> dict[str, Any]:
        """A copy for one response: greeks on request, quote stamps moved to the clock's instant."""
        out = dict(row)
        if not greeks:
            del out["greeks"]
        now = self.now()
        shift = to_epoch_ms(now) - to_epoch_ms(self.quote_time)
        if shift:
            for key in ("bid_date", "ask_date", "trade_date"):
                if out[key]:
                    out[key] += shift
        if self.path is not None:
            key, i = self._position[row["symbol"]]
            bid, ask = self._quotes_at(self.path, key, now)
            out["bid"], out["ask"] = float(bid[i]), float(ask[i])
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

    def touch(self, option_symbol: str, at: datetime) -> Touch | None:
        """Bid/ask and sizes of ``option_symbol`` at ``at`` (the quote endpoint's numbers)."""
        self._pool()
        row = self._by_symbol.get(option_symbol)
        if row is None:
            return None
        bid, ask = float(row["bid"]), float(row["ask"])
        if self.path is not None:
            key, i = self._position[option_symbol]
            bids, asks = self._quotes_at(self.path, key, at)
            bid, ask = float(bids[i]), float(asks[i])
        return Touch(Decimal(str(bid)), Decimal(str(ask)), int(row["bidsize"]), int(row["asksize"]))

    def spot_at(self, moment: datetime) -> float:
        return self.spot if self.path is None else self.spot * self.path.factor_at(moment)

    def index_quote(self) -> dict[str, Any]:
        now = self.now()
        now_ms = to_epoch_ms(now)
        last, high, low, opened = self.spot, self.spot * 1.004, self.spot * 0.995, self.spot * 0.997
        if self.path is not None:
            opened_f, high_f, low_f = self.path.range_until(now)
            last = self.spot_at(now)
            opened, high, low = self.spot * opened_f, self.spot * high_f, self.spot * low_f
        prevclose = round(self.spot / 1.0042, 2)
        return {
            "symbol": INDEX_SYMBOL,
            "description": "S&P 500 Index",
            "exch": "I",
            "type": "index",
            "last": round(last, 2),
            "change": round(self.spot * 0.0042, 2) if self.path is None else round(last - prevclose, 2),
            "volume": 0,
            "open": round(opened, 2),
            "high": round(high, 2),
            "low": round(low, 2),
            "close": None,
            "bid": None,
            "ask": None,
            "change_percentage": 0.42 if self.path is None else round((last / prevclose - 1) * 100, 2),
            "average_volume": 0,
            "last_volume": 0,
            "trade_date": now_ms - 1_000,
            "prevclose": prevclose,
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


def default_today(clock: Clock) -> date:
    """The NYSE trading day as seen from the clock's instant."""
    return market_calendar.trading_day(clock.now())
