"""Deterministic synthetic SPX option chains shaped like Tradier's ``/markets/options/chains``.

The local Tradier server, the tests and the bench need realistic chains without a network
or a market-data licence. Realistic means: SPXW roots every session (plus the AM-settled SPX root
on third Fridays, which stops trading the session before), Black-Scholes greeks with time measured
in minutes to the 16:00 ET close (the early close on half days), quotes on the SPX tick grid with
wider relative spreads and no bid far out of the money, and volume concentrated near the money.
Everything derives from the arguments and ``seed``, so the same call gives the same frame.

It lives with the local server, not in the domain: nothing in the pipeline may depend on made-up data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, ParamSpec

import numpy as np
import numpy.typing as npt
import pandas as pd

from spx_pipeline.domain.market_calendar import NEW_YORK, session, sessions_from
from spx_pipeline.domain.quotes import to_epoch_ms
from spx_pipeline.domain.ticks import round_to_tick_array

P = ParamSpec("P")

RATE = 0.04
MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0
DEFAULT_NOW = time(10, 30)
_erf = np.vectorize(math.erf, otypes=[np.float64])

GREEK_FIELDS = ("delta", "gamma", "theta", "vega", "rho", "phi", "bid_iv", "mid_iv", "ask_iv", "smv_vol")


def _norm_cdf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def _norm_pdf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def is_third_friday(day: date) -> bool:
    """Monthly SPX (AM-settled) expiry day."""
    return day.weekday() == 4 and 15 <= day.day <= 21


def _smile(moneyness: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Put skew plus a little curvature; clipped to a sane range."""
    return np.clip(0.14 - 0.9 * moneyness + 6.0 * moneyness**2, 0.08, 1.0)


def _series(
    as_of: date, *, expiration: date, root: str, now: datetime, spot: float, strikes: npt.NDArray[np.float64]
) -> pd.DataFrame:
    sess = session(expiration)
    cutoff = sess.open_utc if root == "SPX" else sess.close_utc
    minutes = max((cutoff - now).total_seconds() / 60.0, 1.0)
    t = minutes / MINUTES_PER_YEAR
    k = np.concatenate([strikes, strikes])
    is_call = np.repeat([True, False], len(strikes))
    m = np.log(k / spot)
    sigma = _smile(m)
    sqrt_t = math.sqrt(t)
    d1 = (np.log(spot / k) + (RATE + 0.5 * sigma**2) * t) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    disc = math.exp(-RATE * t)
    call = spot * _norm_cdf(d1) - k * disc * _norm_cdf(d2)
    put = k * disc * _norm_cdf(-d2) - spot * _norm_cdf(-d1)
    pdf = _norm_pdf(d1)
    decay = -spot * pdf * sigma / (2.0 * sqrt_t)
    frame = pd.DataFrame(
        {
            "root_symbol": root,
            "expiration": expiration,
            "strike": k,
            "is_call": is_call,
            "theo": np.where(is_call, call, put),
            "delta": np.where(is_call, _norm_cdf(d1), _norm_cdf(d1) - 1.0),
            "gamma": pdf / (spot * sigma * sqrt_t),
            "theta": np.where(
                is_call, decay - RATE * k * disc * _norm_cdf(d2), decay + RATE * k * disc * _norm_cdf(-d2)
            )
            / 365.0,
            "vega": spot * pdf * sqrt_t / 100.0,
            "rho": np.where(is_call, k * t * disc * _norm_cdf(d2), -k * t * disc * _norm_cdf(-d2)) / 100.0,
            "mid_iv": sigma,
            "moneyness": m,
            "days_out": len(sessions_between_exclusive(as_of, expiration)),
        }
    )
    return frame


def sessions_between_exclusive(start: date, end: date) -> list[date]:
    """Sessions after ``start`` up to and including ``end`` (0 for a same-day expiry)."""
    if end <= start:
        return []
    out: list[date] = []
    day = start
    while True:
        nxt = sessions_from(day + timedelta(days=1), 1)[0]
        if nxt > end:
            return out
        out.append(nxt)
        day = nxt


def synthetic_spx_chain(  # noqa: PLR0917 - the documented positional signature
    as_of: date,
    spot: float = 6000.0,
    expirations: list[date] | None = None,
    strikes_each_side: int = 40,
    strike_step: int = 5,
    seed: int = 7,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Flattened Tradier chain rows (greeks as columns) for ``expirations`` (default: 5 sessions).

    ``now`` (timezone-aware) is the quote time; it defaults to 10:30 ET on ``as_of``.
    Columns: the Tradier option fields (``symbol``, ``root_symbol``, ``underlying``, ``option_type``,
    ``strike``, ``expiration_date`` as "YYYY-MM-DD", ``expiration_type``, ``bid``, ``ask``, ``last``,
    ``volume``, ``open_interest``, ``bid_date``/``ask_date`` epoch ms, ...) plus ``delta``, ``gamma``,
    ``theta``, ``vega``, ``rho``, ``phi``, ``bid_iv``, ``mid_iv``, ``ask_iv``, ``smv_vol`` and
    ``greeks_updated_at``.
    """
    if not math.isfinite(spot) or spot <= 0:
        raise ValueError(f"spot must be a positive number, got {spot!r}")
    if strikes_each_side < 0:
        raise ValueError(f"strikes_each_side must be >= 0, got {strikes_each_side!r}")
    if strike_step <= 0:
        raise ValueError(f"strike_step must be positive, got {strike_step!r}")
    if now is None:
        now = datetime.combine(as_of, DEFAULT_NOW, tzinfo=NEW_YORK)
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    if expirations is None:
        expirations = sessions_from(as_of, 5)
    for expiration in expirations:
        if expiration < as_of:
            raise ValueError(f"expiration {expiration.isoformat()} is before as_of {as_of.isoformat()}")
    atm = round(spot / strike_step) * strike_step
    strikes = atm + strike_step * np.arange(-strikes_each_side, strikes_each_side + 1, dtype=np.float64)
    strikes = strikes[strikes > 0]
    parts = []
    for expiration in sorted(set(expirations)):
        parts.append(_series(as_of, expiration=expiration, root="SPXW", now=now, spot=spot, strikes=strikes))
        if is_third_friday(expiration) and expiration > as_of:
            parts.append(
                _series(as_of, expiration=expiration, root="SPX", now=now, spot=spot, strikes=strikes)
            )
    frame = pd.concat(parts, ignore_index=True)
    return _quote(frame, np.random.default_rng(seed), now)


def _quote(frame: pd.DataFrame, rng: np.random.Generator, now: datetime) -> pd.DataFrame:
    n = len(frame)
    theo = frame["theo"].to_numpy()
    half = np.maximum(0.025, theo * rng.uniform(0.01, 0.04, n))
    bid = round_to_tick_array(theo - half, "sell")
    ask = np.maximum(round_to_tick_array(theo + half, "buy"), 0.05)
    ask = np.where(ask <= bid, round_to_tick_array(bid + 0.05, "buy"), ask)
    near = np.exp(-0.5 * (frame["moneyness"].to_numpy() / 0.006) ** 2)
    fade = 1.0 / (1.0 + frame["days_out"].to_numpy())
    volume = np.floor(6000.0 * near * fade * rng.uniform(0.5, 1.5, n)).astype(np.int64)
    oi = np.floor(
        9000.0 * np.exp(-0.5 * (frame["moneyness"].to_numpy() / 0.015) ** 2) * rng.uniform(0.3, 1.2, n)
    )
    now_ms = to_epoch_ms(now)
    bid_ms = now_ms - rng.integers(0, 15_000, n)
    ask_ms = now_ms - rng.integers(0, 15_000, n)
    exp_str = pd.Series([e.isoformat() for e in frame["expiration"]], dtype=object)
    right = np.where(frame["is_call"], "C", "P")
    milli = np.rint(frame["strike"].to_numpy() * 1000).astype(np.int64)
    yymmdd = pd.Series([e.strftime("%y%m%d") for e in frame["expiration"]], dtype=object)
    symbol = frame["root_symbol"] + yymmdd + right + pd.Series([f"{v:08d}" for v in milli])
    label = np.where(frame["is_call"], "Call", "Put")
    description = [
        f"{root} {exp:%b} {exp.day} {exp.year} {strike:.2f} {lbl}"
        for root, exp, strike, lbl in zip(
            frame["root_symbol"], frame["expiration"], frame["strike"], label, strict=True
        )
    ]
    mid = (bid + ask) / 2.0
    updated = now.astimezone(NEW_YORK).replace(minute=0, second=0, microsecond=0)
    iv = frame["mid_iv"].to_numpy()
    out = pd.DataFrame(
        {
            "symbol": symbol,
            "description": description,
            "exch": "Z",
            "type": "option",
            "last": np.where(volume > 0, round_to_tick_array(mid, "sell"), np.nan),
            "volume": volume,
            "bid": bid,
            "ask": ask,
            "bidsize": rng.integers(1, 60, n),
            "asksize": rng.integers(1, 60, n),
            "bid_date": bid_ms,
            "ask_date": ask_ms,
            "open_interest": oi.astype(np.int64),
            "underlying": "SPX",
            "strike": frame["strike"].to_numpy(),
            "contract_size": 100,
            "expiration_date": exp_str,
            "expiration_type": np.where(frame["root_symbol"] == "SPX", "standard", "weeklys"),
            "option_type": np.where(frame["is_call"], "call", "put"),
            "root_symbol": frame["root_symbol"],
            "delta": frame["delta"].to_numpy(),
            "gamma": frame["gamma"].to_numpy(),
            "theta": frame["theta"].to_numpy(),
            "vega": frame["vega"].to_numpy(),
            "rho": frame["rho"].to_numpy(),
            "phi": 0.0,  # no dividend yield modelled
            "bid_iv": np.maximum(iv - 0.01, 0.0),
            "mid_iv": iv,
            "ask_iv": iv + 0.01,
            "smv_vol": iv,
            "greeks_updated_at": updated.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    return out


def nested_chain_records(flat: pd.DataFrame) -> list[dict[str, Any]]:
    """A flattened chain (``synthetic_spx_chain``) as nested Tradier JSON rows (a ``greeks``
    sub-dict, ``null`` for NaN), as the chains endpoint answers."""
    records: list[dict[str, Any]] = []
    for row in flat.to_dict(orient="records"):
        greeks = {name: _plain(row.pop(name)) for name in GREEK_FIELDS}
        greeks["updated_at"] = row.pop("greeks_updated_at")
        record = {key: _plain(value) for key, value in row.items()}
        record["greeks"] = greeks
        records.append(record)
    return records


def _nested(build: Callable[P, pd.DataFrame]) -> Callable[P, list[dict[str, Any]]]:
    """``build``'s chain as nested records, taking the very parameters ``build`` takes."""

    def records(*args: P.args, **kwargs: P.kwargs) -> list[dict[str, Any]]:
        return nested_chain_records(build(*args, **kwargs))

    return records


# The same chain as ``synthetic_spx_chain`` (same parameters), as nested Tradier JSON rows.
tradier_chain_records = _nested(synthetic_spx_chain)


def _plain(value: Any) -> Any:
    """JSON-ready scalars: numpy numbers to Python, NaN to None."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value
