"""Query results for people (an aligned table that fits the terminal) and for scripts (CSV, JSON).

Values come straight from DuckDB (``Decimal``, ``date``, aware ``datetime``, ``None``), never
through pandas, so money stays exact and NULL never turns into NaN. For people: NULL is ``NULL``,
money (DECIMAL) has two decimals (more only when they are not zero) and thousands separators, a
strike (index points, not money: a column named ``strike`` or ``*_strike``) is a plain number such
as ``5990`` or ``5992.5``, dates
have no ``00:00:00``, times are UTC to the second, and long text is cut with ``…``; a result wider
than the terminal is shown one record at a time (like psql's expanded display), its text wrapped.
For scripts: CSV has the exact values (empty for NULL); JSON is an array of objects with Decimal as
a string (exact, e.g. ``"52480.5500"``), dates and times as ISO 8601 strings, NULL as ``null``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

FORMATS: Final = ("table", "csv", "json")
MAX_CELL: Final = 32
DEFAULT_WIDTH: Final = 100


@dataclass(frozen=True)
class QueryResult:
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]


def _decimal_text(value: Decimal) -> str:
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"


def _float_text(value: float) -> str:
    text = f"{value:,.4f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def is_strike(column: str) -> bool:
    """Strikes are index points: never shown as money."""
    return column == "strike" or column.endswith("_strike")


def _points_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def cell_text(value: object, column: str = "") -> str:
    """One value as people read it (before any cutting to width); ``column`` names its column."""
    if isinstance(value, Decimal) and is_strike(column) and value.is_finite():
        return _points_text(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        zone = "" if value.utcoffset() is None else " UTC" if not value.utcoffset() else value.strftime(" %z")
        return value.strftime("%Y-%m-%d %H:%M:%S") + zone
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def align_columns(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()) -> str:
    """Columns two spaces apart, each as wide as its widest cell; ``right`` aligns numbers right."""
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(len(header))]
    flags = list(right) or [False] * len(header)
    lines = [
        "  ".join(
            cell.rjust(width) if flag else cell.ljust(width)
            for cell, width, flag in zip(row, widths, flags, strict=True)
        ).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def render_table(result: QueryResult, width: int | None = None) -> str:
    """An aligned table, or one block per record when the table would not fit ``width`` columns."""
    if not result.rows:
        return "(no rows)"
    width = width or shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    cells = [
        [_cut(cell_text(v, c), MAX_CELL) for v, c in zip(row, result.columns, strict=True)]
        for row in result.rows
    ]
    right = [any(_is_number(row[n]) for row in result.rows) for n in range(len(result.columns))]
    table = align_columns(list(result.columns), cells, right)
    if max(len(line) for line in table.splitlines()) <= width:
        rule = "  ".join("-" * max(len(r[n]) for r in [result.columns, *cells]) for n in range(len(cells[0])))
        head, *body = table.splitlines()
        return "\n".join([head, rule, *body, f"({len(cells)} row{'s' if len(cells) != 1 else ''})"])
    return _render_records(result, width)


def _render_records(result: QueryResult, width: int) -> str:
    label = max(len(c) for c in result.columns)
    room = max(20, width - label - 3)
    blocks = []
    for number, row in enumerate(result.rows, start=1):
        lines = [f"-[ record {number} ]".ljust(min(width, label + 3 + 20), "-")]
        for column, value in zip(result.columns, row, strict=True):
            wrapped = textwrap.wrap(cell_text(value, column), room) or [""]
            lines.append(f"{column.ljust(label)} | {wrapped[0]}")
            lines.extend(f"{'':<{label}} | {more}" for more in wrapped[1:])
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + f"\n({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})"


def _plain(value: object) -> object:
    """A value for CSV and JSON: exact, ISO 8601 for times, None for NULL and NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_cell(_plain(v)) for v in row])
    return out.getvalue().rstrip("\n")


def render_json(result: QueryResult) -> str:
    records = [{c: _plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
    return json.dumps(records, indent=2)


def render(result: QueryResult, fmt: str, width: int | None = None) -> str:
    if fmt == "csv":
        return render_csv(result)
    if fmt == "json":
        return render_json(result)
    return render_table(result, width)
