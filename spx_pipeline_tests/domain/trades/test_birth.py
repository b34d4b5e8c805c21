"""A plan from a recommendation row, and the orders (entry, OTO bracket, exits) it would send."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from spx_pipeline.domain.orders import OrderPayloadError, t1_order
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.trades import LocalStatus, entry_intent, trade_id
from spx_pipeline.domain.trades.birth import plan_from_recommendation, planned_tickets
from spx_pipeline.domain.trades.intents import runner_stop_intent, t1_intent
from spx_pipeline.domain.tradier.order_requests import OtoOrderRequest, read_order_form
from spx_pipeline_tests.fixtures.trades import make_plan

SETUP = Setup("setup-a", "bullish", stop_premium=Decimal("2.20"), t1_gain_pct=Decimal("0.5"))


def _rec(**fields) -> dict:
    row = {
        "as_of_date": "2026-11-24", "account_id": "VA00000001", "symbol": "SPXW  261124C06000000",
        "suggested_contracts": 3, "limit_price": Decimal("4.40"), "suggested_cost": Decimal("1323.90"),
        "risk_fingerprint": "fp-9", "pdt_qualified": float("nan"),
    }  # fmt: skip
    row.update(fields)
    return row


def test_a_plan_keeps_what_sizing_counted_and_the_exit_prices() -> None:
    plan = plan_from_recommendation(_rec(), SETUP, run_id="rec-1")
    assert plan.trade_id == trade_id(date(2026, 11, 24), "VA00000001", "setup-a")
    assert plan.option_symbol == "SPXW261124C06000000"  # the padded OSI spelling, normalized
    assert (plan.session, plan.expiration, plan.same_day) == (date(2026, 11, 24), date(2026, 11, 24), True)
    assert (plan.planned_quantity, plan.limit_price, plan.stop_price) == (3, Decimal("4.40"), Decimal("2.20"))
    assert plan.t1_price == Decimal("6.60")
    assert plan.cost_per_contract == Decimal("441.30")
    assert plan.risk_per_contract == Decimal("221.30")  # (4.40 - 2.20) x 100 + what sizing added
    assert plan.pdt_qualified is None and plan.recommendation_run_id == "rec-1"


def test_without_a_stop_the_risk_is_the_whole_cost() -> None:
    plan = plan_from_recommendation(_rec(), Setup("setup-b", "bullish"), run_id="rec-1")
    assert plan.stop_price is None and plan.breakeven_runner
    assert plan.risk_per_contract == plan.cost_per_contract == Decimal("441.30")


@pytest.mark.parametrize(
    "cost", [1323.9, 1323, np.float64(1323.9), Decimal("1323.90"), "1323.9", 1323.87, 0.0, -0.0]
)
@pytest.mark.parametrize("stop", [None, Decimal("2.20"), Decimal("2.2")])
def test_cost_and_risk_per_contract_are_what_the_cost_gives_whatever_its_type_and_however_often(
    cost: object, stop: Decimal | None
) -> None:
    """Costs of floats and whole numbers are worked out once per value (the cache): the plan still
    holds what the row's cost spells, rounded up to the cent fraction, as an uncached Decimal would."""
    setup = Setup("setup-a", "bullish", stop_premium=stop, t1_gain_pct=Decimal("0.5"))
    row = _rec(suggested_cost=cost, as_of_date=pd.Timestamp("2026-11-24"))
    each = (Decimal(str(cost)) / 3).quantize(Decimal("0.0001"), rounding="ROUND_CEILING")
    risk = each if stop is None else each - stop * 100
    for _ in range(2):  # the second time from the cache
        plan = plan_from_recommendation(row, setup, run_id="rec-1")
        assert (plan.cost_per_contract, plan.risk_per_contract) == (each, risk.quantize(Decimal("0.0001")))
        assert str(plan.cost_per_contract) == str(each) and plan.session == date(2026, 11, 24)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"suggested_contracts": 0}, "suggested_contracts"), ({"symbol": ""}, "symbol"),
     ({"limit_price": Decimal("4.43")}, "limit_price")],
)  # fmt: skip
def test_a_row_that_cannot_make_a_trade_is_refused_naming_the_field(fields: dict, field: str) -> None:
    with pytest.raises(OrderPayloadError) as caught:
        plan_from_recommendation(_rec(**fields), SETUP, run_id="rec-1")
    assert caught.value.field == field


def test_a_one_lot_with_a_stop_enters_as_an_oto_whose_second_order_is_its_stop() -> None:
    plan = make_plan(quantity=1, offset="0.10")
    intent = entry_intent(plan)
    request = read_order_form(intent.form)
    assert isinstance(request, OtoOrderRequest) and request.tag == f"{plan.tag}-entry"
    buy, stop = request.legs
    assert (buy.side, buy.quantity, buy.type, buy.price) == ("buy_to_open", 1, "limit", Decimal("4.40"))
    assert (stop.side, stop.quantity, stop.type) == ("sell_to_close", 1, "stop_limit")
    assert (stop.stop, stop.price) == (Decimal("2.20"), Decimal("2.10"))
    tickets = planned_tickets(plan)
    assert tickets.legs() == {"entry": intent}


def test_larger_entries_and_a_one_lot_without_a_stop_are_plain_limits() -> None:
    for plan in (make_plan(quantity=4), make_plan(quantity=1, stop=None)):
        intent = entry_intent(plan)
        assert (intent.order_class, intent.order_type, intent.quantity) == (
            "option",
            "limit",
            plan.planned_quantity,
        )
    tickets = planned_tickets(make_plan(quantity=4))
    assert tickets.t1 is not None and tickets.runner_stop is not None
    assert (tickets.t1.order_class, tickets.t1.quantity, tickets.runner_stop.quantity) == ("oco", 2, 2)
    assert planned_tickets(make_plan(quantity=1, stop=None)).legs().keys() == {"entry"}


def test_exits_that_cannot_be_built_are_refused_naming_the_field() -> None:
    with pytest.raises(OrderPayloadError, match="t1_price"):
        t1_intent(make_plan(t1=None), 1, 1, reason="")
    with pytest.raises(OrderPayloadError, match=r"stop=Decimal\('6.60'\): the OCO stop must be below"):
        t1_intent(make_plan(stop="6.60", t1="6.60"), 1, 1, reason="")
    with pytest.raises(OrderPayloadError, match="runner_stop_limit_offset"):
        runner_stop_intent(make_plan(offset="2.20"), 1, 1, Decimal("2.20"), reason="")


@pytest.mark.parametrize("stop", ["2.20", None])
def test_a_trade_sends_the_t1_order_its_ticket_shows(stop: str | None) -> None:
    """The trade's T1 and the ticket's T1 leg are built by one function: the same form, OCO or plain."""
    plan = make_plan(quantity=4, stop=stop)
    intent = t1_intent(plan, 1, 2, reason="t1")
    ticket = t1_order(plan.option_symbol, 4, 2, plan.t1_price, plan.stop_price, tag=intent.tag)
    assert intent.form == ticket
    assert ticket["class"] == ("option" if stop is None else "oco")


def test_a_claimed_intent_is_the_order_it_names_owned_by_the_run_with_its_form_and_reason() -> None:
    """One conversion serves the claims and the tests' fixtures: every field of the intent carried."""
    intent = t1_intent(make_plan(quantity=3), 2, 1, reason="T1 slice of 1 (3 held of 3 filled)")
    at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    order = intent.claimed(session=date(2026, 11, 24), run_id="p-1", now=at)
    carried = ("tag", "trade_id", "account_id", "leg", "seq", "order_class", "side", "order_type")
    assert all(getattr(order, name) == getattr(intent, name) for name in carried)
    assert (order.quantity, order.price, order.stop_price, order.duration) == (
        1, intent.price, intent.stop_price, intent.duration,
    )  # fmt: skip
    session = date(2026, 11, 24)
    assert (order.session, order.run_id, order.claimed_at, order.updated_at) == (session, "p-1", at, at)
    assert order.local_status == LocalStatus.CLAIMED
    assert order.broker is None and order.broker_order_id is None
    assert read_order_form(json.loads(order.payload_json)) == read_order_form(intent.form)
    assert order.message == "T1 slice of 1 (3 held of 3 filled)" and order.seq == 2
