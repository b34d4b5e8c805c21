"""What a write takes in, checked and made exact before any statement runs.

A frame (or the rows a query made) must name only columns of the table, hold every key and no key
twice; object columns DuckDB would guess the type of become text it can CAST exactly. Kept apart
from the statements (``writes``) so each reads on its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from spx_pipeline.storage.warehouse.base import ColumnInfo, WarehouseWriteError, first_count
from spx_pipeline.storage.warehouse.base import quote_identifier as _q


def check_columns(
    table: str,
    frame: pd.DataFrame,
    cols: Mapping[str, ColumnInfo],
    keys: Sequence[str],
    delete_where: Mapping[str, object],
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise WarehouseWriteError(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise WarehouseWriteError(f"{table}: frame has duplicate column names: {', '.join(duplicated)}")
    unknown = [n for n in names if n not in cols]
    if unknown:
        raise WarehouseWriteError(f"{table}: frame has columns the table does not have: {', '.join(unknown)}")
    bad_keys = [k for k in keys if k not in cols or k not in names]
    if bad_keys:
        raise WarehouseWriteError(
            f"{table}: key_columns {', '.join(bad_keys)} must be columns of both the table and the frame"
        )
    bad_where = [k for k in delete_where if k not in cols]
    if bad_where:
        raise WarehouseWriteError(f"{table}: delete_where names unknown columns: {', '.join(bad_where)}")


def check_keys(table: str, frame: pd.DataFrame, keys: Sequence[str]) -> None:
    if frame.empty:
        return
    for key in keys:
        if frame[key].isna().any():
            raise WarehouseWriteError(f"{table}: key column {key} has missing values")
    dupes = frame.duplicated(subset=list(keys), keep=False)
    if dupes.any():
        first = frame.loc[dupes, list(keys)].iloc[0].to_dict()
        raise WarehouseWriteError(
            f"{table}: frame has {int(dupes.sum())} rows sharing a key, e.g. {first}; keys must be unique"
        )


def check_query_keys(
    con: duckdb.DuckDBPyConnection, table: str, source: str, keys: Sequence[str], count: int
) -> None:
    """``check_keys`` of the ``count`` rows of the table ``source``, in SQL."""
    if not count:
        return
    for key in keys:
        if first_count(con.execute(f"SELECT count(*) FROM {_q(source)} WHERE {_q(key)} IS NULL")):
            raise WarehouseWriteError(f"{table}: key column {key} has missing values")
    listed = ", ".join(_q(k) for k in keys)
    found = con.execute(
        f"SELECT {listed}, count(*) AS n FROM {_q(source)} GROUP BY ALL HAVING count(*) > 1 ORDER BY {listed}"
    ).df()
    if len(found):
        first, shared = found.iloc[0][list(keys)].to_dict(), int(found["n"].sum())
        raise WarehouseWriteError(
            f"{table}: the query made {shared} rows sharing a key, e.g. {first}; keys must be unique"
        )


def prepare(frame: pd.DataFrame, cols: Mapping[str, ColumnInfo]) -> pd.DataFrame:
    """Object columns DuckDB cannot infer reliably become text it can CAST exactly.

    A shallow copy: converted columns are set on it (never written into the caller's frame), the
    others are read where they are; two deep copies of every column (reset_index, then copy) were
    about a quarter of the tickets stage's warehouse writes.
    """
    index = frame.index
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    out = frame.copy(deep=False) if default else frame.reset_index(drop=True)
    for name in out.columns:
        series = out[name]
        declared = cols[str(name)].type.upper()
        if series.dtype != object:
            continue
        if declared.startswith("DECIMAL"):
            out[name] = pd.Series(decimal_texts(series.tolist()), index=out.index, dtype=object)
        elif declared == "JSON":
            out[name] = series.map(json_text).astype(object)
    return out


def decimal_texts(values: list[Any]) -> list[str | None]:
    """``decimal_text`` of each value; a finite Decimal (nearly all of them) takes the short path."""
    return [format(v, "f") if type(v) is Decimal and v.is_finite() else decimal_text(v) for v in values]


def decimal_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, bool):
        raise WarehouseWriteError(f"boolean {value!r} given for a DECIMAL column")
    return format(Decimal(str(value)), "f")


def json_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)
