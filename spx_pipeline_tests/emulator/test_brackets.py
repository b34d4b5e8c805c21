"""OTO and OTOCO on the local server: legs that wait for their trigger, then work, fill and cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from spx_pipeline.domain.tradier.order_requests import OptionLeg, OtocoOrderRequest, OtoOrderRequest
from spx_pipeline.emulator import TradierEmulator
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline_tests.fixtures.simulation import (
    PDT,
    biggest_drop,
    body,
    call,
    first_at,
    order_of,
    place,
    positions_of,
    quote_of,
    steps_ahead,
    zero_dte,
)
from spx_pipeline_tests.fixtures.tradier import SimulatedTradier

TWO_HOURS = timedelta(hours=2)


def _post(emu: TradierEmulator, form: dict[str, str], account: str = PDT) -> int:
    answer = body(call(emu, "POST", f"/accounts/{account}/orders", account, data=form))
    assert answer["order"]["status"] == "ok", answer
    return int(answer["order"]["id"])


def _oto(symbol: str, quantity: int, limit: Decimal, stop: Decimal, **fields: Any) -> dict[str, str]:
    buy = OptionLeg.build(symbol, "buy_to_open", quantity, "limit", price=limit)
    sell = OptionLeg.build(symbol, "sell_to_close", quantity, "stop", stop=stop)
    return OtoOrderRequest.build(buy, sell, **fields).to_form()


def _legs(emu: TradierEmulator, order_id: int) -> list[tuple[str, int]]:
    order = order_of(emu, PDT, order_id)
    return [(leg["status"], int(leg["exec_quantity"])) for leg in order["leg"]]


def _held(emu: TradierEmulator, symbol: str) -> Decimal:
    positions = positions_of(emu, PDT)
    rows = [] if positions == "null" else positions["position"]
    rows = rows if isinstance(rows, list) else [rows]
    return sum((Decimal(str(p["quantity"])) for p in rows if p["symbol"] == symbol), Decimal(0))


def _first_moment(moments: list[datetime], after: datetime, hit: Any) -> datetime:
    return next(m for m in moments if m > after and hit(m))


def test_an_oto_stop_is_pending_until_its_entry_fills_then_works_and_fills(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=11)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "ask")
    moments = steps_ahead(emu, TWO_HOURS)
    asks = [emu.market.touch(symbol, m).ask for m in moments]
    limit = min(asks)
    crossing = first_at(moments, asks, limit)
    stop = quote_of(emu, symbol)["bid"]  # a sell stop at the bid: a working one would trigger at once
    order_id = _post(emu, _oto(symbol, 1, limit, stop, tag="oto-1"))

    assert order_of(emu, PDT, order_id)["class"] == "oto"
    assert _legs(emu, order_id) == [("open", 0), ("pending", 0)]
    emu.clock.set(crossing - timedelta(seconds=1))
    assert _legs(emu, order_id) == [("open", 0), ("pending", 0)]
    assert emu.fill_log() == [] and _held(emu, symbol) == 0

    emu.clock.set(crossing)
    assert _legs(emu, order_id) == [("filled", 1), ("open", 0)]
    assert _held(emu, symbol) == 1
    trigger = _first_moment(moments, crossing, lambda m: emu.market.touch(symbol, m).bid <= stop)
    emu.clock.set(trigger)
    assert _legs(emu, order_id) == [("filled", 1), ("filled", 1)]
    assert order_of(emu, PDT, order_id)["status"] == "filled"
    assert _held(emu, symbol) == 0
    sells = [f for f in emu.fill_log() if f.side == "sell_to_close"]
    assert len(sells) == 1 and sells[0].at == trigger


def test_an_oto_stop_stays_pending_while_its_entry_is_only_partly_filled(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=2)
    symbol = next(
        s
        for s in (zero_dte(emu, strike, "C") for strike in range(6025, 6200, 5))
        if Decimal("0.50") <= quote_of(emu, s)["ask"] <= Decimal("2.00")
    )
    shown = quote_of(emu, symbol)["asksize"]
    quantity = 2 * shown + 1
    moments = steps_ahead(emu, timedelta(minutes=1))
    limit = step_ticks(max(emu.market.touch(symbol, m).ask for m in [emu.clock.now(), *moments]), 2)
    order_id = _post(emu, _oto(symbol, quantity, limit, Decimal("0.05")))
    assert _legs(emu, order_id) == [("partially_filled", shown), ("pending", 0)]
    emu.clock.set(moments[0])
    assert _legs(emu, order_id) == [("partially_filled", 2 * shown), ("pending", 0)]
    emu.clock.set(moments[1])
    assert _legs(emu, order_id) == [("filled", quantity), ("open", 0)]


def test_canceling_an_oto_before_its_entry_fills_cancels_its_waiting_stop(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=11)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "ask")
    moments = steps_ahead(emu, TWO_HOURS)
    limit = min(emu.market.touch(symbol, m).ask for m in moments)
    order_id = _post(emu, _oto(symbol, 1, limit, Decimal("0.05")))
    canceled = call(emu, "DELETE", f"/accounts/{PDT}/orders/{order_id}", PDT).json()
    assert canceled == {"order": {"id": order_id, "status": "ok"}}
    emu.clock.set(moments[-1])  # the market crosses the entry's limit after the cancel
    assert order_of(emu, PDT, order_id)["status"] == "canceled"
    assert _legs(emu, order_id) == [("canceled", 0), ("canceled", 0)]
    assert emu.fill_log() == []


def test_a_day_oto_whose_entry_never_fills_expires_with_its_stop_at_the_close(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier()
    symbol = zero_dte(emu, 6000, "C")
    order_id = _post(emu, _oto(symbol, 1, Decimal("0.05"), Decimal("0.05")))
    emu.clock.set("2026-11-24T15:59:59-05:00")
    assert _legs(emu, order_id) == [("open", 0), ("pending", 0)]
    emu.clock.set("2026-11-24T16:00:00-05:00")
    assert _legs(emu, order_id) == [("expired", 0), ("expired", 0)]
    assert order_of(emu, PDT, order_id)["status"] == "expired"
    assert emu.fill_log() == []


def test_an_otoco_bracket_works_after_its_entry_fills_and_its_exits_cancel_each_other(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=5)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "bid")
    ask = quote_of(emu, symbol)["ask"]
    moments = steps_ahead(emu, TWO_HOURS)
    bids = [emu.market.touch(symbol, m).bid for m in moments]
    stop = min(bids)
    trigger = first_at(moments, bids, stop)
    buy = OptionLeg.build(symbol, "buy_to_open", 1, "limit", price=step_ticks(ask, 3))
    target = OptionLeg.build(symbol, "sell_to_close", 1, "limit", price="99.00")
    guard = OptionLeg.build(symbol, "sell_to_close", 1, "stop", stop=stop)
    order_id = _post(emu, OtocoOrderRequest.build(buy, target, guard, tag="br-1").to_form())

    assert _legs(emu, order_id) == [("filled", 1), ("open", 0), ("open", 0)]  # marketable: filled at once
    assert order_of(emu, PDT, order_id)["class"] == "otoco"
    emu.clock.set(trigger - timedelta(seconds=1))
    assert _legs(emu, order_id) == [("filled", 1), ("open", 0), ("open", 0)]
    emu.clock.set(trigger)
    assert _legs(emu, order_id) == [("filled", 1), ("canceled", 0), ("filled", 1)]
    assert _held(emu, symbol) == 0
    emu.clock.set(moments[-1])
    assert len([f for f in emu.fill_log() if f.side == "sell_to_close"]) == 1


def test_the_closing_leg_of_an_oto_is_not_refused_for_lack_of_a_position(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=11)
    symbol = zero_dte(emu, 6000, "P")
    assert _held(emu, symbol) == 0
    order_id = _post(emu, _oto(symbol, 2, Decimal("0.05"), Decimal("0.05")))
    order = order_of(emu, PDT, order_id)
    assert order["status"] == "open" and "reason_description" not in order
    assert _legs(emu, order_id) == [("open", 0), ("pending", 0)]
    # The same closing order on its own is refused: the account holds nothing to close.
    alone = place(emu, PDT, option_symbol=symbol, side="sell_to_close", type="stop", stop="0.05")
    refused = order_of(emu, PDT, alone)
    assert refused["status"] == "rejected" and "holds 0 long" in refused["reason_description"]


def test_a_waiting_oto_stop_does_not_count_as_covering_a_position_already_held(
    simulated_tradier: SimulatedTradier,
) -> None:
    """Two trades on one contract: the second's bracket stop waits for its own entry, so it must not
    make the first trade's protective stop look like more than the account holds."""
    emu = simulated_tradier(seed=11)
    symbol = zero_dte(emu, 6000, "P")
    ask = quote_of(emu, symbol)["ask"]
    bought = place(emu, PDT, option_symbol=symbol, price=str(step_ticks(ask, 3)))
    assert order_of(emu, PDT, bought)["status"] == "filled" and _held(emu, symbol) == 1
    waiting = _post(emu, _oto(symbol, 1, Decimal("0.05"), Decimal("0.05")))
    assert _legs(emu, waiting) == [("open", 0), ("pending", 0)]
    stop = place(emu, PDT, option_symbol=symbol, side="sell_to_close", type="stop", stop="0.05")
    order = order_of(emu, PDT, stop)
    assert order["status"] == "open", order.get("reason_description")
