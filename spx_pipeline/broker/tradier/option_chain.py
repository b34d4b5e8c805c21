"""Option chain rows as one flat frame: greeks as columns, quote stamps as UTC timestamps.

Kept apart from the client because it is the only broker code that needs pandas (imported when a
frame is built, not when the client is), and because the pipeline reads chains through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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


# A quote, size or greek at or beyond this is no market figure: an overflow, a unit error or a
# hostile answer. Money is stored up to DECIMAL(18,4) and counts as BIGINT, both within it.
CHAIN_NUMBER_LIMIT: Final = Decimal("1e14")


@dataclass(frozen=True, slots=True)
class ScreenedChain:
    """The contracts kept, and one reason per contract skipped (symbol, field and value)."""

    rows: list[Mapping[str, Any]]
    skipped: list[str]


def screen_chain_rows(rows: Iterable[Mapping[str, Any]]) -> ScreenedChain:
    """Skip each contract carrying a non-finite or absurd number, keep the rest.

    One bad contract (``1e400``, ``Infinity``, ``NaN``, a volume of ``1e30``) would otherwise raise
    an ``OverflowError`` converting the whole chain, and lose every good contract with it; a
    skipped contract is counted, and the reason names the symbol, the field and the value.
    """
    kept: list[Mapping[str, Any]] = []
    skipped: list[str] = []
    for row in rows:
        greeks = row.get("greeks") if isinstance(row.get("greeks"), Mapping) else {}
        fields = [(name, row.get(name)) for name in (*_CHAIN_NUMERIC, *_CHAIN_EPOCHS)]
        fields += [(f"greeks.{name}", greeks.get(name)) for name in GREEK_COLUMNS]
        bad = next(((name, value) for name, value in fields if not _sane_number(value, name)), None)
        if bad is None:
            kept.append(row)
        else:
            skipped.append(f"{row.get('symbol')}: {bad[0]} is {bad[1]!r:.40}")
    return ScreenedChain(kept, skipped)


def _sane_number(value: object, name: str) -> bool:
    """None, text that is no number (read as missing later), or a finite number within the limit."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return True
    if not isinstance(value, int | float | Decimal):
        return True
    try:
        number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except (InvalidOperation, ValueError):
        return False
    if not number.is_finite():
        return False
    # Epoch stamps may be nanoseconds (~1.8e18): bounded by what an int64 holds instead.
    limit = Decimal(2**63) if name in _CHAIN_EPOCHS else CHAIN_NUMBER_LIMIT
    return abs(number) < limit


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
