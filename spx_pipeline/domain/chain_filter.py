"""Chain filtering: candidates per (option type, expiry), each filter naming itself when it empties the list.

``ChainIndex`` caches the candidates per (type, expiry) so every setup and account reuses them,
and picks the contract nearest a setup's target delta (ties: the cheaper ask, then the lower
strike). Money comparisons (the spread test) are exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spx_pipeline.domain.chain_prep import NO_TIME
from spx_pipeline.domain.market_calendar import NEW_YORK, is_open_at, session, trading_day
from spx_pipeline.domain.selection_config import SelectionConfig, spread_basis_points

if TYPE_CHECKING:
    from spx_pipeline.domain.setups import Setup


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
            dated = quoted_ns != NO_TIME
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
        dated = quoted_ns[quoted_ns != NO_TIME]
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
