"""The column-wise Decimal -> text conversion gives what the per-value one gives."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.storage.warehouse.writes import WarehouseWriteError, _decimal_text, _decimal_texts


def test_decimal_texts_equal_the_per_value_conversion() -> None:
    values = [Decimal("4.40"), Decimal("-0.0001"), Decimal("1E+3"), Decimal("NaN"), Decimal("Infinity"),
              None, float("nan"), pd.NA, 2, 2.5, "3.10", Decimal("0E-4")]  # fmt: skip
    assert _decimal_texts(values) == [_decimal_text(v) for v in values]
    assert _decimal_texts([Decimal("1E+3"), Decimal("0E-4")]) == ["1000", "0.0000"]


def test_decimal_texts_refuse_booleans() -> None:
    with pytest.raises(WarehouseWriteError):
        _decimal_texts([Decimal(1), True])
