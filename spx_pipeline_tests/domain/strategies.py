"""Hypothesis strategies the domain tests share (risk contexts with exact, sometimes unknown, money)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from spx_pipeline.domain.risk_context import RiskContext

D = Decimal

money = st.one_of(
    st.none(), st.integers(min_value=0, max_value=60_000).map(D), st.decimals("0", "9999.9999", places=4)
)
contexts = st.builds(
    RiskContext,
    day_trade_buying_power=money,
    max_risk_dollars=money,
    pdt_qualified=st.sampled_from([True, False, None]),
    option_buying_power=money,
    cash_available=money,
    account_type=st.sampled_from(["margin", "cash", "pdt", None]),
)
