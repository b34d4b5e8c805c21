"""The emulator over real HTTP: auth, content negotiation, account reads, lifecycle, request log."""

from __future__ import annotations

import json
import socket
import threading
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import requests

from spx_pipeline.broker.secrets import token_fingerprint
from spx_pipeline.emulator import (
    EmulatedAccount,
    EmulatorConfig,
    FaultConfig,
    TradierEmulator,
    demo_accounts,
    make_accounts,
)

MARGIN, CASH, PDT = "VA00000001", "VA00000002", "VA00000003"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_json(session: requests.Session, emu: TradierEmulator, path: str, token: str) -> requests.Response:
    return session.get(emu.base_url + path, headers=auth(token), timeout=30)


# ----- auth -----------------------------------------------------------------------------------


def test_missing_token_is_401_with_tradier_plain_text_body(tradier_emulator, tradier_session):
    response = tradier_session.get(tradier_emulator.base_url + "/user/profile", timeout=30)
    assert response.status_code == 401
    assert response.text == "Invalid Access Token"
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Basic demo-margin-token-0001", "Bearer ", "demo-margin-token-0001"]
)
def test_unknown_or_malformed_authorization_is_401(tradier_emulator, tradier_session, header):
    response = tradier_session.get(
        tradier_emulator.base_url + "/user/profile", headers={"Authorization": header}, timeout=30
    )
    assert response.status_code == 401
    assert response.text == "Invalid Access Token"


def test_token_cannot_read_another_tokens_account(tradier_emulator, tradier_session, demo_tokens):
    response = get_json(tradier_session, tradier_emulator, f"/accounts/{CASH}/balances", demo_tokens[MARGIN])
    assert response.status_code == 401
    assert CASH in response.text
    # and an account that exists nowhere looks the same (no existence oracle)
    other = get_json(tradier_session, tradier_emulator, "/accounts/VA99999999/balances", demo_tokens[MARGIN])
    assert other.status_code == 401


def test_unknown_path_is_404(tradier_emulator, tradier_session, demo_tokens):
    response = get_json(
        tradier_session, tradier_emulator, "/accounts/VA00000001/history", demo_tokens[MARGIN]
    )
    assert response.status_code == 404


# ----- content negotiation --------------------------------------------------------------------


def test_without_accept_json_the_answer_is_xml(tradier_emulator, demo_tokens):
    response = requests.get(
        tradier_emulator.base_url + f"/accounts/{PDT}/balances", headers=auth(demo_tokens[PDT]), timeout=30
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "balances"
    assert root.findtext("account_type") == "pdt"
    assert Decimal(root.findtext("pdt/day_trade_buying_power")) == Decimal("383281.60")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_xml_repeats_elements_for_lists(tradier_emulator, demo_tokens):
    response = requests.get(
        tradier_emulator.base_url + f"/accounts/{MARGIN}/positions",
        headers={**auth(demo_tokens[MARGIN]), "Accept": "application/xml"},
        timeout=30,
    )
    root = ET.fromstring(response.content)
    assert [p.findtext("symbol") for p in root.findall("position")] == ["SPY", "SPXW261218C06200000"]


# ----- accounts -------------------------------------------------------------------------------


def test_balances_margin_has_only_margin_subobject_with_long_decimal_tails(
    tradier_emulator, tradier_session, demo_tokens
):
    response = get_json(
        tradier_session, tradier_emulator, f"/accounts/{MARGIN}/balances", demo_tokens[MARGIN]
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert '"option_buying_power":17798.360000000000000000000000' in response.text
    body = response.json(parse_float=Decimal)["balances"]
    assert body["account_number"] == MARGIN
    assert body["account_type"] == "margin"
    assert "margin" in body and "cash" not in body and "pdt" not in body
    assert body["margin"]["option_buying_power"] == Decimal("17798.36")
    assert body["margin"]["stock_buying_power"] == Decimal("35596.72")
    assert body["total_equity"] == Decimal("52480.55")
    assert body["pending_orders_count"] == 1
    assert "option_buying_power" not in body  # never at the top level


def test_balances_cash_and_pdt_shapes(tradier_emulator, tradier_session, demo_tokens):
    cash = get_json(tradier_session, tradier_emulator, f"/accounts/{CASH}/balances", demo_tokens[CASH]).json(
        parse_float=Decimal
    )["balances"]
    assert cash["account_type"] == "cash"
    assert set(cash) & {"margin", "cash", "pdt"} == {"cash"}
    assert cash["cash"]["cash_available"] == Decimal("8125.75")
    assert "option_buying_power" not in cash["cash"]

    pdt = get_json(tradier_session, tradier_emulator, f"/accounts/{PDT}/balances", demo_tokens[PDT]).json(
        parse_float=Decimal
    )["balances"]
    assert set(pdt) & {"margin", "cash", "pdt"} == {"pdt"}
    assert pdt["pdt"]["option_buying_power"] == Decimal("95820.40")
    assert pdt["pdt"]["day_trade_buying_power"] == Decimal("383281.60")


def test_profile_collapses_single_account_and_lists_several(tradier_emulator_factory, tradier_session):
    shared = make_accounts(3, shared_token="one-login", seed=4)
    emu = tradier_emulator_factory(EmulatorConfig(accounts=[*demo_accounts(), *shared]))
    single = get_json(tradier_session, emu, "/user/profile", "demo-pdt-token-0003").json()["profile"]
    assert isinstance(single["account"], dict)
    assert single["account"]["account_number"] == PDT
    assert single["account"]["type"] == "margin"  # profile never says "pdt"
    assert single["account"]["day_trader"] is True
    several = get_json(tradier_session, emu, "/user/profile", "one-login").json()["profile"]
    assert [a["account_number"] for a in several["account"]] == [a.account_id for a in shared]


def test_user_balances_single_and_many(tradier_emulator_factory, tradier_session):
    shared = make_accounts(4, shared_token="fleet", seed=2)
    emu = tradier_emulator_factory(EmulatorConfig(accounts=[*demo_accounts(), *shared]))
    one = get_json(tradier_session, emu, "/user/balances", "demo-cash-token-0002").json()["accounts"][
        "account"
    ]
    assert one["account_number"] == CASH
    assert one["balances"]["cash"]["cash_available"] == pytest.approx(8125.75)
    many = get_json(tradier_session, emu, "/user/balances", "fleet").json(parse_float=Decimal)["accounts"][
        "account"
    ]
    assert [row["account_number"] for row in many] == [a.account_id for a in shared]
    for row, account in zip(many, shared, strict=True):
        assert row["balances"]["account_type"] == account.account_type
        assert row["balances"]["total_equity"] == account.total_equity


def test_positions_null_single_and_list(tradier_emulator, tradier_session, demo_tokens):
    empty = get_json(tradier_session, tradier_emulator, f"/accounts/{CASH}/positions", demo_tokens[CASH])
    assert empty.json() == {"positions": "null"}
    single = get_json(tradier_session, tradier_emulator, f"/accounts/{PDT}/positions", demo_tokens[PDT]).json(
        parse_float=Decimal
    )
    position = single["positions"]["position"]
    assert isinstance(position, dict)
    assert position["symbol"] == "SPXW261218P05800000"
    assert position["quantity"] == Decimal("1")
    many = get_json(
        tradier_session, tradier_emulator, f"/accounts/{MARGIN}/positions", demo_tokens[MARGIN]
    ).json()
    assert [p["quantity"] for p in many["positions"]["position"]] == [30.0, -2.0]


# ----- lifecycle, keep-alive, concurrency, log --------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(ValueError, match="loopback"):
        TradierEmulator(EmulatorConfig(), host=host)


@pytest.mark.parametrize("host", ["0.0.0.0", "8.8.8.8", "169.254.1.1", "fd00::1", "example.com"])
def test_a_private_network_listener_is_still_never_wider(host):
    with pytest.raises(ValueError, match="loopback or private-network"):
        TradierEmulator(EmulatorConfig(), host=host, private_network=True)


def test_a_private_network_address_is_accepted_only_when_asked():
    with pytest.raises(ValueError, match="loopback"):
        TradierEmulator(EmulatorConfig(), host="10.1.2.3")
    # Constructing binds nothing: the address need not exist on this machine.
    assert TradierEmulator(EmulatorConfig(), host="10.1.2.3", private_network=True).host == "10.1.2.3"
    assert TradierEmulator(EmulatorConfig(), host="127.0.0.1", private_network=True).host == "127.0.0.1"


def test_localhost_is_accepted_and_bound_to_loopback():
    with TradierEmulator(EmulatorConfig(), host="localhost") as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")


def test_keep_alive_reuses_one_connection(tradier_emulator, demo_tokens):
    ports: set[int] = set()
    with requests.Session() as session:
        for _ in range(5):
            response = session.get(
                tradier_emulator.base_url + f"/accounts/{MARGIN}/balances",
                headers=auth(demo_tokens[MARGIN]),
                timeout=30,
                stream=True,
            )
            ports.add(response.raw._connection.sock.getsockname()[1])
            response.content  # noqa: B018 - release the connection to the pool
    assert len(ports) == 1


def test_concurrent_clients_are_all_answered(tradier_emulator_factory):
    emu = tradier_emulator_factory(EmulatorConfig(rate_limits_enabled=False))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            for _ in range(5):
                r = session.get(
                    emu.base_url + "/markets/clock", headers=auth("demo-cash-token-0002"), timeout=10
                )
                with lock:
                    statuses.append(r.status_code)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 200
    assert emu.request_count("/markets/clock") == 200


def test_stop_closes_the_port_and_pooled_connections(demo_tokens):
    emu = TradierEmulator().start()
    session = requests.Session()
    assert session.get(emu.base_url + "/markets/clock", headers=auth(demo_tokens[CASH]), timeout=30).ok
    port = emu.port
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(emu.base_url + "/markets/clock", headers=auth(demo_tokens[CASH]), timeout=30)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    session.close()


def test_request_log_records_fingerprint_never_token(tradier_emulator, tradier_session, demo_tokens):
    get_json(tradier_session, tradier_emulator, f"/accounts/{MARGIN}/balances?x=1", demo_tokens[MARGIN])
    tradier_session.get(tradier_emulator.base_url + "/user/profile", timeout=30)
    log = tradier_emulator.request_log()
    assert [(r.method, r.path, r.query, r.status) for r in log] == [
        ("GET", f"/v1/accounts/{MARGIN}/balances", "x=1", 200),
        ("GET", "/v1/user/profile", "", 401),
    ]
    assert log[0].token_fingerprint == token_fingerprint(demo_tokens[MARGIN])
    assert log[1].token_fingerprint is None
    assert demo_tokens[MARGIN] not in repr(log)
    assert tradier_emulator.request_count("/accounts") == 1
    assert tradier_emulator.request_count("/v1/user", method="get") == 1
    assert tradier_emulator.request_count(method="POST") == 0
    tradier_emulator.reset_log()
    assert tradier_emulator.requests == []


def test_custom_account_defaults_derive_buying_power(tradier_emulator_factory, tradier_session):
    account = EmulatedAccount("VA55500001", "tok-x", "pdt", Decimal("40000"), Decimal("30000"))
    emu = tradier_emulator_factory(EmulatorConfig(accounts=[account]))
    body = get_json(tradier_session, emu, "/accounts/VA55500001/balances", "tok-x").json(parse_float=Decimal)
    assert body["balances"]["pdt"]["option_buying_power"] == Decimal("30000")
    assert body["balances"]["pdt"]["day_trade_buying_power"] == Decimal("120000")


def test_every_answer_has_content_length_and_keeps_the_connection(tradier_emulator_factory):
    """Errors too: a pooled client must be able to reuse the socket after a 401, 404 or 429."""
    emu = tradier_emulator_factory(EmulatorConfig(faults=FaultConfig(burst_429=1, path_prefix="/v1/markets")))
    authed = "Host: x\r\nAuthorization: Bearer demo-cash-token-0002\r\n\r\n"
    requests_text = [
        "GET /v1/user/profile HTTP/1.1\r\nHost: x\r\n\r\n",  # 401
        "GET /v1/nowhere HTTP/1.1\r\n" + authed,  # 404
        "GET /v1/markets/clock HTTP/1.1\r\n" + authed,  # injected 429
        "GET /v1/markets/clock HTTP/1.1\r\n" + authed,  # 200
    ]
    statuses: list[int] = []
    with socket.create_connection(("127.0.0.1", emu.port), timeout=30) as sock:
        reader = sock.makefile("rb")
        for text in requests_text:
            sock.sendall(text.encode())
            status_line = reader.readline().decode()
            headers: dict[str, str] = {}
            while (line := reader.readline().decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            assert "content-length" in headers, status_line
            reader.read(int(headers["content-length"]))
            statuses.append(int(status_line.split()[1]))
    assert statuses == [401, 404, 429, 200]
