"""Option chain rows as one flat frame: greeks as columns, quote stamps as UTC timestamps.

Kept apart from the client because it is the only broker code that needs pandas (imported when a
frame is built, not when the client is), and because the pipeline reads chains through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from spx_pipeline.domain.quotes import to_utc

if TYPE_CHECKING:
    import pandas as pd

GREEK_COLUMNS: Final = (
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "phi",
    "bid_iv",
    "mid_iv",
    "ask_iv",
    "smv_vol",
)
_CHAIN_NUMERIC: Final = (
    "last",
    "change",
    "change_percentage",
    "volume",
    "average_volume",
    "last_volume",
    "open",
    "high",
    "low",
    "close",
    "prevclose",
    "week_52_high",
    "week_52_low",
    "bid",
    "bidsize",
    "ask",
    "asksize",
    "open_interest",
    "strike",
    "contract_size",
)
_CHAIN_EPOCHS: Final = ("bid_date", "ask_date", "trade_date")


def chain_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten chain rows: greeks become columns, epoch dates become UTC timestamps.

    ``bid_date``/``ask_date``/``trade_date`` are epoch milliseconds in Tradier fixtures but some
    consumers see seconds; ``domain.quotes.to_utc`` scales each value by magnitude and turns 0 (no
    trade yet) into NaT. ``mid_iv`` is kept
    as sent (0 for illiquid strikes); the ``smv_vol`` fallback is a selection policy, not a parse.
    """
    import numpy as np
    import pandas as pd

    records = []
    for row in rows:
        flat = {key: value for key, value in row.items() if key != "greeks"}
        greeks = row.get("greeks") or {}
        for name in GREEK_COLUMNS:
            flat[name] = greeks.get(name)
        flat["greeks_updated_at"] = greeks.get("updated_at")
        records.append(flat)
    columns = ["symbol", "root_symbol", "underlying", "option_type", "expiration_date", "expiration_type"]
    frame = pd.DataFrame.from_records(records)
    for column in (*columns, *_CHAIN_NUMERIC, *_CHAIN_EPOCHS, *GREEK_COLUMNS, "greeks_updated_at"):
        if column not in frame.columns:
            frame[column] = None
    for column in (*_CHAIN_NUMERIC, *GREEK_COLUMNS):
        frame[column] = pd.to_numeric(
            frame[column].map(lambda v: np.nan if v is None else float(v)), errors="coerce"
        ).astype("float64")
    for column in _CHAIN_EPOCHS:
        frame[column] = to_utc(frame[column])  # the domain's one epoch conversion (s/ms/us/ns by magnitude)
    frame["greeks_updated_at"] = pd.to_datetime(frame["greeks_updated_at"], utc=True, errors="coerce")
    frame["expiration_date"] = pd.to_datetime(frame["expiration_date"], errors="coerce")
    return frame
