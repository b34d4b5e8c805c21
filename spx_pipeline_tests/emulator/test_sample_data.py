"""The synthetic chain must look like Tradier's and be reproducible, or every downstream test lies."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from spx_pipeline.domain.market_calendar import NEW_YORK
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.domain.ticks import is_on_tick
from spx_pipeline.emulator.sample_data import is_third_friday, synthetic_spx_chain, tradier_chain_records

AS_OF = date(2026, 11, 24)  # Tuesday before Thanksgiving; Friday 11-27 is a half day


@pytest.fixture(scope="module")
def chain() -> pd.DataFrame:
    return synthetic_spx_chain(AS_OF)


def test_default_shape_five_sessions_skipping_thanksgiving(chain: pd.DataFrame) -> None:
    assert sorted(chain["expiration_date"].unique()) == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-27",
        "2026-11-30",
        "2026-12-01",
    ]
    assert len(chain) == 5 * 81 * 2
    assert set(chain["root_symbol"]) == {"SPXW"}
    assert set(chain["underlying"]) == {"SPX"}
    for column in [
        "symbol",
        "bid",
        "ask",
        "volume",
        "open_interest",
        "delta",
        "gamma",
        "theta",
        "vega",
        "mid_iv",
    ]:
        assert column in chain.columns


def test_deterministic_and_seed_sensitive(chain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(chain, synthetic_spx_chain(AS_OF))
    other = synthetic_spx_chain(AS_OF, seed=8)
    assert not other["volume"].equals(chain["volume"])
    assert other["delta"].equals(chain["delta"])  # greeks depend on the market, not the seed


def test_symbols_agree_with_columns(chain: pd.DataFrame) -> None:
    for row in chain.sample(40, random_state=1).itertuples():
        contract = parse_option_symbol(row.symbol)
        assert contract.root == row.root_symbol
        assert contract.expiration.isoformat() == row.expiration_date
        assert contract.right == ("C" if row.option_type == "call" else "P")
        assert contract.strike == Decimal(str(row.strike))


def test_quotes_on_tick_and_ordered(chain: pd.DataFrame) -> None:
    assert (chain["ask"] > chain["bid"]).all()
    assert all(is_on_tick(Decimal(str(a))) for a in chain["ask"])
    assert all(is_on_tick(Decimal(str(b))) for b in chain["bid"] if b > 0)
    assert (chain["bid"] == 0).any(), "far out-of-the-money rows should have no bid"


def test_black_scholes_deltas(chain: pd.DataFrame) -> None:
    calls = chain[(chain["option_type"] == "call") & (chain["expiration_date"] == "2026-11-24")]
    puts = chain[(chain["option_type"] == "put") & (chain["expiration_date"] == "2026-11-24")]
    assert ((calls["delta"] >= 0) & (calls["delta"] <= 1)).all()
    assert ((puts["delta"] >= -1) & (puts["delta"] <= 0)).all()
    assert (np.diff(calls.sort_values("strike")["delta"].to_numpy()) <= 0).all()
    # Put-call parity on deltas: call delta - put delta == 1 for the same strike (no dividends).
    merged = calls.merge(puts, on="strike")
    np.testing.assert_allclose(merged["delta_x"] - merged["delta_y"], 1.0, atol=1e-12)
    atm = calls.loc[(calls["strike"] - 6000).abs().idxmin(), "delta"]
    assert 0.45 < atm < 0.6


def test_time_to_close_in_minutes_shrinks_gamma_spread() -> None:
    early = synthetic_spx_chain(
        AS_OF, expirations=[AS_OF], now=datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    )
    late = synthetic_spx_chain(
        AS_OF, expirations=[AS_OF], now=datetime(2026, 11, 24, 15, 30, tzinfo=NEW_YORK)
    )
    strike = (early["strike"] == 6000) & (early["option_type"] == "call")
    assert late.loc[strike, "gamma"].iloc[0] > early.loc[strike, "gamma"].iloc[0]
    assert late.loc[strike, "ask"].iloc[0] < early.loc[strike, "ask"].iloc[0]


def test_third_friday_adds_am_spx_root() -> None:
    assert is_third_friday(date(2026, 12, 18))
    assert not is_third_friday(date(2026, 12, 11))
    frame = synthetic_spx_chain(
        AS_OF, expirations=[date(2026, 12, 11), date(2026, 12, 18)], strikes_each_side=2
    )
    dec18 = frame[frame["expiration_date"] == "2026-12-18"]
    assert set(dec18["root_symbol"]) == {"SPX", "SPXW"}
    assert set(dec18.loc[dec18["root_symbol"] == "SPX", "expiration_type"]) == {"standard"}
    assert set(frame.loc[frame["expiration_date"] == "2026-12-11", "root_symbol"]) == {"SPXW"}


def test_quote_times_are_epoch_ms_near_now() -> None:
    now = datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK)
    frame = synthetic_spx_chain(AS_OF, expirations=[AS_OF], now=now, strikes_each_side=3)
    now_ms = now.timestamp() * 1000
    assert ((frame["bid_date"] <= now_ms) & (frame["bid_date"] > now_ms - 15_000)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spot": -1.0}, "spot"),
        ({"strike_step": 0}, "strike_step"),
        ({"strikes_each_side": -1}, "strikes_each_side"),
        ({"now": datetime(2026, 11, 24, 10, 0)}, "timezone-aware"),
        ({"expirations": [date(2026, 11, 23)]}, "2026-11-23"),
    ],
)
def test_bad_arguments_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        synthetic_spx_chain(AS_OF, **kwargs)  # type: ignore[arg-type]


def test_tradier_records_are_nested_and_json_ready(chain: pd.DataFrame) -> None:
    records = tradier_chain_records(AS_OF)
    assert len(records) == len(chain)
    first = records[0]
    assert first["symbol"] == chain["symbol"].iloc[0]
    assert "delta" not in first
    assert first["greeks"]["delta"] == chain["delta"].iloc[0]
    assert set(first["greeks"]) >= {"delta", "gamma", "theta", "vega", "mid_iv", "smv_vol", "updated_at"}
    assert any(r["last"] is None for r in records)
    json.dumps(records)
