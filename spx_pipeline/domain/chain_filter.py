"""A chain prepared once, then filtered per (option type, expiry) with a reason when nothing is left.

``prepare_chain`` normalises a Tradier-shaped chain in one vectorized pass (symbols through the OCC
module, limit prices on the SPX tick grid, prices in integer 1/10,000 dollars, quote times through
``domain.quotes``). ``ChainIndex`` caches the filtered candidates per (type, expiry) so every setup
and account reuses them, and picks the contract nearest a setup's target delta. Money comparisons
(the spread test) are exact; a quote is as fresh as its staler side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spx_pipeline.domain.market_calendar import NEW_YORK, is_open_at, session, trading_day
from spx_pipeline.domain.occ import parse_option_symbols
from spx_pipeline.domain.quotes import staler_side, to_utc
from spx_pipeline.domain.sizing import MAX_PREMIUM
from spx_pipeline.domain.ticks import round_to_tick_array

if TYPE_CHECKING:
    from spx_pipeline.domain.contracts import SelectionConfig, Setup


def spread_basis_points(max_spread_pct: float) -> int:
    """``max_spread_pct`` in whole basis points, so the spread test is exact integer arithmetic."""
    if isinstance(max_spread_pct, bool) or not isinstance(max_spread_pct, int | float | Decimal):
        raise ValueError(f"max_spread_pct must be a number, got {max_spread_pct!r}")
    value = Decimal(str(max_spread_pct))
    if not value.is_finite() or value <= 0 or value > 100:
        raise ValueError(
            f"max_spread_pct must be a positive fraction of mid (0.10 = 10%), got {max_spread_pct!r}"
        )
    points = value * 10_000
    if points != points.to_integral_value():
        raise ValueError(f"max_spread_pct {max_spread_pct!r} is finer than a basis point (0.0001)")
    return int(points)


def _delta_column(chain: pd.DataFrame) -> pd.Series:
    if "delta" in chain.columns:
        return pd.to_numeric(chain["delta"], errors="coerce")
    if "greeks" in chain.columns:
        return pd.to_numeric(
            chain["greeks"].map(lambda g: g.get("delta") if isinstance(g, Mapping) else None), errors="coerce"
        )
    raise ValueError("chain needs a 'delta' column or a 'greeks' column of dicts; it has neither")


_NO_TIME = np.iinfo(np.int64).min
_UNITS = 10_000


def _quote_ns(chain: pd.DataFrame) -> np.ndarray:
    """Epoch nanoseconds of each row's staler quote side; ``_NO_TIME`` when undated."""
    stamps = to_utc(chain["quote_time"]) if "quote_time" in chain.columns else staler_side(chain)
    known = stamps.notna().to_numpy()
    ns = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.where(known, ns, _NO_TIME)


def _money_units(values: np.ndarray) -> np.ndarray:
    """Prices as int64 1/10,000 dollars (quotes carry at most 4 decimals); -1 when not a price."""
    usable = np.isfinite(values) & (values >= 0) & (values < float(MAX_PREMIUM))
    return np.where(usable, np.rint(np.where(usable, values, 0.0) * _UNITS), -1).astype(np.int64)


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
            "quote_ns": _quote_ns(chain.reset_index(drop=True)) if quote_times else _NO_TIME,
            "bid_u": _money_units(bid),
            "ask_u": _money_units(ask),
        }
    )


@dataclass(frozen=True, slots=True)
class Pick:
    """The chosen contract for one (setup, expiry), or why there is none."""

    row: dict[str, Any] | None
    reason: str | None


class ChainIndex:
    """Filtered candidates per (option type, expiry), computed on first use and reused by all setups."""

    def __init__(self, prepared: pd.DataFrame, config: SelectionConfig, now: datetime | None) -> None:
        self.config = config
        self.now = now
        self.now_ns = None if now is None else int(pd.Timestamp(now).as_unit("ns").value)
        self.spread_bp = spread_basis_points(config.max_spread_pct)
        in_roots = prepared["root_symbol"].isin(config.roots).to_numpy()
        self.frame = prepared[in_roots].reset_index(drop=True)
        self._candidates: dict[tuple[str, date], tuple[pd.DataFrame, str | None]] = {}

    def expirations(self, option_type: str, as_of: date) -> list[date]:
        mask = (self.frame["option_type"] == option_type).to_numpy()
        return sorted(e for e in set(self.frame.loc[mask, "expiration"]) if e >= as_of)

    def candidates(self, option_type: str, expiry: date) -> tuple[pd.DataFrame, str | None]:
        key = (option_type, expiry)
        if key not in self._candidates:
            self._candidates[key] = self._filter(option_type, expiry)
        return self._candidates[key]

    def _filter(self, option_type: str, expiry: date) -> tuple[pd.DataFrame, str | None]:
        cfg = self.config
        frame = self.frame
        rows = frame[((frame["option_type"] == option_type) & (frame["expiration"] == expiry)).to_numpy()]
        where = f"{option_type} for {expiry.isoformat()}"
        cands = f"{option_type} candidates for {expiry.isoformat()}"
        listed = len(rows)
        if not listed:
            return rows, f"no {where} is listed on roots {', '.join(cfg.roots)}"
        quoted = (rows["ask"] > 0) & (rows["limit"] > 0)
        if cfg.require_bid:
            quoted &= rows["bid"] > 0
        rows = rows[quoted.to_numpy()]
        if rows.empty:
            return rows, f"no {where} has a bid > 0 and a valid tick price ({listed} listed)"
        if cfg.max_quote_age is not None and self.now_ns is not None:
            quoted_ns = rows["quote_ns"].to_numpy()
            limit_ns = int(cfg.max_quote_age / timedelta(microseconds=1)) * 1000
            dated = quoted_ns != _NO_TIME
            fresh = dated & (self.now_ns - np.where(dated, quoted_ns, self.now_ns) <= limit_ns)
            before = len(rows)
            if not fresh.any():
                return rows[fresh], self._stale_reason(quoted_ns, before, cands)
            rows = rows[fresh]
        # (ask - bid) / mid <= pct  <=>  2 (ask - bid) * 10,000 <= basis points * (ask + bid), in 1/10,000 $.
        bid_u, ask_u = rows["bid_u"].to_numpy(), rows["ask_u"].to_numpy()
        tight = 2 * (ask_u - bid_u) * 10_000 <= self.spread_bp * (ask_u + bid_u)
        before = len(rows)
        rows = rows[tight]
        if rows.empty:
            return rows, f"spread above {cfg.max_spread_pct:.0%} on all {before} {cands}"
        if cfg.min_volume > 0:
            before = len(rows)
            rows = rows[(rows["volume"] >= cfg.min_volume).to_numpy()]
            if rows.empty:
                return rows, f"volume below {cfg.min_volume} on all {before} {cands}"
        if cfg.min_open_interest > 0:
            before = len(rows)
            rows = rows[(rows["open_interest"] >= cfg.min_open_interest).to_numpy()]
            if rows.empty:
                return rows, f"open interest below {cfg.min_open_interest} on all {before} {cands}"
        before = len(rows)
        rows = rows[rows["delta"].notna().to_numpy()]
        if rows.empty:
            return rows, f"no delta on any of the {before} {cands}"
        return rows, None

    def _stale_reason(self, quoted_ns: np.ndarray, count: int, cands: str) -> str:
        """Why no quote is fresh: the limit, the newest quote's age, and a closed market when it is."""
        assert self.now is not None and self.config.max_quote_age is not None
        reason = f"quotes older than {self.config.max_quote_age} (or undated) on all {count} {cands}"
        dated = quoted_ns[quoted_ns != _NO_TIME]
        if len(dated):
            age = timedelta(microseconds=int(self.now_ns - dated.max()) // 1000)  # type: ignore[operator]
            reason += f"; the newest is {_age_text(age)} old"
        if not is_open_at(self.now):
            local = self.now.astimezone(NEW_YORK)
            opens = session(trading_day(self.now)).open_utc.astimezone(NEW_YORK)
            reason += (
                f"; the market is closed at {local:%Y-%m-%d %H:%M} ET (regular hours resume "
                f"{opens:%Y-%m-%d %H:%M} ET), so quotes are not live"
            )
        return reason

    def pick(self, setup: Setup, expiry: date) -> Pick:
        rows, reason = self.candidates(setup.option_type, expiry)
        if reason is not None:
            return Pick(None, reason)
        distance = np.abs(np.abs(rows["delta"].to_numpy()) - setup.target_delta)
        order = np.lexsort((rows["strike_milli"].to_numpy(), rows["ask"].to_numpy(), distance))
        best = order[0]
        limit_distance = self.config.max_delta_distance
        if limit_distance is not None and distance[best] > limit_distance + 1e-12:
            nearest = abs(float(rows["delta"].iloc[best]))
            return Pick(
                None,
                f"no {setup.option_type} for {expiry.isoformat()} within {limit_distance:g} of target delta "
                f"{setup.target_delta:g} (nearest {nearest:.2f})",
            )
        return Pick(_contract_fields(rows.iloc[best]), None)


def _age_text(age: timedelta) -> str:
    seconds = age.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _contract_fields(row: pd.Series) -> dict[str, Any]:
    return {
        "symbol": row["symbol"],
        "symbol_osi": row["symbol_osi"],
        "symbol_massive": row["symbol_massive"],
        "root_symbol": row["root_symbol"],
        "expiration_date": row["expiration"],
        "strike": Decimal(int(row["strike_milli"])) / 1000,
        "option_type": row["option_type"],
        "bid": float(row["bid"]),
        "ask": float(row["ask"]),
        "mid": float(row["mid"]),
        "limit_price": Decimal(f"{row['limit']:.2f}"),
        "delta": float(row["delta"]),
    }
