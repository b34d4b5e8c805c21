"""``db query`` output: readable for people (NULL, money, dates, width), exact for scripts."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

from spx_pipeline.cli.render import QueryResult, render

NARROW = QueryResult(
    ["account_id", "as_of", "equity", "dtbp", "delta", "note"],
    [
        ("VA1", date(2026, 11, 24), Decimal("52480.5500"), None, -0.31587741, "x" * 80),
        ("VA2", date(2026, 11, 24), Decimal("8125.7500"), Decimal("383281.6000"), float("nan"), None),
    ],
)
WIDE = QueryResult(
    [f"column_number_{n}" for n in range(12)] + ["reason"],
    [(*range(12), "a long sizing reason " * 8)],
)


def test_table_shows_null_money_dates_and_cuts_long_text() -> None:
    text = render(NARROW, "table", width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    lines = text.splitlines()
    assert lines[0].split() == ["account_id", "as_of", "equity", "dtbp", "delta", "note"]
    assert "52,480.55" in lines[2] and "NULL" in lines[2] and "-0.3159" in lines[2]
    assert "2026-11-24" in lines[2] and "00:00:00" not in text
    assert "NaN" not in text and "nan" not in text and lines[3].count("NULL") == 2
    assert "383,281.60" in lines[3]
    assert "x" * 31 + "…" in lines[2] and "x" * 33 not in text
    assert lines[-1] == "(2 rows)"


def test_a_result_wider_than_the_terminal_is_shown_record_by_record() -> None:
    text = render(WIDE, "table", width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text.splitlines()[0].startswith("-[ record 1 ]")
    assert "column_number_11 | 11" in text
    start = next(n for n, line in enumerate(text.splitlines()) if line.startswith("reason"))
    reason = " ".join(line.split("| ", 1)[1] for line in text.splitlines()[start:-1])
    assert reason == ("a long sizing reason " * 8).strip()  # wrapped, not cut


def test_csv_is_exact_with_empty_nulls() -> None:
    rows = list(csv.reader(io.StringIO(render(NARROW, "csv"))))
    assert rows[0] == NARROW.columns
    assert rows[1][:4] == ["VA1", "2026-11-24", "52480.5500", ""]
    assert rows[2][4:] == ["", ""]


def test_json_has_proper_types_and_decimal_as_string() -> None:
    at = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    result = QueryResult(["n", "ok", "money", "at", "missing"], [(3, True, Decimal("1.2500"), at, None)])
    assert json.loads(render(result, "json")) == [
        {"n": 3, "ok": True, "money": "1.2500", "at": "2026-11-24T15:30:00+00:00", "missing": None}
    ]
    assert json.loads(render(NARROW, "json"))[1]["delta"] is None  # NaN is null, never a bare NaN


def test_no_rows() -> None:
    empty = QueryResult(["a"], [])
    assert render(empty, "table") == "(no rows)"
    assert render(empty, "csv") == "a"
    assert render(empty, "json") == "[]"


def test_strikes_are_index_points_not_money() -> None:
    result = QueryResult(
        ["strike", "limit_price", "short_strike"],
        [(Decimal("5990.000"), Decimal("4.40"), Decimal("5992.500"))],
    )
    table = render(result, "table", width=200)
    assert "5990 " in table and "4.40" in table and "5992.5" in table
    assert "5,990.00" not in table
    assert render(result, "csv").splitlines()[1] == "5990.000,4.40,5992.500"  # exact for scripts
