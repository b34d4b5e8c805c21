"""Chain preparation: a Tradier-shaped chain normalised once, in one vectorized pass, for every setup.

Symbols go through the OCC module (root, expiry, right and strike come from the symbol, so the
chain's own columns for them may be absent), limit prices onto the SPX tick grid (the mid rounded
up for a buy, never above the ask rounded down), prices into integer 1/10,000 dollars for exact
comparisons, and quote times through ``domain.quotes`` (a row is as fresh as its staler side).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from spx_pipeline.domain.money import UNITS
from spx_pipeline.domain.occ import parse_option_symbols
from spx_pipeline.domain.quotes import staler_side, to_utc
from spx_pipeline.domain.sizing import MAX_PREMIUM
from spx_pipeline.domain.ticks import round_to_tick_array

NO_TIME = np.iinfo(np.int64).min  # quote_ns of an undated row


def _delta_column(chain: pd.DataFrame) -> pd.Series:
    if "delta" in chain.columns:
        return pd.to_numeric(chain["delta"], errors="coerce")
    if "greeks" in chain.columns:
        return pd.to_numeric(
            chain["greeks"].map(lambda g: g.get("delta") if isinstance(g, Mapping) else None), errors="coerce"
        )
    raise ValueError("chain needs a 'delta' column or a 'greeks' column of dicts; it has neither")


def _quote_ns(chain: pd.DataFrame) -> np.ndarray:
    """Epoch nanoseconds of each row's staler quote side; ``NO_TIME`` when undated."""
    stamps = to_utc(chain["quote_time"]) if "quote_time" in chain.columns else staler_side(chain)
    known = stamps.notna().to_numpy()
    ns = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.where(known, ns, NO_TIME)


def _money_units(values: np.ndarray) -> np.ndarray:
    """Prices as int64 1/10,000 dollars (quotes carry at most 4 decimals); -1 when not a price."""
    usable = np.isfinite(values) & (values >= 0) & (values < float(MAX_PREMIUM))
    return np.where(usable, np.rint(np.where(usable, values, 0.0) * UNITS), -1).astype(np.int64)


def prepare_chain(chain: pd.DataFrame, *, quote_times: bool = True) -> pd.DataFrame:
    """Normalise a Tradier-shaped chain into the columns selection works on (one pass, vectorized).

    ``quote_times=False`` skips the quote-time conversion when no freshness filter will read it.
    """
    if not isinstance(chain, pd.DataFrame):
        raise TypeError(f"chain must be a pandas DataFrame, got {type(chain).__name__}")
    missing = [c for c in ("symbol", "bid", "ask") if c not in chain.columns]
    if missing:
        raise ValueError(f"chain is missing required column(s) {missing}; it has {list(chain.columns)}")
    symbols = parse_option_symbols(chain["symbol"].reset_index(drop=True))
    bid = pd.to_numeric(chain["bid"], errors="coerce").to_numpy(dtype=np.float64)
    ask = pd.to_numeric(chain["ask"], errors="coerce").to_numpy(dtype=np.float64)
    mid = (bid + ask) / 2.0
    limit = np.minimum(round_to_tick_array(mid, "buy"), round_to_tick_array(ask, "sell"))

    def count(name: str) -> np.ndarray:
        if name not in chain.columns:
            return np.full(len(chain), np.nan)
        return pd.to_numeric(chain[name], errors="coerce").to_numpy(dtype=np.float64)

    return pd.DataFrame(
        {
            "symbol": symbols["tradier"].to_numpy(),
            "symbol_osi": symbols["osi"].to_numpy(),
            "symbol_massive": symbols["massive"].to_numpy(),
            "root_symbol": symbols["root"].to_numpy(),
            "expiration": symbols["expiration"].dt.date.to_numpy(),
            "option_type": np.where(symbols["right"].to_numpy() == "C", "call", "put"),
            "strike_milli": symbols["strike_milli"].to_numpy(dtype=np.int64),
            "bid": bid,
            "ask": ask,
            "mid": mid,
            "limit": limit,
            "volume": count("volume"),
            "open_interest": count("open_interest"),
            "delta": _delta_column(chain).to_numpy(dtype=np.float64),
            "quote_ns": _quote_ns(chain.reset_index(drop=True)) if quote_times else NO_TIME,
            "bid_u": _money_units(bid),
            "ask_u": _money_units(ask),
        }
    )
