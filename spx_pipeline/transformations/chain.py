"""SPX/SPXW option chains: which expirations to fetch, and rows for the warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from spx_pipeline.domain.market_calendar import sessions_from, trading_day
from spx_pipeline.domain.occ import parse_option_symbols
from spx_pipeline.domain.quotes import staler_side, to_utc
from spx_pipeline.storage.warehouse.schema import column_names

# The roots a trader of SPX 0DTE cares about: PM-settled dailies (SPXW) and AM monthlies (SPX).
SPX_ROOTS = ("SPX", "SPXW")


def expirations_to_fetch(listed: Sequence[date], trading_day: date, *, next_sessions: int = 2) -> list[date]:
    """Today's 0DTE when the market lists one, then the next ``next_sessions`` expirations always.

    ``trading_day`` comes from the NYSE calendar, so on a weekend or holiday there is no same-day
    expiry and the next sessions are fetched instead.
    """
    future = sorted({d for d in listed if d >= trading_day})
    same_day = [d for d in future if d == trading_day]
    return same_day + [d for d in future if d > trading_day][:next_sessions]


def market_day_mismatch(
    requested: date, *, as_of: bool, pipeline_now: datetime, broker_now: datetime | None
) -> str | None:
    """Why the broker cannot serve the session the run asks for, or None when it can.

    A broker lists expirations and quotes for its own present only; a run asking for another
    session (``as_of``, or a pinned ``SPX_NOW`` against a broker on real time) would silently mix
    the two days, so the run stops and says which days disagree.
    """
    wanted = sessions_from(requested, 1)[0]
    if broker_now is None:
        return "the broker's clock gave no timestamp, so its trading day is unknown"
    served = trading_day(broker_now)
    if served == wanted:
        return None
    pinned = f"{wanted.isoformat()}T10:30:00-05:00"
    if as_of:
        return (
            f"as_of {requested.isoformat()} asks for the {wanted.isoformat()} session, but the broker serves "
            f"the {served.isoformat()} session (its clock reads {broker_now.isoformat()}); a past or future "
            f"session can only be replayed against a local Tradier server pinned to it "
            f"(spx-pipeline tradier-emulator --now {pinned})"
        )
    return (
        f"the pipeline's clock ({pipeline_now.isoformat()}) is in the {wanted.isoformat()} session but the "
        f"broker serves the {served.isoformat()} session (its clock reads {broker_now.isoformat()}); "
        "check SPX_NOW and the machine's clock"
    )


def chain_rows(frame: pd.DataFrame, *, trading_day: date, run_id: str, captured_at: datetime) -> pd.DataFrame:
    """Warehouse rows for one or more fetched chains, symbols parsed by the domain OCC module.

    Rows whose symbol the OCC parser refuses raise (errors="raise") naming the positions: a
    malformed symbol from the broker is a defect to see, not a row to drop quietly.
    """
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in column_names("spx_option_chain")})
    frame = frame[frame["root_symbol"].isin(SPX_ROOTS)].reset_index(drop=True)
    parsed = parse_option_symbols(frame["symbol"])
    out = pd.DataFrame(
        {
            "run_id": run_id,
            "captured_at": pd.Timestamp(captured_at).tz_convert("UTC"),
            "trading_day": pd.Timestamp(trading_day),
            "symbol": parsed["tradier"],
            "symbol_osi": parsed["osi"],
            "symbol_massive": parsed["massive"],
            "root_symbol": parsed["root"],
            "underlying": parsed["underlying"],
            "expiration_date": parsed["expiration"],
            "option_type": np.where(parsed["right"] == "C", "call", "put"),
            "strike": parsed["strike_milli"] / 1000.0,
        }
    )
    for column in ("bid", "ask", "last", "delta", "gamma", "theta", "vega", "mid_iv"):
        out[column] = pd.to_numeric(_column(frame, column), errors="coerce").astype("float64")
    for column in ("volume", "open_interest"):
        out[column] = pd.to_numeric(_column(frame, column), errors="coerce").round().astype("Int64")
    out["greeks_updated_at"] = _utc(_column(frame, "greeks_updated_at"))
    out["quote_time"] = _quote_time(frame)
    out["is_0dte"] = out["expiration_date"].dt.date == trading_day
    return out[list(column_names("spx_option_chain"))]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column, or all-missing when the feed did not send it (null prices are normal)."""
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index, dtype="float64")


def _utc(values: pd.Series) -> pd.Series:
    converted = pd.to_datetime(values, errors="coerce")
    if getattr(converted.dt, "tz", None) is None:
        return converted.dt.tz_localize("UTC")
    return converted.dt.tz_convert("UTC")


def _quote_time(frame: pd.DataFrame) -> pd.Series:
    """The *older* of the bid and ask quote times (a quote is as fresh as its staler side).

    Undated when either side is, so the recommendation step's freshness filter fails closed.
    """
    if "quote_time" in frame:
        return to_utc(frame["quote_time"])
    return staler_side(frame)
