"""The simulated path is a pure function of (seed, day, instant); its quotes stay on valid ticks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.ticks import is_on_tick
from spx_pipeline.emulator.fills import fill_price, step_ticks
from spx_pipeline.emulator.price_path import PricePath, moved_quotes, nearest_tick

DAY = date(2026, 11, 24)
ANCHOR = datetime(2026, 11, 24, 10, 30, tzinfo=market_calendar.NEW_YORK)


def build(seed: int = 7, day: date = DAY, anchor: datetime = ANCHOR) -> PricePath:
    return PricePath.build(
        seed=seed, session=market_calendar.session(day), step_seconds=15, volatility=0.15, anchor=anchor
    )


def test_the_same_seed_and_day_give_the_same_path_and_others_differ() -> None:
    path = build()
    np.testing.assert_array_equal(path.levels, build().levels)
    assert not np.array_equal(path.levels, build(seed=8).levels)
    other_day = build(day=date(2026, 11, 25), anchor=ANCHOR + timedelta(days=1))
    assert not np.array_equal(path.levels, other_day.levels)
    assert path.factor_at(ANCHOR) == 1.0  # the configured spot at the anchor
    assert path.factor_at(ANCHOR + timedelta(minutes=90)) != 1.0


def test_the_path_is_flat_outside_the_session_and_steps_on_its_grid() -> None:
    path = build()
    session = path.session
    assert path.factor_at(session.open_utc - timedelta(hours=3)) == path.factor_at(session.open_utc)
    last = path.factor_at(session.close_utc)
    assert path.factor_at(session.close_utc + timedelta(hours=5)) == last
    step_start = session.open_utc + timedelta(minutes=60)
    assert path.factor_at(step_start) == path.factor_at(step_start + timedelta(seconds=14.9))
    moments = list(path.boundaries_between(step_start, step_start + timedelta(minutes=1)))
    assert moments == [step_start + timedelta(seconds=15 * k) for k in (1, 2, 3, 4)]
    assert list(path.boundaries_between(session.close_utc - timedelta(seconds=20), session.close_utc)) == [
        session.close_utc - timedelta(seconds=15)
    ]


def test_nearest_tick_lands_on_the_spx_grid() -> None:
    prices = np.random.default_rng(1).uniform(0.03, 40.0, 2000)
    for value in nearest_tick(prices):
        assert is_on_tick(Decimal(str(value)))
    assert list(nearest_tick(np.array([2.97, 2.98, 3.04, 3.06]))) == [2.95, 3.0, 3.0, 3.1]


def test_moved_quotes_keep_a_valid_spread() -> None:
    bid = np.array([0.0, 1.20, 2.90, 15.30])
    ask = np.array([0.05, 1.35, 3.10, 15.80])
    base = (bid + ask) / 2
    for shift in (-20.0, -0.4, 0.0, 0.13, 2.5):
        new_bid, new_ask = moved_quotes(bid, ask, base, base + shift)
        assert (new_ask > new_bid).all() and (new_ask >= 0.05).all() and (new_bid >= 0).all()
    same_bid, same_ask = moved_quotes(bid, ask, base, base)
    assert list(same_bid) == list(bid) and list(same_ask) == list(ask)


@pytest.mark.parametrize("ticks", [-1, 0, 1, 2])
def test_fill_prices_stay_inside_the_spread_and_the_limit(ticks: int) -> None:
    bid, ask = Decimal("2.90"), Decimal("3.20")
    buy = fill_price(bid=bid, ask=ask, buying=True, adverse_ticks=ticks, limit=None)
    assert buy == step_ticks(ask, ticks) and bid < buy
    assert fill_price(bid=bid, ask=ask, buying=True, adverse_ticks=ticks, limit=ask) <= ask
    sell = fill_price(bid=bid, ask=ask, buying=False, adverse_ticks=ticks, limit=None)
    assert sell == step_ticks(bid, -ticks) and sell < ask
    assert fill_price(bid=bid, ask=ask, buying=False, adverse_ticks=ticks, limit=bid) >= bid


def test_price_improvement_stops_one_tick_inside_a_tight_spread() -> None:
    tight = {"bid": Decimal("1.10"), "ask": Decimal("1.15")}
    assert fill_price(**tight, buying=True, adverse_ticks=-1, limit=None) == Decimal("1.15")
    assert fill_price(**tight, buying=False, adverse_ticks=-1, limit=None) == Decimal("1.10")
    assert step_ticks(Decimal("2.95"), 2) == Decimal("3.10") and step_ticks(Decimal("3.10"), -3) == Decimal(
        "2.90"
    )
