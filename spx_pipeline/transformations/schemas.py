"""pandera contracts for what the pipeline writes.

A snapshot that breaks one of these rules is refused before anything is written: the sync fails
loudly rather than letting a negative buying power or an unknown account type reach the
recommendations that size real orders.
"""

from __future__ import annotations

import sys
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from spx_pipeline.domain.tradier.enums import ACCOUNT_TYPES, ENVIRONMENTS
from spx_pipeline.storage.warehouse.schema import column_names


def _finite(series: pd.Series) -> pd.Series:
    return series.isna() | np.isfinite(series.astype("float64"))


class PortfolioSnapshotSchema(pa.DataFrameModel):
    """One row per account and capture time; buying powers are never negative."""

    account_id: Series[str] = pa.Field(str_length={"min_value": 1}, coerce=True)
    # Not coerced: a naive or non-UTC time is a bug upstream, not something to guess a zone for.
    captured_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "ns", "tz": "UTC"}, coerce=False)
    account_type: Series[str] = pa.Field(isin=ACCOUNT_TYPES, coerce=True)
    environment: Series[str] = pa.Field(isin=ENVIRONMENTS, coerce=True)
    total_equity: Series[float] = pa.Field(coerce=True)
    cash: Series[float] = pa.Field(coerce=True)
    option_buying_power: Series[float] = pa.Field(ge=0, coerce=True)
    day_trade_buying_power: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    pending_orders_count: Series[int] = pa.Field(ge=0, coerce=True)
    pending_cash: Series[float] = pa.Field(nullable=True, coerce=True)
    pdt_qualified: Series[bool] = pa.Field(coerce=True)
    run_id: Series[str] = pa.Field(str_length={"min_value": 1}, coerce=True)

    @pa.dataframe_check(error="money columns must be finite (no inf)")
    @classmethod
    def money_is_finite(cls, frame: pd.DataFrame) -> pd.Series:
        money = ["total_equity", "cash", "option_buying_power", "day_trade_buying_power", "pending_cash"]
        return pd.concat([_finite(frame[c]) for c in money], axis=1).all(axis=1)

    class Config:
        strict = True
        coerce = False  # per field: captured_at must arrive tz-aware UTC
        unique = ("account_id", "captured_at")
        name = "portfolio_snapshots"
        description = "Validated portfolio history (warehouse table portfolio_snapshots)"


def validate_snapshots(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate (lazily, so every failing rule is reported at once) and return typed rows."""
    columns = list(column_names("portfolio_snapshots"))  # the DDL's; strict=True refuses any drift
    # The compiled schema: ``DataFrameModel.validate`` costs several times more per call.
    return _snapshot_schema().validate(frame[columns], lazy=True)


@cache
def _snapshot_schema() -> pa.DataFrameSchema:
    _load_pandas_checks()
    return PortfolioSnapshotSchema.to_schema()


def _load_pandas_checks() -> None:
    """Load pandera's pandas checks without hypothesis, which only pandera's data synthesis uses.

    pandera registers its pandas backends on the first ``validate``, and its built-in checks import
    its hypothesis strategies; where hypothesis is installed (the dev extras) that import and
    hypothesis' plugin setup (a full ``gc.collect()``) cost every run process about half a second.
    pandera supports hypothesis being absent (``pandera[strategies]`` is an extra), so while its
    checks load, ``import hypothesis`` fails as if it were not installed; validation is unchanged,
    only ``schema.strategy()``/``example()`` are then unavailable, and nothing here synthesizes data.
    A process that already imported hypothesis (the test suite) keeps pandera's strategies.
    """
    if "pandera.backends.pandas.builtin_checks" in sys.modules or "hypothesis" in sys.modules:
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # the documented "not importable" marker
    try:
        import pandera.backends.pandas.builtin_checks  # noqa: F401
    finally:
        del sys.modules["hypothesis"]
