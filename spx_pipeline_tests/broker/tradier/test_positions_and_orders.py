"""Typed reads of positions and orders (OCO legs, tags, fills) against a local server that fills."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from spx_pipeline.broker.tradier import (
    OcoOrderRequest,
    OptionLeg,
    OptionOrderRequest,
    OrderClass,
    OrderStatus,
    OrderType,
    Side,
    TradierClient,
)
from spx_pipeline.emulator import TradierEmulator
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline_tests.fixtures.simulation import CASH, PDT, quote_of, zero_dte
from spx_pipeline_tests.fixtures.tradier import SimulatedTradier

HELD = "SPXW261218P05800000"  # the demo pdt account's position, opened by hand


def client_of(emu: TradierEmulator, account: str) -> TradierClient:
    return TradierClient(emu.book.accounts[account].token, base_url=emu.base_url)


def test_positions_from_none_to_one_to_many(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    first, second = zero_dte(emu, 6050, "C"), zero_dte(emu, 5950, "P")
    with client_of(emu, CASH) as client:
        assert client.get_positions(CASH) == []  # Tradier's "null"
        for symbol, quantity in ((first, 2), (second, 1)):
            limit = step_ticks(quote_of(emu, symbol)["ask"], 3)
            order = OptionOrderRequest.build(
                OptionLeg.build(symbol, "buy_to_open", quantity, "limit", price=limit)
            )
            client.place_order(CASH, order)
            if symbol == first:
                (only,) = client.get_positions(CASH)  # one bare object on the wire
                assert only.symbol == first and only.quantity == Decimal(2)
                assert only.date_acquired == datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
                filled = client.list_orders(CASH)[0]
                assert only.cost_basis == filled.avg_fill_price * 200
        positions = client.get_positions(CASH)
    assert [p.symbol for p in positions] == [first, second]
    assert all(isinstance(p.quantity, Decimal) and p.raw["symbol"] == p.symbol for p in positions)


def test_a_filled_order_reads_as_typed_values(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    symbol = zero_dte(emu, 6000, "P")
    limit = step_ticks(quote_of(emu, symbol)["ask"], 3)
    with client_of(emu, PDT) as client:
        placed = client.place_order(
            PDT,
            OptionOrderRequest.build(
                OptionLeg.build(symbol, "buy_to_open", 2, "limit", price=limit), tag="buy-1"
            ),
        )
        order = client.get_order(PDT, placed.id)
        (listed,) = client.list_orders(PDT)
    assert listed == order
    assert order.status is OrderStatus.FILLED and not order.working
    assert (order.side, order.type, order.order_class) == (
        Side.BUY_TO_OPEN,
        OrderType.LIMIT,
        OrderClass.OPTION,
    )
    assert order.exec_quantity == 2 and order.remaining_quantity == 0 and order.avg_fill_price <= limit
    assert order.tag == "buy-1" and order.option_symbol == symbol and order.legs == ()


def test_an_oco_reads_with_its_legs_and_tag_and_reconciles_by_it(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=5, at="2026-11-24T08:00:00-05:00")  # before the open: both legs wait
    oco = OcoOrderRequest.build(
        OptionLeg.build(HELD, "sell_to_close", 1, "limit", price="0.05"),  # at or below any bid
        OptionLeg.build(HELD, "sell_to_close", 1, "stop", stop="500.00"),  # triggered at once
        tag="t1-oco-7",
    )
    with client_of(emu, PDT) as client:
        placed = client.place_order(PDT, oco)
        (waiting,) = client.find_orders_by_tag(PDT, "t1-oco-7")
        assert waiting.id == placed.id and waiting.order_class is OrderClass.OCO
        assert waiting.status is OrderStatus.PENDING and waiting.working
        assert [leg.type for leg in waiting.legs] == [OrderType.LIMIT, OrderType.STOP]
        assert [leg.status for leg in waiting.legs] == [OrderStatus.PENDING, OrderStatus.PENDING]
        emu.clock.set("2026-11-24T09:30:00-05:00")
        done = client.get_order(PDT, placed.id)
        untagged = client.list_orders(PDT, include_tags=False)
        positions = {p.symbol for p in client.get_positions(PDT)}
    assert done.status is OrderStatus.FILLED and done.num_legs == 2 and done.exec_quantity == 1
    assert sorted(leg.status for leg in done.legs) == [OrderStatus.CANCELED, OrderStatus.FILLED]
    assert all(leg.option_symbol == HELD and leg.side is Side.SELL_TO_CLOSE for leg in done.legs)
    assert [order.tag for order in untagged] == [None]
    assert HELD not in positions
