"""Quote timestamps: one conversion from whatever a feed sends to UTC, and a row's age is its staler side.

Tradier sends ``bid_date``/``ask_date``/``trade_date`` as epoch milliseconds, other feeds use seconds,
and once a frame has been through ``chain_frame`` or the warehouse they are datetimes. Reading the
wrong unit is silent and dangerous (nanoseconds read as milliseconds make a 3-hour-old quote look
like one from the year 55,000, i.e. fresh), so every layer converts here: datetimes stay as they are
(naive ones are UTC), numbers are scaled by magnitude (seconds < 1e11 <= milliseconds < 1e14 <=
microseconds < 1e17 <= nanoseconds), and 0, negative or unreadable values are unknown (NaT).
Epoch numbers are written here too (``to_epoch_ms``, ``to_epoch_seconds``), so no layer scales
by 1000 on its own.

A quote is only as fresh as its older side: a live bid next to an ask from three hours ago is not a
market. When either side is undated the row's quote time is unknown, which a freshness filter treats
as stale (fail closed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where frames are converted, not to read one number
    import pandas as pd

QUOTE_SIDES = ("bid_date", "ask_date")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCALES = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000), (math.inf, 1))  # upper bound → ns factor


def _ns_factor(number: float) -> int:
    lower = 0.0
    for upper, factor in _SCALES:
        if lower <= number < upper:
            return factor
        lower = upper
    return 1  # pragma: no cover - the last band is unbounded


def _epoch_ns(value: Decimal | float | int | str | None) -> int | None:
    """Nanoseconds since the epoch of a number in s/ms/us/ns (by magnitude); None when unknown."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if isinstance(value, int) else Decimal(str(value).strip())
    except ArithmeticError:
        return None
    if not number.is_finite() or number <= 0:
        return None
    return int(number * _ns_factor(float(number)))


def epoch_datetime(value: Decimal | float | int | None) -> datetime | None:
    """One epoch number (s/ms/us/ns by magnitude) as an aware UTC datetime; 0 or less is unknown."""
    ns = _epoch_ns(value)
    return None if ns is None else EPOCH + timedelta(microseconds=ns // 1000)


def epoch_seconds(value: Decimal | float | int | str | None) -> float | None:
    """One epoch number or numeric text (s/ms/us/ns by magnitude) as epoch seconds; None when unknown."""
    ns = _epoch_ns(value)
    return None if ns is None else ns / 1_000_000_000


def to_epoch_ms(moment: datetime | float) -> int:
    """An aware datetime (or epoch seconds) as whole epoch milliseconds, as Tradier writes its stamps."""
    if isinstance(moment, datetime):
        return (moment - EPOCH) // timedelta(milliseconds=1)
    return round(moment * 1000)


def to_epoch_seconds(moment: datetime) -> int:
    """An aware datetime as whole epoch seconds (``/markets/clock``'s ``timestamp``)."""
    return (moment - EPOCH) // timedelta(seconds=1)


def to_utc(values: pd.Series | Sequence[object]) -> pd.Series:
    """Timestamps (datetime64[ns, UTC]) from datetimes, ISO strings or epoch s/ms/us/ns numbers."""
    import numpy as np
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, errors="coerce")
        return _as_utc(stamps)
    numbers = pd.to_numeric(series, errors="coerce")
    numeric = numbers.notna() | series.isna()
    if not numeric.all():
        # Text or datetime objects: parse them; numbers among them are scaled below.
        parsed = _as_utc(pd.to_datetime(series.where(~numeric), errors="coerce", utc=True, format="mixed"))
    else:
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    raw = numbers.to_numpy(dtype=np.float64)
    known = np.isfinite(raw) & (raw > 0)
    ns = np.zeros(len(raw), dtype=np.int64)
    factors = np.array(
        [_ns_factor(x) if ok else 0 for x, ok in zip(raw.tolist(), known.tolist(), strict=True)]
    )
    # Whole units as integers first: float products near 1e18 would lose nanoseconds.
    ns[known] = np.rint(raw[known]).astype(np.int64) * factors[known]
    from_numbers = pd.Series(pd.to_datetime(ns, unit="ns", utc=True), index=series.index).where(known)
    return from_numbers.where(known, parsed).astype("datetime64[ns, UTC]")


def _as_utc(stamps: pd.Series) -> pd.Series:
    if getattr(stamps.dt, "tz", None) is None:
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")


def staler_side(frame: pd.DataFrame, sides: Sequence[str] = QUOTE_SIDES) -> pd.Series:
    """The older of the side timestamps present in ``frame``; NaT when any present side is undated."""
    import pandas as pd

    present = [to_utc(frame[name]) for name in sides if name in frame.columns]
    if not present:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    stacked = pd.concat(present, axis=1)
    oldest = stacked.min(axis=1, skipna=True)
    return oldest.where(stacked.notna().all(axis=1)).astype("datetime64[ns, UTC]")
