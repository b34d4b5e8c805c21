"""After fills, positions, orders and balances answer as Tradier does: quirks, OCO legs, failures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.broker.tradier.errors import TradierError
from spx_pipeline.emulator import FaultConfig, TradierEmulator
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline_tests.fixtures.simulation import (
    CASH,
    MARGIN,
    PDT,
    balances_of,
    biggest_drop,
    call,
    order_of,
    place,
    positions_of,
    quote_of,
    steps_ahead,
    zero_dte,
)
from spx_pipeline_tests.fixtures.tradier import SimulatedTradier

COMMISSION = Decimal("0.35")


def _buy_now(emu: TradierEmulator, account: str, symbol: str, quantity: int = 1) -> Decimal:
    ask = quote_of(emu, symbol)["ask"]
    order_id = place(
        emu, account, option_symbol=symbol, quantity=str(quantity), price=str(step_ticks(ask, 3))
    )
    order = order_of(emu, account, order_id)
    assert order["status"] == "filled", order
    return order["avg_fill_price"]


def test_positions_go_from_null_to_one_object_to_a_list_and_carry_the_fills(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=3)
    assert positions_of(emu, CASH) == "null"
    first = zero_dte(emu, 6050, "C")
    price = _buy_now(emu, CASH, first, quantity=2)
    single = positions_of(emu, CASH)["position"]
    assert isinstance(single, dict)
    assert single["symbol"] == first
    assert single["quantity"] == 2
    assert single["cost_basis"] == price * 2 * 100
    assert single["date_acquired"] == "2026-11-24T15:30:00.000Z"
    assert isinstance(single["id"], int)
    _buy_now(emu, CASH, zero_dte(emu, 5950, "P"))
    listed = positions_of(emu, CASH)["position"]
    assert [p["symbol"] for p in listed] == [first, zero_dte(emu, 5950, "P")]


def test_cash_and_buying_power_follow_a_round_trip(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    symbol = zero_dte(emu, 6000, "C")
    start = balances_of(emu, CASH)
    bought = _buy_now(emu, CASH, symbol, quantity=2)
    held = balances_of(emu, CASH)
    assert held["total_cash"] == start["total_cash"] - bought * 200 - 2 * COMMISSION
    assert held["cash"]["cash_available"] == start["cash"]["cash_available"] - bought * 200 - 2 * COMMISSION
    assert held["option_long_value"] == bought * 200
    assert held["pending_cash"] == 0 and held["pending_orders_count"] == 0

    emu.clock.advance(timedelta(minutes=30))
    bid = quote_of(emu, symbol)["bid"]
    sell = place(emu, CASH, option_symbol=symbol, side="sell_to_close", price=str(step_ticks(bid, -3)))
    sold = order_of(emu, CASH, sell)
    assert sold["status"] == "filled" and sold["exec_quantity"] == 1
    after = balances_of(emu, CASH)
    proceeds = sold["avg_fill_price"] * 100 - COMMISSION
    assert after["total_cash"] == held["total_cash"] + proceeds
    assert after["close_pl"] == (sold["avg_fill_price"] - bought) * 100
    (position,) = [positions_of(emu, CASH)["position"]]
    assert position["quantity"] == 1 and position["cost_basis"] == bought * 100
    assert after["total_equity"] == start["total_equity"] - 3 * COMMISSION + after["close_pl"]


def test_a_short_opened_by_a_fill_holds_margin(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    symbol = zero_dte(emu, 5975, "P")
    before = balances_of(emu, PDT)
    bid = quote_of(emu, symbol)["bid"]
    order_id = place(emu, PDT, option_symbol=symbol, side="sell_to_open", price=str(step_ticks(bid, -2)))
    order = order_of(emu, PDT, order_id)
    assert order["status"] == "filled"
    after = balances_of(emu, PDT)
    premium = order["avg_fill_price"] * 100
    assert after["total_cash"] == before["total_cash"] + premium - COMMISSION
    assert after["option_short_value"] == -premium
    assert after["pdt"]["option_buying_power"] < before["pdt"]["option_buying_power"] - 10_000
    short = next(p for p in positions_of(emu, PDT)["position"] if p["symbol"] == symbol)
    assert short["quantity"] == -1 and short["cost_basis"] == -premium


def test_a_close_larger_than_the_position_is_accepted_then_rejected(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier()
    symbol = zero_dte(emu, 6000, "C")
    order_id = place(emu, MARGIN, option_symbol=symbol, side="sell_to_close", price="1.00")
    order = order_of(emu, MARGIN, order_id)
    assert order["status"] == "rejected"
    assert symbol in order["reason_description"] and "holds 0" in order["reason_description"]
    emu.clock.advance(timedelta(hours=1))
    assert order_of(emu, MARGIN, order_id)["exec_quantity"] == 0
    # the demo's hand-made position can be closed, but not twice over
    held = "SPXW261218P05800000"
    first = place(emu, PDT, option_symbol=held, side="sell_to_close", price="500.00")
    second = place(emu, PDT, option_symbol=held, side="sell_to_close", price="500.00")
    assert order_of(emu, PDT, first)["status"] == "open"
    assert order_of(emu, PDT, second)["status"] == "rejected"


def test_an_oco_fills_one_leg_cancels_the_other_and_lists_both(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=5)
    span = timedelta(hours=2)
    symbol = biggest_drop(emu, [5975, 6000, 6025], span, "bid")
    _buy_now(emu, PDT, symbol)
    moments = steps_ahead(emu, span)
    bids = [emu.market.touch(symbol, m).bid for m in moments]
    stop, take = min(bids), step_ticks(max(bids), 5)  # the stop is reached, the target never
    trigger = moments[bids.index(stop)]
    form = {
        "class": "oco",
        "duration": "day",
        "tag": "t1-exit-1",
        **{f"{k}[{i}]": v for i in (0, 1) for k, v in {"symbol": "SPX", "option_symbol": symbol}.items()},
        **{f"{k}[{i}]": v for i in (0, 1) for k, v in {"side": "sell_to_close", "quantity": "1"}.items()},
        "type[0]": "limit",
        "price[0]": str(take),
        "type[1]": "stop",
        "stop[1]": str(stop),
    }
    placed = call(emu, "POST", f"/accounts/{PDT}/orders", PDT, data=form).json()["order"]
    assert placed["status"] == "ok"
    emu.clock.set(trigger)
    listed = call(emu, "GET", f"/accounts/{PDT}/orders", PDT, params={"includeTags": "true"}).json(
        parse_float=Decimal
    )["orders"]["order"]
    parent = next(o for o in listed if o["id"] == placed["id"])
    assert parent["class"] == "oco" and parent["tag"] == "t1-exit-1" and parent["num_legs"] == 2
    assert parent["status"] == "filled" and parent["exec_quantity"] == 1
    limit_leg, stop_leg = parent["leg"]
    assert (limit_leg["status"], stop_leg["status"]) == ("canceled", "filled")
    assert stop_leg["avg_fill_price"] == parent["avg_fill_price"] > 0
    assert limit_leg["transaction_date"] == stop_leg["transaction_date"] == parent["transaction_date"]
    for leg in parent["leg"]:
        assert {"option_symbol", "remaining_quantity", "last_fill_price", "create_date"} <= set(leg)
    assert symbol not in str(positions_of(emu, PDT))
    untagged = call(emu, "GET", f"/accounts/{PDT}/orders", PDT).json()["orders"]["order"]
    assert all("tag" not in o for o in untagged)


def test_the_broker_client_reads_what_the_server_reports(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    symbol = zero_dte(emu, 6000, "P")
    price = _buy_now(emu, PDT, symbol, quantity=2)
    with TradierClient(emu.book.accounts[PDT].token, base_url=emu.base_url) as client:
        orders = client.list_orders(PDT)
        positions = {p.symbol: p for p in client.get_positions(PDT)}
    (order,) = orders
    assert (order.status, order.exec_quantity, order.avg_fill_price) == ("filled", 2, price)
    assert order.remaining_quantity == 0 and order.option_symbol == symbol
    assert positions[symbol].quantity == 2 and positions[symbol].cost_basis == price * 200
    assert "SPXW261218P05800000" in positions  # the position opened by hand, outside our tickets


@pytest.mark.parametrize("status", [500, 401])
def test_a_failing_account_is_an_error_never_an_empty_book(
    simulated_tradier: SimulatedTradier, status: int
) -> None:
    emu = simulated_tradier()
    emu.set_faults(FaultConfig(failing_accounts=frozenset({PDT}), failing_status=status))
    for path in (f"/accounts/{PDT}/positions", f"/accounts/{PDT}/orders"):
        answer = call(emu, "GET", path, PDT)
        assert answer.status_code == status
        assert "null" not in answer.text
    with (
        TradierClient(emu.book.accounts[PDT].token, base_url=emu.base_url) as client,
        pytest.raises(TradierError),
    ):
        client.get_positions(PDT)
    stranger = call(emu, "GET", f"/accounts/{PDT}/positions", CASH)
    assert stranger.status_code == 401


def test_when_both_oco_legs_are_marketable_at_once_only_one_fills(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=5, at="2026-11-24T08:00:00-05:00")  # before the open: both legs wait
    held = "SPXW261218P05800000"  # the demo's position opened by hand
    form = {
        "class": "oco",
        "duration": "day",
        **{f"{k}[{i}]": v for i in (0, 1) for k, v in {"symbol": "SPX", "option_symbol": held}.items()},
        **{f"{k}[{i}]": v for i in (0, 1) for k, v in {"side": "sell_to_close", "quantity": "1"}.items()},
        "type[0]": "limit",
        "price[0]": "0.05",  # at or below any bid
        "type[1]": "stop",
        "stop[1]": "500.00",  # at or above any bid: triggered at once
    }
    placed = call(emu, "POST", f"/accounts/{PDT}/orders", PDT, data=form).json()["order"]
    assert order_of(emu, PDT, placed["id"])["status"] == "pending"
    emu.clock.set("2026-11-24T09:30:00-05:00")
    parent = order_of(emu, PDT, placed["id"])
    assert sorted(leg["status"] for leg in parent["leg"]) == ["canceled", "filled"]
    assert [f.order_id for f in emu.fill_log()] == [placed["id"] + 1]
    assert held not in str(positions_of(emu, PDT))
