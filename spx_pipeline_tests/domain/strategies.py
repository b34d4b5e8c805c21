"""Hypothesis strategies the domain tests share: risk contexts with exact, sometimes unknown, money;
trade plans of a few shapes (some of whose orders cannot be built, some with a tag Tradier refuses)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.trades.ids import trade_id, trade_tag
from spx_pipeline.domain.trades.records import TradePlan

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

PLAN_DAY = date(2026, 11, 24)
prices = st.sampled_from(
    [
        Decimal("0.05"),
        Decimal("0.10"),
        Decimal("1.15"),
        Decimal("2.95"),
        Decimal("3.00"),
        Decimal("3.10"),
        Decimal("12.40"),
        Decimal("0.07"),
    ]
)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def plans(draw: st.DrawFn) -> TradePlan:
    account, setup = draw(names), draw(names)
    limit = draw(prices)
    tag = draw(
        st.one_of(st.just(trade_tag(PLAN_DAY, account, setup)), st.sampled_from(["bad tag", "x" * 252]))
    )
    return TradePlan(
        trade_id=trade_id(PLAN_DAY, account, setup),
        account_id=account,
        setup_id=setup,
        session=PLAN_DAY,
        tag=tag,
        option_symbol=draw(st.sampled_from(["SPXW261124C06000000", "SPXW261125P05950000"])),
        expiration=draw(st.sampled_from([PLAN_DAY, date(2026, 11, 25)])),
        planned_quantity=draw(st.integers(1, 6)),
        limit_price=limit,
        stop_price=draw(st.one_of(st.none(), prices)),
        t1_price=draw(st.one_of(st.none(), prices)),
        t1_fraction=draw(st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal("1")])),
        runner_stop_limit_offset=draw(
            st.one_of(st.none(), st.sampled_from([Decimal("0.05"), Decimal("0.20"), Decimal("5")]))
        ),
        risk_per_contract=draw(st.decimals("0", "5000", places=4)),
        cost_per_contract=draw(st.decimals("0", "5000", places=4)),
        pdt_qualified=draw(st.sampled_from([True, False, None])),
        risk_fingerprint=draw(st.text("0123456789abcdef", min_size=16, max_size=16)),
        recommendation_run_id=draw(names),
    )
