"""The column-wise Decimal -> text conversion gives what the per-value one gives; ``prepare`` copies
nothing it does not convert and never changes the caller's frame."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.storage.warehouse.base import ColumnInfo
from spx_pipeline.storage.warehouse.incoming import (
    WarehouseWriteError,
    decimal_text,
    decimal_texts,
    json_text,
    prepare,
)


def test_decimal_texts_equal_the_per_value_conversion() -> None:
    values = [Decimal("4.40"), Decimal("-0.0001"), Decimal("1E+3"), Decimal("NaN"), Decimal("Infinity"),
              None, float("nan"), pd.NA, 2, 2.5, "3.10", Decimal("0E-4")]  # fmt: skip
    assert decimal_texts(values) == [decimal_text(v) for v in values]
    assert decimal_texts([Decimal("1E+3"), Decimal("0E-4")]) == ["1000", "0.0000"]


def test_decimal_texts_refuse_booleans() -> None:
    with pytest.raises(WarehouseWriteError):
        decimal_texts([Decimal(1), True])


def _reference_prepare(frame: pd.DataFrame, cols: dict[str, ColumnInfo]) -> pd.DataFrame:
    """What ``prepare`` did before it stopped deep-copying the frame."""
    out = frame.reset_index(drop=True).copy()
    for name in out.columns:
        declared = cols[str(name)].type.upper()
        if out[name].dtype == object and declared.startswith("DECIMAL"):
            out[name] = pd.Series([decimal_text(v) for v in out[name]], index=out.index, dtype=object)
        elif out[name].dtype == object and declared == "JSON":
            out[name] = out[name].map(json_text).astype(object)
    return out


@pytest.mark.parametrize("index", [None, [7, 3, 5]])
def test_prepare_equals_a_deep_copys_conversion_and_leaves_the_callers_frame_alone(
    index: list[int] | None,
) -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "price": [Decimal("4.40"), None, Decimal("1E+3")],
            "payload": [{"b": 1, "a": 2}, None, "{}"],
            "qty": [1, 2, 3],
        },
        index=index,
    )
    cols = {
        "id": ColumnInfo("id", "VARCHAR", False),
        "price": ColumnInfo("price", "DECIMAL(18,4)", True),
        "payload": ColumnInfo("payload", "JSON", True),
        "qty": ColumnInfo("qty", "INTEGER", False),
    }
    before = frame.copy()
    prepared = prepare(frame, cols)
    pd.testing.assert_frame_equal(prepared, _reference_prepare(before, cols))
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame: same values, same index
    assert list(frame["price"]) == [Decimal("4.40"), None, Decimal("1E+3")]
