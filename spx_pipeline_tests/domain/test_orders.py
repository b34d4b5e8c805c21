"""Tradier order payloads: every refusal names the field and the value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from spx_pipeline.domain.orders import (
    OrderPayloadError,
    build_ticket_legs,
    entry_order,
    option_order,
    order_changes,
    payload_summary,
    runner_stop_order,
    t1_order,
    t1_quantity_for,
)
from spx_pipeline.domain.ticks import round_to_tick

D = Decimal
SYM = "SPXW261124C06000000"


def test_entry_order_payload_exact() -> None:
    payload = entry_order(SYM, 3, D("1.15"), tag="bot-0dte-1")
    assert payload == {
        "class": "option",
        "symbol": "SPX",
        "option_symbol": SYM,
        "side": "buy_to_open",
        "quantity": "3",
        "type": "limit",
        "duration": "day",
        "price": "1.15",
        "tag": "bot-0dte-1",
    }
    assert list(payload) == [
        "class",
        "symbol",
        "option_symbol",
        "side",
        "quantity",
        "type",
        "duration",
        "price",
        "tag",
    ]


@pytest.mark.parametrize("spelling", ["SPXW  261124C06000000", "O:SPXW261124C06000000", SYM])
def test_any_symbol_spelling_becomes_tradier_form(spelling: str) -> None:
    payload = entry_order(spelling, 1, "3.1")
    assert payload["option_symbol"] == SYM
    assert payload["symbol"] == "SPX"
    assert payload["price"] == "3.10"


def test_preview_only_when_requested() -> None:
    assert "preview" not in entry_order(SYM, 1, "1.15")
    assert entry_order(SYM, 1, "1.15", preview=True)["preview"] == "true"
    with pytest.raises(OrderPayloadError, match="preview"):
        entry_order(SYM, 1, "1.15", preview="yes")  # type: ignore[arg-type]


def test_non_spx_underlying_from_root() -> None:
    assert entry_order("SPY   261124P00650000", 1, "0.50")["symbol"] == "SPY"


@pytest.mark.parametrize("qty", [0, -1, 1.5, "2", True, None, D("2.5")])
def test_bad_quantity_refused(qty: object) -> None:
    with pytest.raises(OrderPayloadError, match="quantity") as info:
        entry_order(SYM, qty, "1.15")  # type: ignore[arg-type]
    assert repr(qty) in str(info.value)


def test_integral_numbers_accepted_as_quantity() -> None:
    assert entry_order(SYM, np.int64(4), "1.15")["quantity"] == "4"
    assert entry_order(SYM, 2.0, "1.15")["quantity"] == "2"  # type: ignore[arg-type]


@pytest.mark.parametrize("price", ["0", "-1.15", "1.13", "3.05", "nan", "abc", None, True])
def test_bad_price_refused(price: object) -> None:
    with pytest.raises(OrderPayloadError, match="price") as info:
        entry_order(SYM, 1, price)
    assert repr(price) in str(info.value)


@pytest.mark.parametrize("price", ["1E+30", "100000", D("1E+999999"), 1e30])
def test_absurd_price_is_an_order_payload_error_not_an_arithmetic_crash(price: object) -> None:
    with pytest.raises(OrderPayloadError, match=r"^price=.*below 100000") as info:
        entry_order(SYM, 1, price)
    assert repr(price) in str(info.value)
    with pytest.raises(OrderPayloadError, match=r"^stop="):
        runner_stop_order(SYM, 1, price)


def test_float_price_read_through_str() -> None:
    assert entry_order(SYM, 1, 1.15)["price"] == "1.15"


@pytest.mark.parametrize("tag", ["", "has_underscore", "space here", "x" * 256, 12])
def test_bad_tag_refused(tag: object) -> None:
    with pytest.raises(OrderPayloadError, match="tag"):
        entry_order(SYM, 1, "1.15", tag=tag)  # type: ignore[arg-type]


def test_max_length_tag_accepted() -> None:
    assert entry_order(SYM, 1, "1.15", tag="a" * 255)["tag"] == "a" * 255


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("side", {"side": "buy"}),
        ("type", {"order_type": "credit"}),
        ("duration", {"duration": "ioc"}),
    ],
)
def test_unknown_enums_refused(field: str, kwargs: dict[str, str]) -> None:
    args = {"side": "buy_to_open", "order_type": "limit", "duration": "day"} | kwargs
    with pytest.raises(OrderPayloadError, match=rf"^{field}="):
        option_order(SYM, args["side"], 1, args["order_type"], duration=args["duration"], price="1.15")


def test_price_and_stop_must_match_type() -> None:
    with pytest.raises(OrderPayloadError, match=r"price.*required"):
        option_order(SYM, "buy_to_open", 1, "limit")
    with pytest.raises(OrderPayloadError, match=r"price.*does not apply"):
        option_order(SYM, "buy_to_open", 1, "market", price="1.15")
    with pytest.raises(OrderPayloadError, match=r"stop.*required"):
        option_order(SYM, "sell_to_close", 1, "stop")
    with pytest.raises(OrderPayloadError, match=r"stop.*does not apply"):
        option_order(SYM, "sell_to_close", 1, "limit", price="1.15", stop="1.00")
    assert "price" not in option_order(SYM, "sell_to_close", 1, "market")


def test_bad_option_symbol_refused() -> None:
    with pytest.raises(OrderPayloadError, match="option_symbol"):
        entry_order("SPXW261124X06000000", 1, "1.15")
    with pytest.raises(OrderPayloadError, match="option_symbol"):
        entry_order(None, 1, "1.15")  # type: ignore[arg-type]


def test_t1_without_a_stop_is_a_plain_limit() -> None:
    payload = t1_order(SYM, 4, 2, "1.70", tag="t1")
    assert payload["side"] == "sell_to_close"
    assert payload["type"] == "limit"
    assert payload["quantity"] == "2"
    assert payload["price"] == "1.70"


@pytest.mark.parametrize(
    ("position", "t1", "field"),
    [(1, 1, "position_quantity"), (3, 3, "t1_quantity"), (3, 4, "t1_quantity"), (3, 0, "t1_quantity")],
)
def test_t1_refusals(position: int, t1: int, field: str) -> None:
    with pytest.raises(OrderPayloadError, match=rf"^{field}="):
        t1_order(SYM, position, t1, "1.70")


def test_runner_stop_and_stop_limit() -> None:
    stop = runner_stop_order(SYM, 2, "0.60")
    assert (stop["side"], stop["type"], stop["stop"]) == ("sell_to_close", "stop", "0.60")
    assert "price" not in stop
    stop_limit = runner_stop_order(SYM, 2, "0.60", limit_price="0.50")
    assert (stop_limit["type"], stop_limit["stop"], stop_limit["price"]) == ("stop_limit", "0.60", "0.50")
    assert runner_stop_order(SYM, 2, "3.10", limit_price="3.10")["price"] == "3.10"


def test_sell_stop_limit_with_limit_above_stop_refused() -> None:
    with pytest.raises(OrderPayloadError, match=r"price='0.65'.*above its stop 0.60"):
        runner_stop_order(SYM, 2, "0.60", limit_price="0.65")


def test_buy_stop_limit_may_have_limit_above_stop() -> None:
    payload = option_order(SYM, "buy_to_close", 1, "stop_limit", price="1.20", stop="1.10")
    assert payload["price"] == "1.20"


def test_off_tick_stop_refused() -> None:
    with pytest.raises(OrderPayloadError, match=r"stop='3.05'"):
        runner_stop_order(SYM, 1, "3.05")


@pytest.mark.parametrize(
    ("position", "fraction", "expected"),
    [(2, "0.5", 1), (3, "0.5", 1), (4, "0.5", 2), (5, "0.66", 3), (2, "0.1", 1), (4, "1", 3)],
)
def test_t1_quantity_for(position: int, fraction: str, expected: int) -> None:
    assert t1_quantity_for(position, D(fraction)) == expected


@dataclass(frozen=True)
class _Setup:
    """Only the attributes build_ticket_legs reads (the real Setup is tested in test_contracts)."""

    stop_premium: Decimal | None = None
    t1_gain_pct: Decimal = Decimal("0.5")
    t1_fraction: Decimal = Decimal("0.5")
    runner_stop_limit_offset: Decimal | None = None


def _rec(contracts: int, limit: str = "1.15") -> dict[str, object]:
    return {"symbol": SYM, "suggested_contracts": contracts, "limit_price": D(limit)}


def test_build_ticket_legs_scales_and_stops() -> None:
    legs = build_ticket_legs(_rec(5), _Setup(stop_premium=D("0.62")), tag="rec-abc")
    assert list(legs) == ["entry", "t1", "runner_stop"]
    assert (legs["entry"]["quantity"], legs["entry"]["price"], legs["entry"]["tag"]) == (
        "5",
        "1.15",
        "rec-abc-entry",
    )
    # 1.15 * 1.5 = 1.725 -> rounded down to 1.70; floor(5 * 0.5) = 2. With a stop_premium the T1
    # slice is an OCO: target limit or protective stop, whichever comes first.
    assert legs["t1"] == {
        "class": "oco",
        "duration": "day",
        "symbol[0]": "SPX",
        "quantity[0]": "2",
        "type[0]": "limit",
        "option_symbol[0]": SYM,
        "side[0]": "sell_to_close",
        "price[0]": "1.70",
        "symbol[1]": "SPX",
        "quantity[1]": "2",
        "type[1]": "stop",
        "option_symbol[1]": SYM,
        "side[1]": "sell_to_close",
        "stop[1]": "0.65",
        "tag": "rec-abc-t1",
    }
    # A sell stop rounds UP: 0.62 -> 0.65 triggers earlier, so the loss stays within what sizing
    # assumed at 0.62 (0.60 would lose more). Runner = 3.
    assert (legs["runner_stop"]["quantity"], legs["runner_stop"]["type"], legs["runner_stop"]["stop"]) == (
        "3",
        "stop",
        "0.65",
    )
    assert legs["runner_stop"]["tag"] == "rec-abc-stop"


def test_build_ticket_legs_breakeven_and_stop_limit() -> None:
    legs = build_ticket_legs(_rec(2, "2.40"), _Setup(runner_stop_limit_offset=D("0.20"), t1_gain_pct=D("1")))
    assert legs["t1"]["price"] == "4.80"
    assert legs["runner_stop"]["type"] == "stop_limit"
    assert legs["runner_stop"]["stop"] == "2.40"  # breakeven
    assert legs["runner_stop"]["price"] == "2.20"
    assert "tag" not in legs["entry"]


def test_build_ticket_legs_single_contract_has_no_t1() -> None:
    legs = build_ticket_legs(_rec(1), _Setup(stop_premium=D("0.60")))
    assert list(legs) == ["entry", "runner_stop"]
    assert legs["runner_stop"]["quantity"] == "1"


def test_build_ticket_legs_refusals() -> None:
    with pytest.raises(OrderPayloadError, match="suggested_contracts=0"):
        build_ticket_legs(_rec(0), _Setup())
    with pytest.raises(OrderPayloadError, match="symbol"):
        build_ticket_legs({"symbol": None, "suggested_contracts": 1, "limit_price": D("1.15")}, _Setup())
    with pytest.raises(OrderPayloadError, match="stop_premium"):
        build_ticket_legs(_rec(2), _Setup(stop_premium=D("1.15")))
    with pytest.raises(OrderPayloadError, match="runner_stop_limit_price"):
        build_ticket_legs(_rec(2), _Setup(stop_premium=D("0.60"), runner_stop_limit_offset=D("0.60")))
    with pytest.raises(OrderPayloadError, match="limit_price"):
        build_ticket_legs({"symbol": SYM, "suggested_contracts": 1}, _Setup())


@pytest.mark.parametrize(
    ("stop_premium", "entry", "expected"),
    [
        ("0.62", "1.15", "0.65"),
        ("0.60", "1.15", "0.60"),
        ("0.02", "1.15", "0.05"),
        ("2.97", "4.20", "3.00"),
        ("3.01", "4.20", "3.10"),
        ("1.101", "1.25", "1.15"),
    ],
)
def test_protective_stop_rounds_up_to_the_tick(stop_premium: str, entry: str, expected: str) -> None:
    legs = build_ticket_legs(_rec(1, entry), _Setup(stop_premium=D(stop_premium)))
    assert legs["runner_stop"]["stop"] == expected
    assert D(expected) >= D(stop_premium)


@pytest.mark.parametrize(
    ("stop_premium", "entry"), [("1.12", "1.15"), ("1.15", "1.15"), ("3.01", "3.10"), ("2", "1.15")]
)
def test_stop_rounding_up_to_the_entry_is_refused(stop_premium: str, entry: str) -> None:
    with pytest.raises(
        OrderPayloadError, match=rf"^stop_premium=Decimal\('{stop_premium}'\).*below the entry"
    ):
        build_ticket_legs(_rec(2, entry), _Setup(stop_premium=D(stop_premium)))


@pytest.mark.parametrize(
    ("entry", "gain", "expected"),
    [("0.10", "0.4", "0.15"), ("2.95", "0.01", "3.00"), ("3.00", "0.02", "3.10"), ("1.15", "0.5", "1.70")],
)
def test_t1_limit_is_always_above_the_entry(entry: str, gain: str, expected: str) -> None:
    legs = build_ticket_legs(_rec(2, entry), _Setup(t1_gain_pct=D(gain)))
    assert legs["t1"]["price"] == expected
    assert D(legs["t1"]["price"]) > D(entry)


def test_single_contract_without_stop_premium_has_no_breakeven_stop() -> None:
    """A breakeven stop at the entry would trigger at once; with no T1 it has nothing to wait for."""
    legs = build_ticket_legs(_rec(1), _Setup())
    assert list(legs) == ["entry"]


def test_breakeven_runner_stop_kept_for_two_or_more_contracts() -> None:
    legs = build_ticket_legs(_rec(3), _Setup())
    assert legs["runner_stop"]["stop"] == "1.15"
    assert legs["runner_stop"]["quantity"] == "2"
    assert "after the T1 fill" in (build_ticket_legs.__doc__ or "")


# --- T1 as an OCO -------------------------------------------------------------------------------


def test_t1_oco_order_payload_preview_and_spelling() -> None:
    payload = t1_order("SPXW  261124C06000000", 4, 2, "1.70", D("0.60"), duration="gtc", preview=True)
    assert payload["class"] == "oco"
    assert payload["duration"] == "gtc"
    assert (payload["type[0]"], payload["price[0]"], payload["type[1]"], payload["stop[1]"]) == (
        "limit",
        "1.70",
        "stop",
        "0.60",
    )
    assert payload["option_symbol[0]"] == payload["option_symbol[1]"] == SYM
    assert payload["preview"] == "true"
    assert "tag" not in payload
    assert not {"price[1]", "stop[0]", "side", "type", "quantity"} & set(payload)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((1, 1, "1.70", "0.60"), "position_quantity"),
        ((3, 3, "1.70", "0.60"), "t1_quantity"),
        ((3, 1, "1.73", "0.60"), "price"),
        ((3, 1, "1.70", "0.62"), "stop"),
        ((3, 1, "1.70", "1.70"), "stop"),
        ((3, 1, "1.70", "1.80"), "stop"),
        ((3, 1, "1.70", "1E+30"), "stop"),
    ],
)
def test_t1_oco_refusals_name_the_field(args: tuple[int, int, str, str], field: str) -> None:
    position, t1, limit, stop = args
    with pytest.raises(OrderPayloadError, match=rf"^{field}=") as info:
        t1_order(SYM, position, t1, limit, stop)
    assert repr(info.value.value) in str(info.value)
    with pytest.raises(OrderPayloadError, match=r"^preview="):
        t1_order(SYM, 3, 1, "1.70", "0.60", preview="yes")  # type: ignore[arg-type]
    with pytest.raises(OrderPayloadError, match=r"^tag="):
        t1_order(SYM, 3, 1, "1.70", "0.60", tag="bad_tag")


def test_without_stop_premium_t1_stays_a_plain_limit() -> None:
    legs = build_ticket_legs(_rec(4), _Setup())
    assert (legs["t1"]["class"], legs["t1"]["type"], legs["t1"]["price"]) == ("option", "limit", "1.70")


def test_payload_summary_reads_single_leg_and_oco() -> None:
    legs = build_ticket_legs(_rec(5), _Setup(stop_premium=D("0.62")), tag="x")
    oco = payload_summary(legs["t1"])
    assert oco == {
        "side": "sell_to_close",
        "order_type": "oco",
        "option_symbol": SYM,
        "symbol": "SPX",
        "quantity": "2",
        "price": "1.70",
        "stop": "0.65",
        "duration": "day",
        "tag": "x-t1",
    }
    stop = payload_summary(legs["runner_stop"])
    assert (stop["order_type"], stop["price"], stop["stop"], stop["quantity"]) == ("stop", None, "0.65", "3")


def _protected_exits(legs: dict[str, dict[str, str]], entry: Decimal, has_stop: bool) -> list[Decimal]:
    """Worst-case exit per contract: its protective stop trigger, or 0 when nothing protects it.

    A breakeven runner stop (no stop_premium) goes out only after T1 fills, so it does not count.
    """
    position = int(legs["entry"]["quantity"])
    exits: list[Decimal] = []
    for leg in legs.values():
        summary = payload_summary(leg)
        if summary["side"] != "sell_to_close" or summary["stop"] is None or not has_stop:
            continue
        exits += [D(summary["stop"])] * int(summary["quantity"])
    assert len(exits) <= position
    assert all(e < entry for e in exits)
    return exits + [D(0)] * (position - len(exits))


@pytest.mark.parametrize("fee", [D("0"), D("0.65")])
@pytest.mark.parametrize("stop_premium", [None, "0.05", "0.33", "0.60", "0.62", "1.01", "2.97"])
def test_worst_case_loss_of_the_legs_never_exceeds_the_sized_budget(
    fee: Decimal, stop_premium: str | None
) -> None:
    from spx_pipeline.domain.risk_context import RiskContext
    from spx_pipeline.domain.sizing import size_position

    checked = 0
    for budget in ("100", "500", "740", "2500"):
        for entry_text in ("0.10", "0.65", "1.15", "2.95", "3.10", "4.20"):
            entry = D(entry_text)
            stop = None if stop_premium is None else D(stop_premium)
            if stop is not None and (stop >= entry or round_to_tick(stop, "buy") >= entry):
                continue
            sized = size_position(
                RiskContext(max_risk_dollars=budget), entry, stop_premium=stop, fee_per_contract=fee
            )
            if sized.contracts == 0:
                continue
            for fraction in ("0.1", "0.5", "0.66", "1"):
                for gain in ("0.25", "1"):
                    setup = _Setup(stop_premium=stop, t1_fraction=D(fraction), t1_gain_pct=D(gain))
                    legs = build_ticket_legs(_rec(sized.contracts, entry_text), setup)
                    exits = _protected_exits(legs, entry, stop is not None)
                    loss = sum(((entry - e) * 100 for e in exits), D(0))
                    # Sizing counts the fee inside the per-contract risk, so the stop losses
                    # plus one fee per contract must fit the budget itself.
                    assert loss + fee * sized.contracts <= D(budget), (budget, entry, stop, fraction, legs)
                    checked += 1
    assert checked > 0


def test_order_changes_write_ticks_fixed_point_and_keep_type_and_prices_consistent() -> None:
    assert order_changes(price=D("1.2")) == {"price": "1.20"}
    assert order_changes(order_type="stop", stop="3.10", duration="gtc") == {
        "type": "stop",
        "duration": "gtc",
        "stop": "3.10",
    }
    assert order_changes(price=1.7000000000000002) == {"price": "1.70"}
    with pytest.raises(OrderPayloadError, match="off the SPX tick grid"):
        order_changes(price="1.17")
    with pytest.raises(OrderPayloadError, match="market order"):
        order_changes(order_type="market")
    with pytest.raises(OrderPayloadError, match="is required when changing to a stop_limit"):
        order_changes(order_type="stop_limit", price="1.10")
