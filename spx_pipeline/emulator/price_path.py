"""Where the simulated SPX stands at any instant of a trading day, and what its options are worth.

The underlying follows a seeded random walk sampled every ``step`` seconds of the regular session,
a pure function of (seed, trading day, instant): the same inputs give the same path in every
process, whatever order requests arrive in. It is anchored at the day's quote time (the level is
the configured spot there) and flat outside the session. Option quotes keep their generated
spreads and move by the Black–Scholes change in value between the anchor and the instant (at the
option's own implied volatility, with time value decaying from the anchor on), then snap to the
nearest valid SPX tick; greeks, sizes and ``last`` keep their generated values, as an hourly
greeks refresh that has not come yet would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from spx_pipeline.domain.market_calendar import Session

RATE = 0.04  # the generator's rate, so the repricing agrees with the generated chain
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0
_erf = np.vectorize(math.erf, otypes=[np.float64])

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PricePath:
    """The log-level of the underlying on a fixed grid of one session, relative to the anchor."""

    session: Session
    step: timedelta
    levels: FloatArray  # levels[k]: log-level from open + k*step until the next step
    anchor: datetime

    @classmethod
    def build(
        cls, *, seed: int, session: Session, step_seconds: int, volatility: float, anchor: datetime
    ) -> PricePath:
        span = (session.close_utc - session.open_utc).total_seconds()
        steps = math.ceil(span / step_seconds)
        rng = np.random.default_rng([seed, session.day.toordinal()])
        sigma = volatility * math.sqrt(step_seconds / TRADING_SECONDS_PER_YEAR)
        walk = np.concatenate([[0.0], np.cumsum(sigma * rng.standard_normal(steps))])
        step = timedelta(seconds=step_seconds)
        anchor_index = min(max(math.floor((anchor - session.open_utc) / step), 0), steps)
        return cls(session, step, walk - walk[anchor_index], anchor)

    @property
    def day(self) -> date:
        return self.session.day

    def index_at(self, moment: datetime) -> int:
        """The grid step ``moment`` falls in: 0 before the open, the last one after the close."""
        elapsed = (moment - self.session.open_utc) / self.step
        return min(max(math.floor(elapsed), 0), len(self.levels) - 1)

    def boundary(self, index: int) -> datetime:
        return self.session.open_utc + index * self.step

    def factor_at(self, moment: datetime) -> float:
        """Underlying at ``moment`` divided by the configured spot."""
        return math.exp(self.levels[self.index_at(moment)])

    def range_until(self, moment: datetime) -> tuple[float, float, float]:
        """(open, high, low) factors of the session up to ``moment``."""
        seen = self.levels[: self.index_at(moment) + 1]
        return math.exp(seen[0]), math.exp(seen.max()), math.exp(seen.min())

    def pricing_instant(self, index: int) -> datetime:
        """The instant options are valued at in step ``index``: time value decays from the anchor on."""
        return max(self.boundary(index), self.anchor)

    def boundaries_between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Step starts in (after, until] that lie in the regular session, in order."""
        first = max(math.floor((after - self.session.open_utc) / self.step) + 1, 0)
        index = first
        while True:
            moment = self.boundary(index)
            if moment > until or moment >= self.session.close_utc:
                return
            yield moment
            index += 1


def black_scholes(
    spot: float, strikes: FloatArray, is_call: npt.NDArray[np.bool_], sigma: FloatArray, minutes: FloatArray
) -> FloatArray:
    """European values with the generator's conventions (calendar minutes, at least one)."""
    t = np.maximum(minutes, 1.0) / MINUTES_PER_YEAR
    sqrt_t = np.sqrt(t)
    d1 = (np.log(spot / strikes) + (RATE + 0.5 * sigma**2) * t) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    disc = np.exp(-RATE * t)
    n_d1, n_d2 = _norm_cdf(d1), _norm_cdf(d2)
    call = spot * n_d1 - strikes * disc * n_d2
    put = call - spot + strikes * disc  # parity
    return np.where(is_call, call, put)


def _norm_cdf(x: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def nearest_tick(prices: FloatArray) -> FloatArray:
    """Round to the nearest valid SPX price: 0.05 steps below 3.00, 0.10 steps from 3.00 up."""
    fine = np.rint(prices * 20.0) / 20.0
    coarse = np.rint(prices * 10.0) / 10.0
    return np.where(fine < 3.0, fine, coarse)


def moved_quotes(
    bid: FloatArray, ask: FloatArray, base_value: FloatArray, value: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Generated bid/ask shifted by the change in value, on valid ticks, ask above bid, no bid below 0.05."""
    shift = value - base_value
    new_bid = nearest_tick(bid + shift)
    new_bid = np.where(new_bid >= 0.05, new_bid, 0.0)
    new_ask = np.maximum(nearest_tick(ask + shift), 0.05)
    tick = np.where(new_bid < 3.0, 0.05, 0.10)
    new_ask = np.where(new_ask > new_bid, new_ask, nearest_tick(new_bid + tick))
    return new_bid, new_ask
