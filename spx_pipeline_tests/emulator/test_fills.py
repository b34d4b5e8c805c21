"""The local server fills orders against its simulated path, deterministically, up to its clock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from spx_pipeline.clock import FixedClock
from spx_pipeline.domain.ticks import is_on_tick
from spx_pipeline.emulator import EmulatedAccount, EmulatorConfig, TradierEmulator, demo_accounts
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline_tests.fixtures.clock import TEST_NOW
from spx_pipeline_tests.fixtures.simulation import (
    MARGIN,
    PDT,
    balances_of,
    biggest_drop,
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
BIG = EmulatedAccount("VA77700001", "big-margin-token", "margin", Decimal("5000000"), Decimal("5000000"))


def test_marketable_buy_limit_fills_at_or_below_its_limit_sometimes_better_sometimes_worse(
    simulated_tradier: SimulatedTradier,
) -> None:
    against_ask: list[int] = []
    for seed in range(1, 7):
        emu = simulated_tradier(seed=seed)
        for strike in (5950, 6000, 6050):
            symbol = zero_dte(emu, strike, "C")
            ask = quote_of(emu, symbol)["ask"]
            limit = step_ticks(ask, 2)
            order = order_of(emu, PDT, place(emu, PDT, option_symbol=symbol, price=str(limit)))
            fill = emu.fill_log()[-1]
            assert order["status"] == "filled"
            assert order["avg_fill_price"] == fill.price <= limit
            assert fill.ask == ask and fill.at == emu.clock.now()
            assert fill.price > fill.bid
            against_ask.append((fill.price > ask) - (fill.price < ask))
    assert 1 in against_ask and -1 in against_ask  # worse and better than the quote both happen


def test_an_adverse_draw_never_takes_a_buy_above_its_limit(simulated_tradier: SimulatedTradier) -> None:
    capped = 0
    for seed in range(1, 4):
        emu = simulated_tradier(seed=seed)
        for strike in range(5950, 6150, 25):
            symbol = zero_dte(emu, strike, "P")
            ask = quote_of(emu, symbol)["ask"]
            place(emu, PDT, option_symbol=symbol, price=str(ask))
            fill = emu.fill_log()[-1]
            assert fill.price <= ask
            capped += fill.slippage_ticks > 0
    assert capped  # the draw wanted a worse price at least once, and the limit held


def test_a_marketable_sell_limit_never_fills_below_its_limit(simulated_tradier: SimulatedTradier) -> None:
    prices: list[tuple[Decimal, Decimal]] = []
    for seed in range(1, 4):
        emu = simulated_tradier(seed=seed, accounts=[BIG])
        for strike in range(5975, 6175, 25):
            symbol = zero_dte(emu, strike, "P")
            bid = quote_of(emu, symbol)["bid"]
            limit = step_ticks(bid, -1)
            order_id = place(emu, BIG.account_id, option_symbol=symbol, side="sell_to_open", price=str(limit))
            fill = emu.fill_log()[-1]
            assert order_of(emu, BIG.account_id, order_id)["status"] == "filled"
            assert limit <= fill.price < fill.ask
            prices.append((fill.price, bid))
    assert any(price < bid for price, bid in prices)  # worse than the bid (still within the limit)


def test_a_resting_limit_fills_when_the_path_crosses_it(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=11)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "ask")
    moments = steps_ahead(emu, TWO_HOURS)
    asks = [emu.market.touch(symbol, m).ask for m in moments]
    limit = min(asks)
    crossing = first_at(moments, asks, limit)
    assert quote_of(emu, symbol)["ask"] > limit
    order_id = place(emu, PDT, option_symbol=symbol, price=str(limit))
    assert order_of(emu, PDT, order_id)["status"] == "open"

    emu.clock.set(crossing - timedelta(seconds=1))
    before = order_of(emu, PDT, order_id)
    assert (before["status"], before["exec_quantity"]) == ("open", 0)
    emu.clock.set(crossing)
    after = order_of(emu, PDT, order_id)
    assert after["status"] == "filled"
    assert after["avg_fill_price"] <= limit
    assert after["transaction_date"] == crossing.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert quote_of(emu, symbol)["ask"] == limit  # the quote endpoint shows what the order met


def _bought(emu: TradierEmulator, symbol: str, quantity: int = 1) -> None:
    ask = quote_of(emu, symbol)["ask"]
    order_id = place(emu, PDT, option_symbol=symbol, quantity=str(quantity), price=str(step_ticks(ask, 3)))
    assert order_of(emu, PDT, order_id)["status"] == "filled"


def test_a_sell_stop_triggers_on_the_path_and_closes_the_position(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=5)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "bid")
    _bought(emu, symbol)
    moments = steps_ahead(emu, TWO_HOURS)
    bids = [emu.market.touch(symbol, m).bid for m in moments]
    stop = min(bids)
    trigger = first_at(moments, bids, stop)
    order_id = place(emu, PDT, option_symbol=symbol, side="sell_to_close", type="stop", stop=str(stop))

    emu.clock.set(trigger - timedelta(seconds=1))
    assert order_of(emu, PDT, order_id)["status"] == "open"
    emu.clock.set(trigger)
    order = order_of(emu, PDT, order_id)
    fill = emu.fill_log()[-1]
    assert order["status"] == "filled" and fill.at == trigger and fill.bid <= stop
    assert symbol not in str(positions_of(emu, PDT))


def test_a_stop_limit_fills_only_within_its_limit_after_the_trigger(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=5)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "bid")
    _bought(emu, symbol, quantity=2)
    moments = steps_ahead(emu, TWO_HOURS)
    bids = [emu.market.touch(symbol, m).bid for m in moments]
    stop = min(bids)
    trigger = first_at(moments, bids, stop)
    later = bids[moments.index(trigger) :]
    high_limit = max(later)  # above the bid at the trigger: rests until the bid climbs back
    assert high_limit > stop
    recovered = moments[moments.index(trigger) + later.index(high_limit)]
    at_stop = place(
        emu,
        PDT,
        option_symbol=symbol,
        side="sell_to_close",
        type="stop_limit",
        stop=str(stop),
        price=str(stop),
    )
    above = place(
        emu,
        PDT,
        option_symbol=symbol,
        side="sell_to_close",
        type="stop_limit",
        stop=str(stop),
        price=str(high_limit),
    )
    emu.clock.set(trigger)
    assert order_of(emu, PDT, at_stop)["status"] == "filled"
    assert order_of(emu, PDT, at_stop)["avg_fill_price"] >= stop
    assert order_of(emu, PDT, above)["status"] == "open"  # triggered, but the bid is below its limit
    emu.clock.set(recovered - timedelta(seconds=1))
    assert order_of(emu, PDT, above)["status"] == "open"
    emu.clock.set(recovered)
    filled = order_of(emu, PDT, above)
    assert filled["status"] == "filled" and filled["avg_fill_price"] >= high_limit


def test_large_orders_fill_in_parts_at_the_displayed_size_then_complete(
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
    order_id = place(emu, PDT, option_symbol=symbol, quantity=str(quantity), price=str(limit))

    first = order_of(emu, PDT, order_id)
    assert (first["status"], first["exec_quantity"], first["remaining_quantity"]) == (
        "partially_filled",
        shown,
        quantity - shown,
    )
    emu.clock.set(moments[0])
    second = order_of(emu, PDT, order_id)
    assert (second["status"], second["exec_quantity"]) == ("partially_filled", 2 * shown)
    emu.clock.set(moments[1])
    done = order_of(emu, PDT, order_id)
    fills = [f for f in emu.fill_log() if f.order_id == order_id]
    assert (done["status"], done["exec_quantity"], done["remaining_quantity"]) == ("filled", quantity, 0)
    assert [f.quantity for f in fills] == [shown, shown, 1]
    assert done["last_fill_quantity"] == 1 and done["last_fill_price"] == fills[-1].price
    value = sum(f.price * f.quantity for f in fills)
    assert done["avg_fill_price"] == (value / quantity).quantize(Decimal("1E-8"))
    position = next(p for p in _as_list(positions_of(emu, PDT)["position"]) if p["symbol"] == symbol)
    assert position["quantity"] == quantity and position["cost_basis"] == value * 100


def _as_list(item: object) -> list:
    return item if isinstance(item, list) else [item]


def test_canceling_a_resting_order_stops_it_and_releases_its_reservation(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=11)
    symbol = biggest_drop(emu, [5975, 6000, 6025], TWO_HOURS, "ask")
    moments = steps_ahead(emu, TWO_HOURS)
    asks = [emu.market.touch(symbol, m).ask for m in moments]
    order_id = place(emu, PDT, option_symbol=symbol, price=str(min(asks)))
    assert balances_of(emu, PDT)["pending_cash"] == min(asks) * 100 + Decimal("0.35")
    canceled = call(emu, "DELETE", f"/accounts/{PDT}/orders/{order_id}", PDT).json()
    assert canceled == {"order": {"id": order_id, "status": "ok"}}
    emu.clock.set(moments[-1])
    assert order_of(emu, PDT, order_id)["status"] == "canceled"
    assert emu.fill_log() == []
    assert balances_of(emu, PDT)["pending_cash"] == 0


def test_day_orders_expire_at_the_close_and_gtc_orders_on_later_expiries_stay(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier()
    later = f"SPXW{emu.market.spxw_dates[2]:%y%m%d}P05500000"
    day = place(emu, PDT, option_symbol=zero_dte(emu, 6000, "C"), price="0.05")
    gtc_0dte = place(emu, PDT, option_symbol=zero_dte(emu, 6000, "C"), price="0.05", duration="gtc")
    gtc_later = place(emu, PDT, option_symbol=later, price="0.05", duration="gtc")
    emu.clock.set("2026-11-24T15:59:59-05:00")
    assert {order_of(emu, PDT, i)["status"] for i in (day, gtc_0dte, gtc_later)} == {"open"}
    emu.clock.set("2026-11-24T16:00:00-05:00")
    expired = order_of(emu, PDT, day)
    assert expired["status"] == "expired" and expired["remaining_quantity"] == 0
    assert expired["transaction_date"] == "2026-11-24T21:00:00.000Z"
    assert order_of(emu, PDT, gtc_0dte)["status"] == "expired"  # its contract stopped trading
    assert order_of(emu, PDT, gtc_later)["status"] == "open"
    assert balances_of(emu, PDT)["pending_orders_count"] == 1


def test_an_order_placed_before_the_open_is_pending_until_the_session(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(at="2026-11-24T08:00:00-05:00")
    symbol = zero_dte(emu, 6000, "C")
    order_id = place(emu, PDT, option_symbol=symbol, price="0.05")
    assert order_of(emu, PDT, order_id)["status"] == "pending"
    emu.clock.set("2026-11-24T09:30:00-05:00")
    assert order_of(emu, PDT, order_id)["status"] == "open"


def _scenario(emu: TradierEmulator) -> tuple[list[object], object]:
    symbol = zero_dte(emu, 6000, "P")
    ask = quote_of(emu, symbol)["ask"]
    place(emu, PDT, option_symbol=symbol, quantity="80", price=str(step_ticks(ask, 4)), tag="a-1")
    place(emu, PDT, option_symbol=zero_dte(emu, 5975, "C"), price=str(step_ticks(ask, -6)))
    place(emu, MARGIN, option_symbol=zero_dte(emu, 6000, "C"), type="market", quantity="3")
    for _ in range(24):
        emu.clock.advance(timedelta(minutes=5))
        emu.process_until_now()
    orders = [
        call(emu, "GET", f"/accounts/{a}/orders", a, params={"includeTags": "true"}).text
        for a in (PDT, MARGIN)
    ]
    return [*emu.fill_log()], orders


def test_the_same_seed_orders_and_instants_give_the_same_fills(simulated_tradier: SimulatedTradier) -> None:
    first = _scenario(simulated_tradier(seed=21))
    again = _scenario(simulated_tradier(seed=21))
    other = _scenario(simulated_tradier(seed=22))
    assert len(first[0]) >= 3
    assert first == again
    assert first[0] != other[0]


def test_quotes_follow_the_path_on_valid_ticks_and_agree_with_the_chain(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=4)
    assert quote_of(emu, "SPX")["last"] == Decimal("6000.0")  # the anchor: 10:30 ET is the configured spot
    symbol = zero_dte(emu, 6000, "C")
    seen: set[tuple[Decimal, Decimal]] = set()
    for moment in steps_ahead(emu, TWO_HOURS)[::40]:
        emu.clock.set(moment)
        quote = quote_of(emu, symbol)
        touch = emu.market.touch(symbol, moment)
        assert (quote["bid"], quote["ask"]) == (touch.bid, touch.ask)
        assert is_on_tick(quote["ask"]) and (quote["bid"] == 0 or is_on_tick(quote["bid"]))
        assert quote["bid"] < quote["ask"]
        chain = call(
            emu,
            "GET",
            "/markets/options/chains",
            MARGIN,
            params={"symbol": "SPXW", "expiration": str(emu.today)},
        ).json(parse_float=Decimal)["options"]["option"]
        assert next(r for r in chain if r["symbol"] == symbol) == quote
        seen.add((quote["bid"], quote["ask"]))
    assert len(seen) > 3
    assert quote_of(emu, "SPX")["last"] != Decimal("6000.0")


def test_without_a_simulation_orders_rest_however_marketable(tradier_emulator_factory) -> None:
    emu = tradier_emulator_factory(EmulatorConfig(accounts=demo_accounts(), now=FixedClock(TEST_NOW).now()))
    symbol = zero_dte(emu, 6000, "C")
    before = quote_of(emu, symbol)
    order_id = place(emu, PDT, option_symbol=symbol, price="100.00")
    emu.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    assert emu.process_until_now() == []
    order = order_of(emu, PDT, order_id)
    assert (order["status"], order["exec_quantity"]) == ("open", 0)
    after = quote_of(emu, symbol)
    assert (after["bid"], after["ask"]) == (before["bid"], before["ask"])  # the market stands still
