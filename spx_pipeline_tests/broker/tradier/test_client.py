"""Every endpoint over real loopback HTTP against the emulator, plus host selection rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import (
    LIVE_BASE_URL,
    SANDBOX_BASE_URL,
    LiveTradingNotAllowedError,
    OrderPreview,
    OrderResult,
    RateLimiterRegistry,
    RetryPolicy,
    TradierAuthError,
    TradierBadRequestError,
    TradierClient,
    TradierNotFoundError,
    TradierOrderRejectedError,
    resolve_base_url,
)
from spx_pipeline.broker.tradier.transport import DEFAULT_TIMEOUT
from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.emulator import EmulatorConfig, TradierEmulator, make_accounts

MARGIN, CASH, PDT = "VA00000001", "VA00000002", "VA00000003"
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05, max_total_sleep=1.0)


def client_for(emu: TradierEmulator, token: str) -> TradierClient:
    return TradierClient(
        token, base_url=emu.base_url, retry=FAST_RETRY, registry=RateLimiterRegistry(), timeout=(2.0, 5.0)
    )


@pytest.fixture
def clients(tradier_emulator: TradierEmulator, demo_tokens: dict[str, str]) -> dict[str, TradierClient]:
    made = {account: client_for(tradier_emulator, token) for account, token in demo_tokens.items()}
    yield made
    for client in made.values():
        client.close()


def option_payload(
    client: TradierClient, *, side: str = "buy_to_open", quantity: str = "1", tag: str | None = None
) -> dict[str, str]:
    expiration = client.get_option_expirations("SPX")[0]
    rows = client.get_option_chain("SPX", expiration, greeks=False)
    call = next(r for r in rows if r["option_type"] == "call")
    payload = {
        "class": "option",
        "symbol": "SPX",
        "option_symbol": call["symbol"],
        "side": side,
        "quantity": quantity,
        "type": "limit",
        "duration": "day",
        "price": "0.50",
    }
    if tag is not None:
        payload["tag"] = tag
    return payload


# -- host selection ---------------------------------------------------------------------------


def test_defaults_to_sandbox_and_refuses_live_without_opt_in() -> None:
    assert TradierClient("t", environ={}).base_url == SANDBOX_BASE_URL
    with pytest.raises(LiveTradingNotAllowedError, match=r"api\.tradier\.com"):
        TradierClient("t", base_url=LIVE_BASE_URL, environ={})
    with pytest.raises(LiveTradingNotAllowedError):
        TradierClient("t", environ={"TRADIER_BASE_URL": LIVE_BASE_URL, "TRADIER_ALLOW_LIVE": "false"})
    assert TradierClient("t", base_url=LIVE_BASE_URL, allow_live=True, environ={}).base_url == LIVE_BASE_URL
    assert (
        TradierClient("t", base_url=LIVE_BASE_URL, environ={"TRADIER_ALLOW_LIVE": "true"}).base_url
        == LIVE_BASE_URL
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "https://api.tradier.com./v1",  # the trailing root dot resolves to the same host
        "https://API.Tradier.COM/v1",
        "https://api.tradier.com:443/v1",
        "https://api.tradier.com..:443/v1/",
        "https://ａｐｉ.tradier.com/v1",  # fullwidth letters: IDNA maps them to api
        "https://api。tradier。com/v1",  # ideographic full stops separate labels too
    ],
)
def test_every_spelling_of_the_live_host_needs_the_opt_in(spelling: str) -> None:
    with pytest.raises(LiveTradingNotAllowedError, match=r"production host api\.tradier\.com "):
        TradierClient("t", environ={"TRADIER_BASE_URL": spelling})
    with pytest.raises(LiveTradingNotAllowedError):
        resolve_base_url(spelling, environ={"TRADIER_ALLOW_LIVE": "no"})
    allowed = resolve_base_url(spelling, allow_live=True, environ={})
    assert allowed.startswith(("https://api.tradier.com/v1", "https://api.tradier.com:443/v1"))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://evil.example/v1", "not allowed"),
        ("https://api.tradier.com.evil.example/v1", "not allowed"),
        ("https://sandbox.tradier.com@evil.example/v1", "user name or password"),
        ("https://user:hunter2@sandbox.tradier.com/v1", "user name or password"),
        ("http://sandbox.tradier.com/v1", "https"),
        ("https://sandbox.tradier.com/v1?access_token=hunter2", "query"),
        ("https://sandbox.tradier.com:99999/v1", "port"),
        ("http://10.0.0.5:8787/v1", "not allowed"),
    ],
)
def test_hosts_outside_the_allow_list_are_refused_before_any_request(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        TradierClient("t", base_url=url, allow_live=True, environ={})
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("https://SANDBOX.tradier.com./v1", "https://sandbox.tradier.com/v1"),
        ("http://127.0.0.1:8787/v1", "http://127.0.0.1:8787/v1"),
        ("http://localhost:8787/v1/", "http://localhost:8787/v1"),
        ("http://[::1]:8787/v1", "http://[::1]:8787/v1"),
        ("http://[::ffff:127.0.0.1]:8787/v1", "http://127.0.0.1:8787/v1"),
    ],
)
def test_sandbox_and_loopback_are_allowed_and_normalized(url: str, resolved: str) -> None:
    assert resolve_base_url(url, environ={}) == resolved


def test_env_base_url_and_explicit_argument_wins() -> None:
    env = {"TRADIER_BASE_URL": "http://127.0.0.1:9/v1"}
    assert TradierClient("t", environ=env).base_url == "http://127.0.0.1:9/v1"
    assert (
        TradierClient("t", base_url="http://127.0.0.1:8/v1/", environ=env).base_url == "http://127.0.0.1:8/v1"
    )
    assert TradierClient.from_env("t", environ=env).base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(LiveTradingNotAllowedError):
        TradierClient.from_env("t", environ={"TRADIER_BASE_URL": LIVE_BASE_URL})
    with pytest.raises(ValueError, match="ftp://x"):
        TradierClient("t", base_url="ftp://x", environ={})


def test_str_token_is_wrapped_and_not_stored_in_clear() -> None:
    client = TradierClient("plain-token-value-123", environ={})
    assert isinstance(client.token, SecretToken)
    assert "plain-token-value-123" not in repr(client)
    assert "plain-token-value-123" not in repr(vars(client.transport))
    assert "plain-token-value-123" not in repr(client.transport.session.headers)


# -- accounts ---------------------------------------------------------------------------------


def test_profile_single_account(clients: dict[str, TradierClient]) -> None:
    profile = clients[MARGIN].get_profile()
    assert [a.account_number for a in profile.accounts] == [MARGIN]
    assert profile.accounts[0].type == "margin"


def test_balances_for_each_account_type(clients: dict[str, TradierClient]) -> None:
    margin = clients[MARGIN].get_balances(MARGIN)
    assert margin.account_type == "margin"
    assert margin.effective_option_buying_power == Decimal("17798.36")
    cash = clients[CASH].get_balances(CASH)
    assert cash.account_type == "cash"
    assert cash.option_buying_power is None
    assert cash.effective_option_buying_power == Decimal("8125.75")
    pdt = clients[PDT].get_balances(PDT)
    assert pdt.pdt_qualified and pdt.day_trade_buying_power == Decimal("383281.60")
    assert pdt.effective_option_buying_power == Decimal("95820.40")
    assert pdt.raw["account_type"] == "pdt"


def test_user_balances_single_and_many(
    clients: dict[str, TradierClient], tradier_emulator_factory: Callable[[EmulatorConfig], TradierEmulator]
) -> None:
    single = clients[CASH].get_user_balances()
    assert [b.account_number for b in single] == [CASH]
    accounts = make_accounts(4, shared_token="shared-token-xyz")
    emu = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    with client_for(emu, "shared-token-xyz") as client:
        many = client.get_user_balances()
    assert [b.account_number for b in many] == [a.account_id for a in accounts]
    assert [b.account_type for b in many] == ["margin", "cash", "pdt", "margin"]
    assert emu.request_count("/user/balances") == 1


def test_positions_many_and_none(clients: dict[str, TradierClient]) -> None:
    positions = clients[MARGIN].get_positions(MARGIN)
    assert {p.symbol for p in positions} == {"SPY", "SPXW261218C06200000"}
    assert next(p for p in positions if p.symbol == "SPY").quantity == Decimal(30)
    assert clients[CASH].get_positions(CASH) == []
    single = clients[PDT].get_positions(PDT)
    assert [p.symbol for p in single] == ["SPXW261218P05800000"]


def test_unknown_token_is_auth_error_without_retry(tradier_emulator: TradierEmulator) -> None:
    with client_for(tradier_emulator, "no-such-token") as client, pytest.raises(TradierAuthError) as info:
        client.get_balances(MARGIN)
    assert info.value.status == 401
    assert tradier_emulator.request_count("/accounts") == 1


def test_other_accounts_are_refused(clients: dict[str, TradierClient]) -> None:
    with pytest.raises(TradierAuthError, match="VA00000002"):
        clients[MARGIN].get_balances(CASH)


# -- orders -----------------------------------------------------------------------------------


def test_order_lifecycle_place_list_get_modify_cancel(
    clients: dict[str, TradierClient], tradier_emulator: TradierEmulator
) -> None:
    client = clients[PDT]
    assert client.list_orders(PDT) == []
    placed = client.place_order(PDT, option_payload(client, tag="spx-entry-1"))
    assert isinstance(placed, OrderResult) and placed.status == "ok" and placed.id is not None
    orders = client.list_orders(PDT)
    assert [o.id for o in orders] == [placed.id]
    assert orders[0].tag == "spx-entry-1" and orders[0].order_class == "option"
    assert client.get_order(PDT, placed.id).quantity == Decimal(1)
    assert [o.id for o in client.find_orders_by_tag(PDT, "spx-entry-1")] == [placed.id]
    assert client.find_orders_by_tag(PDT, "other-tag") == []
    modified = client.modify_order(PDT, placed.id, price=Decimal("0.55"))
    assert modified.status == "ok"
    put = [r for r in tradier_emulator.request_log() if r.method == "PUT"]
    assert len(put) == 1
    assert client.get_order(PDT, placed.id).price == Decimal("0.55")
    canceled = client.cancel_order(PDT, placed.id)
    assert canceled.status == "ok"
    assert client.get_order(PDT, placed.id).status == "canceled"
    with pytest.raises(TradierOrderRejectedError, match="cannot be canceled"):
        client.cancel_order(PDT, placed.id)


def test_preview_places_nothing(clients: dict[str, TradierClient], tradier_emulator: TradierEmulator) -> None:
    client = clients[MARGIN]
    preview = client.preview_order(MARGIN, option_payload(client))
    assert isinstance(preview, OrderPreview)
    assert preview.result is True and preview.cost is not None and preview.cost > 0
    assert tradier_emulator.orders(MARGIN) == []


def test_not_enough_buying_power_is_rejected_in_200(clients: dict[str, TradierClient]) -> None:
    client = clients[CASH]
    with pytest.raises(TradierOrderRejectedError, match="buying power") as info:
        client.place_order(CASH, option_payload(client, quantity="500"))
    assert info.value.status == 200
    assert info.value.errors == ("You do not have enough buying power for this trade.",)


def test_bad_order_is_400_with_tradier_message(
    clients: dict[str, TradierClient], tradier_emulator: TradierEmulator
) -> None:
    client = clients[MARGIN]
    valid = option_payload(client)
    unlisted = valid["option_symbol"][:-9] + "P04000000"  # a well-formed contract nobody quotes
    payload = {key: value for key, value in valid.items() if key != "price"}
    payload.update(type="market", option_symbol=unlisted)
    tradier_emulator.reset_log()
    with pytest.raises(TradierBadRequestError, match="has no market"):
        client.place_order(MARGIN, payload)
    assert tradier_emulator.request_count("/accounts", method="POST") == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"side": "buy"}, "side"),
        ({"price": "0.53"}, "price"),
        ({"quantity": "1.5"}, "quantity"),
        ({"class": "multileg"}, "class"),
        ({"type": "stop"}, "price"),
        ({"duration": "week"}, "duration"),
    ],
)
def test_the_client_refuses_what_the_order_rules_refuse_and_sends_nothing(
    clients: dict[str, TradierClient],
    tradier_emulator: TradierEmulator,
    changes: dict[str, str],
    field: str,
) -> None:
    client = clients[MARGIN]
    payload = {**option_payload(client), **changes}
    tradier_emulator.reset_log()
    with pytest.raises(OrderPayloadError) as info:
        client.place_order(MARGIN, payload)
    assert info.value.field == field
    assert tradier_emulator.request_count("/accounts", method="POST") == 0


def test_payload_validation_names_field(clients: dict[str, TradierClient]) -> None:
    client = clients[MARGIN]
    with pytest.raises(TypeError, match="'quantity'"):
        client.place_order(MARGIN, {"class": "option", "quantity": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="tag='bad_tag'"):
        client.place_order(MARGIN, {**option_payload(client), "tag": "bad_tag"})
    with pytest.raises(ValueError, match="cannot change \\['quantity'\\]"):
        client.modify_order(MARGIN, 1, quantity="2")
    with pytest.raises(ValueError, match="order_id"):
        client.get_order(MARGIN, "abc")


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"price": "1.17"}, "price", "off the SPX tick grid"),
        ({"price": Decimal("1.17")}, "price", "off the SPX tick grid"),
        ({"price": "-5"}, "price", "positive price"),
        ({"price": "abc"}, "price", "must be a price"),
        ({"type": "market"}, "type", "market order"),
        ({"stop": "3.05"}, "stop", "off the SPX tick grid"),
        ({"type": "limit"}, "price", "is required"),
        ({"type": "stop", "price": "1.10", "stop": "1.00"}, "price", "does not apply"),
        ({"duration": "forever"}, "duration", "must be one of"),
        ({}, "changes", "at least one"),
    ],
)
def test_modify_goes_through_the_order_validators_and_sends_nothing_bad(
    clients: dict[str, TradierClient],
    tradier_emulator: TradierEmulator,
    changes: dict[str, object],
    field: str,
    problem: str,
) -> None:
    client = clients[PDT]
    placed = client.place_order(PDT, option_payload(client))
    with pytest.raises(OrderPayloadError, match=problem) as info:
        client.modify_order(PDT, placed.id, **changes)  # type: ignore[arg-type]
    assert info.value.field == field
    assert [r for r in tradier_emulator.request_log() if r.method == "PUT"] == []


def test_modify_sends_valid_changes_on_the_tick(
    clients: dict[str, TradierClient], tradier_emulator: TradierEmulator
) -> None:
    client = clients[PDT]
    placed = client.place_order(PDT, option_payload(client))
    client.modify_order(PDT, placed.id, type="stop_limit", price=Decimal("3.1"), stop=3.2, duration="gtc")
    order = client.get_order(PDT, placed.id)
    assert (order.type, order.price, order.duration) == ("stop_limit", Decimal("3.10"), "gtc")
    client.modify_order(PDT, placed.id, price=0.1 + 0.2)  # float noise next to the 0.30 tick is 0.30
    assert client.get_order(PDT, placed.id).price == Decimal("0.30")


def test_unknown_order_is_not_found(clients: dict[str, TradierClient]) -> None:
    with pytest.raises(TradierNotFoundError):
        clients[MARGIN].get_order(MARGIN, 999999)


# -- market data ------------------------------------------------------------------------------


def test_expirations_with_and_without_strikes(
    clients: dict[str, TradierClient], tradier_emulator: TradierEmulator
) -> None:
    client = clients[MARGIN]
    dates = client.get_option_expirations("SPX")
    assert dates and dates == sorted(dates) and all(isinstance(d, date) for d in dates)
    assert dates[0] == tradier_emulator.today
    assert client.get_option_expirations("SPX", strikes=True) == dates


def test_option_chain_rows_and_frame(clients: dict[str, TradierClient]) -> None:
    client = clients[MARGIN]
    expiration = client.get_option_expirations("SPX")[0]
    rows = client.get_option_chain("SPX", expiration)
    assert rows and all(isinstance(r["strike"], Decimal | int) for r in rows)
    assert all(r["greeks"] is None or isinstance(r["greeks"], dict) for r in rows)
    frame = client.option_chain_frame("SPX", expiration)
    assert len(frame) == len(rows)
    for column in ("delta", "gamma", "theta", "vega", "mid_iv", "smv_vol", "greeks_updated_at"):
        assert column in frame.columns
    assert frame["delta"].dtype == "float64"
    assert str(frame["bid_date"].dtype) == "datetime64[ns, UTC]"
    years = frame["bid_date"].dropna().dt.year
    assert not years.empty and years.between(2020, 2100).all()
    calls = frame[frame["option_type"] == "call"]
    assert calls["delta"].dropna().between(0, 1).all()


def test_quotes_single_many_and_long_list(
    clients: dict[str, TradierClient], tradier_emulator: TradierEmulator
) -> None:
    client = clients[MARGIN]
    one = client.get_quotes("SPX")
    assert [q["symbol"] for q in one] == ["SPX"]
    symbols = [r["symbol"] for r in client.get_option_chain("SPX", client.get_option_expirations("SPX")[0])]
    many = client.get_quotes(["SPX", *symbols[:3]])
    assert [q["symbol"] for q in many] == ["SPX", *symbols[:3]]
    tradier_emulator.reset_log()
    long_list = client.get_quotes(symbols[:60])
    assert len(long_list) == 60
    assert tradier_emulator.request_count("/markets/quotes", method="POST") == 1


def test_clock_and_calendar(clients: dict[str, TradierClient]) -> None:
    client = clients[MARGIN]
    clock = client.get_clock()
    assert clock.state in {"premarket", "open", "postmarket", "closed"}
    days = client.get_calendar(11, 2026)
    assert len(days) == 30
    thanksgiving = next(d for d in days if d.date == date(2026, 11, 26))
    assert thanksgiving.status == "closed"
    with pytest.raises(ValueError, match=r"month must be 1\.\.12, got 13"):
        client.get_calendar(13, 2026)


def test_chain_frame_handles_seconds_and_missing_greeks() -> None:
    from spx_pipeline.broker.tradier import chain_frame

    frame = chain_frame(
        [
            {
                "symbol": "A",
                "bid_date": 1795537800,
                "ask_date": 1795537800000,
                "greeks": None,
                "bid": Decimal("1.5"),
            },
            {"symbol": "B", "bid_date": 0, "trade_date": None, "greeks": {"delta": Decimal("0.4")}},
        ]
    )
    assert pd.isna(frame["bid_date"].iloc[1]) and pd.isna(frame["trade_date"].iloc[1])
    assert frame["delta"].iloc[1] == 0.4
    assert (
        frame["bid_date"].iloc[0] == frame["ask_date"].iloc[0] == pd.Timestamp(1795537800, unit="s", tz="UTC")
    )
    assert pd.isna(frame["delta"].iloc[0]) and frame["bid"].iloc[0] == 1.5


# -- a local Tradier server on another host of a private network ------------------------------


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://10.0.0.5:8787/v1", "http://10.0.0.5:8787/v1"),
        ("http://192.168.7.1:80/v1/", "http://192.168.7.1:80/v1"),
        ("https://172.16.0.9/v1", "https://172.16.0.9/v1"),
        ("http://[fd00::5]:8787/v1", "http://[fd00::5]:8787/v1"),
    ],
)
def test_a_private_network_address_needs_its_opt_in(url: str, resolved: str) -> None:
    with pytest.raises(ValueError, match="TRADIER_ALLOW_PRIVATE_NETWORK=true") as refused:
        resolve_base_url(url, environ={})
    assert "not allowed" in str(refused.value)
    assert resolve_base_url(url, environ={"TRADIER_ALLOW_PRIVATE_NETWORK": "true"}) == resolved
    client = TradierClient("t", environ={"TRADIER_BASE_URL": url, "TRADIER_ALLOW_PRIVATE_NETWORK": "1"})
    assert client.base_url == resolved


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/v1",  # public: never, and never over http
        "http://0.0.0.0:8787/v1",  # unspecified
        "http://169.254.169.254/v1",  # link-local (cloud metadata)
        "http://tradier.internal:8787/v1",  # a name could resolve anywhere
        "http://224.0.0.1/v1",  # multicast
    ],
)
def test_the_private_network_opt_in_allows_nothing_else(url: str) -> None:
    with pytest.raises(ValueError, match=r"not allowed|https"):
        resolve_base_url(url, environ={"TRADIER_ALLOW_PRIVATE_NETWORK": "true"})


def test_client_hands_transport_options_through_and_leaves_the_rest_at_the_transports_defaults():
    """The client states no transport parameter of its own: given ones arrive, unset ones are defaults."""
    given = TradierClient("t", base_url="http://127.0.0.1:9/v1", timeout=(1.5, 2.5), retry=FAST_RETRY)
    plain = TradierClient("t", base_url="http://127.0.0.1:9/v1")
    try:
        assert (given.transport.timeout, given.transport.retry) == ((1.5, 2.5), FAST_RETRY)
        assert (plain.transport.timeout, plain.transport.retry) == (DEFAULT_TIMEOUT, RetryPolicy())
    finally:
        given.close()
        plain.close()
    with pytest.raises(TypeError, match="timout"):
        TradierClient("t", base_url="http://127.0.0.1:9/v1", timout=(1, 2))  # type: ignore[call-arg]
