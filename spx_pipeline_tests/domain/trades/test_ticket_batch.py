"""Tickets built once per shape and named per trade are exactly the ones ``planned_tickets`` builds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.domain.trades.birth import planned_tickets
from spx_pipeline.domain.trades.ids import trade_id, trade_tag
from spx_pipeline.domain.trades.records import TradePlan
from spx_pipeline.domain.trades.ticket_batch import planned_tickets_many, tickets_of_plans
from spx_pipeline_tests.domain.strategies import names, plans

D = Decimal
DAY = date(2026, 11, 24)


def _scalar(plan: TradePlan) -> list[tuple[str, object, str]] | str:
    try:
        legs = planned_tickets(plan).legs()
    except OrderPayloadError as exc:
        return f"{type(exc).__name__}: {exc}"
    return [(leg, intent, intent.payload_json()) for leg, intent in legs.items()]


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(plans(), min_size=1, max_size=8))
def test_batched_tickets_equal_the_scalar_ones_field_by_field_and_byte_for_byte(
    batch: list[TradePlan],
) -> None:
    # Shapes repeat across the batch so the template path runs, not only the first build.
    batch = batch + [plan for plan in reversed(batch)]
    for plan, got, tickets in zip(batch, tickets_of_plans(batch), planned_tickets_many(batch), strict=True):
        expected = _scalar(plan)
        if isinstance(expected, str):
            assert isinstance(got, OrderPayloadError) and f"{type(got).__name__}: {got}" == expected
            assert isinstance(tickets, OrderPayloadError) and str(tickets) == str(got)
            continue
        assert not isinstance(got, OrderPayloadError) and not isinstance(tickets, OrderPayloadError)
        assert [(leg.leg, leg.intent, leg.payload_json) for leg in got] == expected
        assert tickets == planned_tickets(plan)


@example(a="VA1", b="VA2")
@given(a=names, b=names)
def test_two_accounts_on_one_shape_get_their_own_ids_and_tags(a: str, b: str) -> None:
    shape = dict(
        session=DAY, option_symbol="SPXW261124C06000000", expiration=DAY, planned_quantity=3,
        limit_price=D("3.10"), stop_price=D("1.50"), t1_price=D("4.60"), t1_fraction=D("0.5"),
        runner_stop_limit_offset=None, risk_per_contract=D("160.65"), cost_per_contract=D("310.65"),
        pdt_qualified=True, risk_fingerprint="0" * 16, recommendation_run_id="r",
    )  # fmt: skip
    one, two = (
        TradePlan(
            trade_id=trade_id(DAY, x, "s"), account_id=x, setup_id="s", tag=trade_tag(DAY, x, "s"), **shape
        )
        for x in (a, b)
    )
    for plan, legs in zip((one, two), tickets_of_plans([one, two]), strict=True):
        assert not isinstance(legs, OrderPayloadError)
        assert {leg.intent.account_id for leg in legs} == {plan.account_id}
        assert all(
            leg.intent.tag.startswith(plan.tag) and leg.intent.form["tag"] == leg.intent.tag for leg in legs
        )
        assert all(f'"tag": "{leg.intent.tag}"' in leg.payload_json for leg in legs)
