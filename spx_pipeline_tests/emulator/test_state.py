"""Orders over real HTTP: validation, preview, placement, buying power, listing, modify, cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
import requests

from spx_pipeline.domain.tradier.order_requests import OptionLeg
from spx_pipeline.emulator import TradierEmulator
from spx_pipeline.emulator.config import demo_accounts
from spx_pipeline.emulator.state import AccountBook
from spx_pipeline.emulator.stored_order import iso_ms

MARGIN, CASH, PDT = "VA00000001", "VA00000002", "VA00000003"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def order_form(emu: TradierEmulator, **overrides: str) -> dict[str, str]:
    expiry = emu.market.spxw_dates[0]
    form = {
        "class": "option",
        "symbol": "SPX",
        "option_symbol": f"SPXW{expiry:%y%m%d}P05950000",
        "side": "buy_to_open",
        "quantity": "1",
        "type": "limit",
        "duration": "day",
        "price": "2.35",
        "tag": "bot-0dte-1",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


def post_order(
    session: requests.Session, emu: TradierEmulator, account: str, token: str, form: dict[str, str]
):
    return session.post(
        f"{emu.base_url}/accounts/{account}/orders", data=form, headers=auth(token), timeout=30
    )


def test_place_limit_buy_stores_an_open_order(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator)
    response = post_order(tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], form)
    assert response.status_code == 200
    order = response.json()["order"]
    assert order["status"] == "ok"
    assert isinstance(order["id"], int)
    assert order["partner_id"]
    stored = tradier_emulator.orders(MARGIN)
    assert len(stored) == 1
    assert stored[0]["id"] == order["id"]
    assert stored[0]["status"] == "open"
    assert stored[0]["option_symbol"] == form["option_symbol"]
    assert stored[0]["tag"] == "bot-0dte-1"
    assert stored[0]["price"] == Decimal("2.35")
    assert tradier_emulator.orders(CASH) == []


def test_preview_prices_but_places_nothing(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, quantity="2", preview="true")
    response = post_order(tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], form)
    assert response.status_code == 200
    preview = response.json(parse_float=Decimal)["order"]
    assert preview["status"] == "ok"
    assert preview["result"] is True
    assert preview["order_cost"] == Decimal("470.00")
    assert preview["commission"] == Decimal("0.70")
    assert preview["cost"] == Decimal("470.70")
    expected_keys = {
        "status", "result", "commission", "cost", "fees", "symbol", "quantity", "side", "type", "duration",
        "price", "order_cost", "margin_change", "option_requirement", "request_date", "extended_hours",
        "class", "strategy", "day_trades",
    }  # fmt: skip
    assert set(preview) == expected_keys
    assert preview["class"] == "option"
    assert preview["extended_hours"] is False
    assert tradier_emulator.orders(MARGIN) == []


def test_sell_to_open_preview_carries_a_margin_requirement(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, side="sell_to_open", preview="true")
    preview = post_order(tradier_session, tradier_emulator, PDT, demo_tokens[PDT], form).json(
        parse_float=Decimal
    )
    order = preview["order"]
    assert order["order_cost"] == Decimal("-235.00")
    # 15% of 6000 minus 50 OTM plus the 2.35 premium, per contract x100
    assert order["margin_change"] == Decimal("85235.00")
    assert order["option_requirement"] == order["margin_change"]


@pytest.mark.parametrize("preview", ["true", "false"])
def test_buy_over_buying_power_is_an_error_inside_http_200(
    tradier_emulator, tradier_session, demo_tokens, preview
):
    # cash account: 8125.75 available; 1 x 81.30 x 100 + 0.35 = 8130.35 is too much
    form = order_form(tradier_emulator, price="81.30", preview=preview)
    response = post_order(tradier_session, tradier_emulator, CASH, demo_tokens[CASH], form)
    assert response.status_code == 200
    assert response.json() == {"errors": {"error": "You do not have enough buying power for this trade."}}
    assert tradier_emulator.orders(CASH) == []
    affordable = post_order(
        tradier_session,
        tradier_emulator,
        CASH,
        demo_tokens[CASH],
        order_form(tradier_emulator, price="81.20"),
    )
    assert affordable.json()["order"]["status"] == "ok"


def test_open_buys_reserve_buying_power(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, price="50.00")  # 5000.35 of 8125.75
    assert post_order(tradier_session, tradier_emulator, CASH, demo_tokens[CASH], form).json()["order"]["id"]
    second = post_order(tradier_session, tradier_emulator, CASH, demo_tokens[CASH], form)
    assert second.json()["errors"]["error"].startswith("You do not have enough buying power")
    balances = tradier_session.get(
        f"{tradier_emulator.base_url}/accounts/{CASH}/balances", headers=auth(demo_tokens[CASH]), timeout=30
    ).json(parse_float=Decimal)["balances"]
    assert balances["pending_orders_count"] == 1
    assert balances["pending_cash"] == Decimal("5000.35")
    assert balances["cash"]["cash_available"] == Decimal("3125.40")


def test_market_order_is_priced_from_the_ask(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, type="market", price="", preview="true")
    preview = post_order(tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], form).json(
        parse_float=Decimal
    )["order"]
    quote = tradier_session.get(
        f"{tradier_emulator.base_url}/markets/quotes",
        params={"symbols": form["option_symbol"]},
        headers=auth(demo_tokens[MARGIN]),
        timeout=30,
    ).json(parse_float=Decimal)["quotes"]["quote"]
    assert preview["price"] == quote["ask"]
    assert preview["order_cost"] == quote["ask"] * 100


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"class": "multileg"}, "class"),
        ({"class": ""}, "class"),
        ({"option_symbol": "SPXW26X124P05950000"}, "option_symbol"),
        ({"option_symbol": ""}, "option_symbol"),
        ({"symbol": "SPY"}, "symbol"),
        ({"side": "buy"}, "side"),
        ({"quantity": "1.5"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"type": "credit"}, "type is invalid for class option"),
        ({"duration": "week"}, "duration"),
        ({"price": ""}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "-1"}, "price"),
        ({"type": "stop", "price": ""}, "stop"),
        ({"type": "stop_limit", "stop": ""}, "stop"),
        ({"tag": "bot_0dte"}, "tag"),
        ({"tag": "x" * 256}, "tag"),
        ({"preview": "maybe"}, "preview"),
    ],
)
def test_invalid_order_forms_are_400_naming_the_field(
    tradier_emulator, tradier_session, demo_tokens, overrides, fragment
):
    response = post_order(
        tradier_session,
        tradier_emulator,
        MARGIN,
        demo_tokens[MARGIN],
        order_form(tradier_emulator, **overrides),
    )
    assert response.status_code == 400
    assert fragment in response.json()["errors"]["error"]
    assert tradier_emulator.orders(MARGIN) == []


def test_json_bodies_are_rejected(tradier_emulator, tradier_session, demo_tokens):
    response = tradier_session.post(
        f"{tradier_emulator.base_url}/accounts/{MARGIN}/orders",
        json=order_form(tradier_emulator),
        headers=auth(demo_tokens[MARGIN]),
        timeout=30,
    )
    assert response.status_code == 400
    assert "form-encoded" in response.json()["errors"]["error"]
    assert tradier_emulator.orders(MARGIN) == []


def test_orders_listing_null_single_list_and_tags(tradier_emulator, tradier_session, demo_tokens):
    url = f"{tradier_emulator.base_url}/accounts/{PDT}/orders"
    headers = auth(demo_tokens[PDT])
    assert tradier_session.get(url, headers=headers, timeout=30).json() == {"orders": "null"}
    post_order(
        tradier_session, tradier_emulator, PDT, demo_tokens[PDT], order_form(tradier_emulator, tag="t-1")
    )
    single = tradier_session.get(url, headers=headers, timeout=30).json()["orders"]["order"]
    assert isinstance(single, dict)
    assert "tag" not in single
    post_order(
        tradier_session, tradier_emulator, PDT, demo_tokens[PDT], order_form(tradier_emulator, tag="t-2")
    )
    tagged = tradier_session.get(url, params={"includeTags": "true"}, headers=headers, timeout=30).json()
    assert [o["tag"] for o in tagged["orders"]["order"]] == ["t-1", "t-2"]
    past_end = tradier_session.get(url, params={"page": "2"}, headers=headers, timeout=30).json()
    assert past_end == {"orders": "null"}


def test_get_one_order_and_unknown_order(tradier_emulator, tradier_session, demo_tokens):
    placed = post_order(
        tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], order_form(tradier_emulator)
    )
    order_id = placed.json()["order"]["id"]
    url = f"{tradier_emulator.base_url}/accounts/{MARGIN}/orders/{order_id}"
    order = tradier_session.get(url, headers=auth(demo_tokens[MARGIN]), timeout=30).json()["order"]
    assert order["id"] == order_id
    assert order["class"] == "option"
    assert order["remaining_quantity"] == 1.0
    missing = tradier_session.get(
        f"{tradier_emulator.base_url}/accounts/{MARGIN}/orders/999",
        headers=auth(demo_tokens[MARGIN]),
        timeout=30,
    )
    assert missing.status_code == 404
    assert "999" in missing.json()["errors"]["error"]


def test_modify_changes_price_and_type_but_not_quantity(tradier_emulator, tradier_session, demo_tokens):
    placed = post_order(
        tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], order_form(tradier_emulator)
    )
    order_id = placed.json()["order"]["id"]
    url = f"{tradier_emulator.base_url}/accounts/{MARGIN}/orders/{order_id}"
    headers = auth(demo_tokens[MARGIN])
    ok = tradier_session.put(url, data={"price": "2.50"}, headers=headers, timeout=30)
    assert ok.status_code == 200
    assert ok.json()["order"] == {
        "id": order_id,
        "status": "ok",
        "partner_id": placed.json()["order"]["partner_id"],
    }
    assert tradier_emulator.orders(MARGIN)[0]["price"] == Decimal("2.50")
    to_stop = tradier_session.put(
        url, data={"type": "stop_limit", "stop": "2.40"}, headers=headers, timeout=30
    )
    assert to_stop.status_code == 200
    assert tradier_emulator.orders(MARGIN)[0]["type"] == "stop_limit"
    assert tradier_emulator.orders(MARGIN)[0]["stop_price"] == Decimal("2.40")
    qty = tradier_session.put(url, data={"quantity": "2"}, headers=headers, timeout=30)
    assert qty.status_code == 400
    assert "quantity" in qty.json()["errors"]["error"]
    nothing = tradier_session.put(url, data={}, headers=headers, timeout=30)
    assert nothing.status_code == 400
    bad_price = tradier_session.put(url, data={"type": "limit", "price": "x"}, headers=headers, timeout=30)
    assert bad_price.status_code == 400


def test_cancel_then_cancel_again_and_modify_after_cancel(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, price="50.00")
    placed = post_order(tradier_session, tradier_emulator, CASH, demo_tokens[CASH], form)
    order_id = placed.json()["order"]["id"]
    url = f"{tradier_emulator.base_url}/accounts/{CASH}/orders/{order_id}"
    headers = auth(demo_tokens[CASH])
    canceled = tradier_session.delete(url, headers=headers, timeout=30)
    assert canceled.json() == {"order": {"id": order_id, "status": "ok"}}
    assert tradier_emulator.orders(CASH)[0]["status"] == "canceled"
    again = tradier_session.delete(url, headers=headers, timeout=30)
    assert again.status_code == 200
    assert "canceled" in again.json()["errors"]["error"]
    modify = tradier_session.put(url, data={"price": "1.00"}, headers=headers, timeout=30)
    assert modify.status_code == 200
    assert "errors" in modify.json()
    # the canceled order no longer reserves buying power, so the same buy fits again
    assert (
        post_order(tradier_session, tradier_emulator, CASH, demo_tokens[CASH], form).json()["order"]["status"]
        == "ok"
    )


def test_order_endpoints_respect_account_ownership(tradier_emulator, tradier_session, demo_tokens):
    response = post_order(
        tradier_session, tradier_emulator, CASH, demo_tokens[MARGIN], order_form(tradier_emulator)
    )
    assert response.status_code == 401
    assert tradier_emulator.orders(CASH) == []


def test_market_order_on_an_unlisted_contract_is_400(tradier_emulator, tradier_session, demo_tokens):
    form = order_form(tradier_emulator, type="market", price="", option_symbol="SPXW261124P04000000")
    response = post_order(tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], form)
    assert response.status_code == 400
    assert "SPXW261124P04000000" in response.json()["errors"]["error"]


def test_modifying_a_buy_price_moves_its_reservation(tradier_emulator, tradier_session, demo_tokens):
    placed = post_order(
        tradier_session,
        tradier_emulator,
        CASH,
        demo_tokens[CASH],
        order_form(tradier_emulator, price="10.00"),
    )
    url = f"{tradier_emulator.base_url}/accounts/{CASH}/orders/{placed.json()['order']['id']}"
    tradier_session.put(url, data={"price": "20.00"}, headers=auth(demo_tokens[CASH]), timeout=30)
    balances = tradier_session.get(
        f"{tradier_emulator.base_url}/accounts/{CASH}/balances", headers=auth(demo_tokens[CASH]), timeout=30
    ).json(parse_float=Decimal)["balances"]
    assert balances["pending_cash"] == Decimal("2000.35")
    assert balances["cash"]["cash_available"] == Decimal("8125.75") - Decimal("2000.35")


def oco_form(emu: TradierEmulator, **overrides: str) -> dict[str, str]:
    symbol = f"SPXW{emu.market.spxw_dates[0]:%y%m%d}C06000000"
    form = {
        "class": "oco",
        "duration": "day",
        "symbol[0]": "SPX",
        "option_symbol[0]": symbol,
        "side[0]": "sell_to_close",
        "quantity[0]": "2",
        "type[0]": "limit",
        "price[0]": "3.50",
        "symbol[1]": "SPX",
        "option_symbol[1]": symbol,
        "side[1]": "sell_to_close",
        "quantity[1]": "2",
        "type[1]": "stop",
        "stop[1]": "1.20",
        "tag": "t1-oco",
        "preview": "true",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


def test_oco_preview_prices_the_pair_and_places_nothing(
    tradier_emulator: TradierEmulator, tradier_session: requests.Session, demo_tokens: dict[str, str]
) -> None:
    reply = post_order(
        tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], oco_form(tradier_emulator)
    )
    assert reply.status_code == 200, reply.text
    preview = reply.json()["order"]
    assert preview["class"] == "oco" and preview["status"] == "ok" and preview["quantity"] == 2
    assert Decimal(str(preview["commission"])) > 0
    assert tradier_emulator.orders(MARGIN) == []


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"type[1]": "limit", "price[1]": "2.00", "stop[1]": ""}, "differ in type"),
        ({"option_symbol[1]": "SPXW261218C06000000"}, "share option_symbol"),
        ({"stop[1]": ""}, "stop[1]"),
        ({"side[0]": "sell_short"}, "side[0]"),
    ],
)
def test_oco_rules_are_enforced_naming_the_leg_field(
    tradier_emulator: TradierEmulator,
    tradier_session: requests.Session,
    demo_tokens: dict[str, str],
    overrides: dict[str, str],
    named: str,
) -> None:
    form = oco_form(tradier_emulator, **overrides)
    reply = post_order(tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], form)
    assert reply.status_code == 400
    assert named in reply.text


def test_an_oco_is_placed_as_one_order_holding_its_two_legs(
    tradier_emulator: TradierEmulator, tradier_session: requests.Session, demo_tokens: dict[str, str]
) -> None:
    reply = post_order(
        tradier_session, tradier_emulator, MARGIN, demo_tokens[MARGIN], oco_form(tradier_emulator, preview="")
    )
    placed = reply.json()["order"]
    assert placed["status"] == "ok"
    (parent,) = tradier_emulator.orders(MARGIN)
    assert parent["id"] == placed["id"] and parent["class"] == "oco" and parent["tag"] == "t1-oco"
    assert [leg["type"] for leg in parent["leg"]] == ["limit", "stop"]
    assert [leg["id"] for leg in parent["leg"]] == [placed["id"] + 1, placed["id"] + 2]
    assert {leg["status"] for leg in parent["leg"]} == {parent["status"]} == {"open"}
    url = f"{tradier_emulator.base_url}/accounts/{MARGIN}/orders/{placed['id']}"
    canceled = tradier_session.delete(url, headers=auth(demo_tokens[MARGIN]), timeout=30)
    assert canceled.json() == {"order": {"id": placed["id"], "status": "ok"}}
    (parent,) = tradier_emulator.orders(MARGIN)
    assert [leg["status"] for leg in parent["leg"]] == ["canceled", "canceled"]
    assert parent["status"] == "canceled"


def _book() -> AccountBook:
    return AccountBook(demo_accounts(), first_order_id=500)


def test_a_stored_order_is_its_leg_under_the_books_id() -> None:
    """Contract, side, quantity, type and both prices from the leg; id, tag and stamps from the book."""
    leg = OptionLeg.build("SPXW261204P05950000", "sell_to_close", 2, "stop_limit", price="1.10", stop="1.20")
    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    order = _book().place(
        MARGIN, [leg], duration="gtc", tag="t-1", reservations=[Decimal(0)], now=now, order_class="option"
    )
    assert order is not None
    assert (order.id, order.partner_id) == (500, str(UUID(int=500)))
    assert (order.account_id, order.tag, order.reserved) == (MARGIN, "t-1", Decimal(0))
    assert (order.symbol, order.option_symbol, order.side, order.quantity, order.type) == (
        "SPX", "SPXW261204P05950000", "sell_to_close", 2, "stop_limit",
    )  # fmt: skip
    assert (order.price, order.stop, order.duration, order.order_class) == (
        Decimal("1.10"), Decimal("1.20"), "gtc", "option",
    )  # fmt: skip
    assert order.create_date == iso_ms(now)


def test_an_oco_parent_is_its_first_legs_contract_with_the_legs_prices() -> None:
    """The parent takes the first id, no price of its own and the larger quantity; its legs keep theirs."""
    target = OptionLeg.build("SPXW261204P05950000", "sell_to_close", 2, "limit", price="3.50")
    stop = OptionLeg.build("SPXW261204P05950000", "sell_to_close", 3, "stop", stop="1.20")
    parent = _book().place(
        MARGIN, [target, stop], duration="day", tag="t-2", reservations=[Decimal(0), Decimal(0)],
        now=datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
    )  # fmt: skip
    assert parent is not None
    assert (parent.id, parent.type, parent.order_class, parent.quantity) == (500, "oco", "oco", 3)
    assert (parent.price, parent.stop, parent.tag, parent.reserved) == (None, None, "t-2", Decimal(0))
    assert (parent.option_symbol, parent.side) == ("SPXW261204P05950000", "sell_to_close")
    assert [(o.id, o.type, o.quantity, o.price, o.stop, o.tag) for o in parent.legs] == [
        (501, "limit", 2, Decimal("3.50"), None, None),
        (502, "stop", 3, None, Decimal("1.20"), None),
    ]
