"""The recommendation record: one row of ``contract_recommendations`` (without run_id/generated_at).

``recommend`` returns a frame with exactly ``RECOMMENDATION_COLUMNS``; ``Recommendation`` is one
of its rows as a typed record for callers that handle a single account.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

CONTRACT_COLUMNS = (
    "symbol",
    "symbol_osi",
    "symbol_massive",
    "root_symbol",
    "expiration_date",
    "strike",
    "option_type",
    "bid",
    "ask",
    "mid",
    "limit_price",
    "delta",
)
# contract_recommendations in sql/warehouse/001_core_tables.sql, minus run_id and generated_at.
RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "as_of_date",
    "setup_id",
    "account_id",
    "risk_fingerprint",
    "direction",
    "target_delta",
    *CONTRACT_COLUMNS,
    "suggested_contracts",
    "suggested_cost",
    "binding_constraint",
    "sizing_reason",
    "blocked",
    "blocked_reason",
)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One row of ``contract_recommendations`` (without run_id/generated_at)."""

    as_of_date: date
    setup_id: str
    account_id: str
    risk_fingerprint: str
    direction: str
    target_delta: float
    symbol: str | None
    symbol_osi: str | None
    symbol_massive: str | None
    root_symbol: str | None
    expiration_date: date | None
    strike: Decimal | None
    option_type: str | None
    bid: float | None
    ask: float | None
    mid: float | None
    limit_price: Decimal | None
    delta: float | None
    suggested_contracts: int
    suggested_cost: Decimal
    binding_constraint: str | None
    sizing_reason: str
    blocked: bool
    blocked_reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Recommendation:
        def clean(value: Any) -> Any:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None
            if isinstance(value, np.generic):
                return value.item()
            return value

        values = {name: clean(row[name]) for name in RECOMMENDATION_COLUMNS}
        values["suggested_contracts"] = int(values["suggested_contracts"])
        values["blocked"] = bool(values["blocked"])
        return cls(**values)

    def as_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RECOMMENDATION_COLUMNS}
