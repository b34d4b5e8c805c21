"""How figures look on an asset's page: money as money, dates as dates, counts that add up.

Previews are read by traders, not parsers: ``$52,480.60`` rather than ``52480.6``, an empty cell
rather than ``nan``, ``2026-11-24`` rather than ``2026-11-24 00:00:00``. Numbers meant for Dagster's
Plots tab stay numbers; money totals are summed exactly (Decimal) before they become one.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import dagster as dg
import pandas as pd

from spx_pipeline.domain.money import percent_text
from spx_pipeline.storage.warehouse.store import Warehouse

MISSING = ""


def money_text(value: object) -> str:
    """``$1,234.50``; ``-$12.00``; empty for a missing value."""
    amount = to_decimal(value)
    if amount is None:
        return MISSING
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return (isinstance(value, float) and math.isnan(value)) or (isinstance(value, Decimal) and value.is_nan())


def to_decimal(value: object) -> Decimal | None:
    """The exact amount a cell holds (a float goes through its shortest text), None when missing."""
    if _missing(value):
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def money_total(values: Iterable[object]) -> Decimal:
    """Exact sum of the amounts present (missing ones count as nothing)."""
    return sum((amount for amount in map(to_decimal, values) if amount is not None), Decimal(0))


def _cell(value: object) -> object:
    if _missing(value):
        return MISSING
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None and stamp == stamp.normalize():
            return stamp.date().isoformat()
        return stamp.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()
    if isinstance(value, date):
        return value.isoformat()
    return value


def points_text(value: object) -> str:
    """A strike in index points (not money): ``5990``, ``5992.5``; empty when missing."""
    amount = to_decimal(value)
    if amount is None or not amount.is_finite():
        return MISSING
    text = format(amount.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: object) -> str:
    return MISSING if _missing(value) else percent_text(to_decimal(value))


def display_frame(
    frame: pd.DataFrame, *, money: Sequence[str] = (), percent: Sequence[str] = ()
) -> pd.DataFrame:
    """Text a person reads: money columns as dollars, fractions listed in ``percent`` as
    percentages, strikes as index points, dates without midnight, no NaN."""
    shown = frame.astype(object)
    for column in shown.columns:
        if column in money:
            convert = money_text
        elif column in percent:
            convert = _percent
        elif column == "strike" or str(column).endswith("_strike"):
            convert = points_text
        else:
            convert = _cell
        shown[column] = [convert(value) for value in shown[column]]
    return shown


PREVIEW_ROWS = 20


def preview_markdown(
    frame: pd.DataFrame,
    *,
    money: Sequence[str] = (),
    percent: Sequence[str] = (),
    limit: int = PREVIEW_ROWS,
    total: int | None = None,
) -> dg.MarkdownMetadataValue:
    """A short markdown table for the UI (never includes anything secret: callers pass safe frames).

    ``total``: how many rows there are when ``frame`` holds only the first ones (read with a limit).
    """
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = display_frame(frame.head(limit), money=money, percent=percent)
    table = shown.to_markdown(index=False, disable_numparse=True)
    count = len(frame) if total is None else total
    more = f"\n\n_{count - limit} more rows_" if count > limit else ""
    return dg.MetadataValue.md(table + more)


def money_metadata(name: str, amount: Decimal) -> dict[str, dg.MetadataValue]:
    """A money figure as people read it under ``name`` (``$174,306.70``, as in the previews), and
    the same exact amount as a number under ``<name>_usd`` for the Plots tab, which draws numbers
    only (a float shows unformatted, ``174306.7``, so it is not the one people read)."""
    return {
        name: dg.MetadataValue.text(money_text(amount)),
        f"{name}_usd": dg.MetadataValue.float(float(amount)),
    }


def chart_markdown(png: bytes | None, *, title: str, empty: str) -> dg.MarkdownMetadataValue:
    """A chart on the asset page: the PNG embedded as a data URI (Dagster's markdown allows them,
    so the picture needs no file server and survives a restart), or ``empty`` in words.

    Callers draw only published figures (amounts, counts, account and setup ids): never a secret.
    """
    if png is None:
        return dg.MetadataValue.md(f"_{empty}_")
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")


def row_counts(warehouse: Warehouse, table: str, written: int) -> dict[str, dg.MetadataValue]:
    """The rows this run wrote and the table's total (``dagster/row_count``, which the UI plots)."""
    return {
        "rows_written": dg.MetadataValue.int(written),
        "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(table)),
    }


def seconds(value: float) -> dg.FloatMetadataValue:
    """A duration to the millisecond (no ``0.030835652999940066``)."""
    return dg.MetadataValue.float(round(value, 3))
