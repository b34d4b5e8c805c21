"""Injected faults over real HTTP: each kind, its counter, path_prefix, failing accounts, error_rate."""

from __future__ import annotations

import json
import time

import pytest
import requests

from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator
from spx_pipeline.emulator.faults import FaultInjector

MARGIN, CASH = "VA00000001", "VA00000002"
MARGIN_AUTH = {"Authorization": "Bearer demo-margin-token-0001"}
CASH_AUTH = {"Authorization": "Bearer demo-cash-token-0002"}


def balances(
    session: requests.Session, emu: TradierEmulator, *, timeout: float = 30, **kwargs: object
) -> requests.Response:
    url = f"{emu.base_url}/accounts/{MARGIN}/balances"
    return session.get(url, headers=MARGIN_AUTH, timeout=timeout, **kwargs)


def clock(session: requests.Session, emu: TradierEmulator) -> requests.Response:
    return session.get(f"{emu.base_url}/markets/clock", headers=MARGIN_AUTH, timeout=30)


def place(session: requests.Session, emu: TradierEmulator, *, timeout: float = 30) -> requests.Response:
    form = {
        "class": "option",
        "symbol": "SPX",
        "option_symbol": f"SPXW{emu.market.spxw_dates[0]:%y%m%d}P05950000",
        "side": "buy_to_open",
        "quantity": "1",
        "type": "limit",
        "duration": "day",
        "price": "1.00",
        "tag": "fault-test",
    }
    return session.post(
        f"{emu.base_url}/accounts/{MARGIN}/orders", data=form, headers=MARGIN_AUTH, timeout=timeout
    )


def test_fail_5xx_counts_down_then_recovers(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(fail_5xx=2))
    statuses = [balances(tradier_session, tradier_emulator).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    first = tradier_emulator.request_log()[0]
    assert first.fault == "fail_5xx"
    assert tradier_emulator.request_log()[2].fault is None


def test_5xx_carries_a_body(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(fail_5xx=1))
    response = balances(tradier_session, tradier_emulator)
    assert response.status_code == 503
    assert response.text


def test_path_prefix_limits_counted_faults(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(fail_5xx=1, path_prefix="/v1/accounts"))
    assert clock(tradier_session, tradier_emulator).status_code == 200
    assert balances(tradier_session, tradier_emulator).status_code == 503
    assert balances(tradier_session, tradier_emulator).status_code == 200
    tradier_emulator.set_faults(FaultConfig(fail_5xx=1, path_prefix="/markets"))  # without /v1 also works
    assert balances(tradier_session, tradier_emulator).status_code == 200
    assert clock(tradier_session, tradier_emulator).status_code == 503


def test_burst_429_carries_rate_limit_headers(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(burst_429=2))
    first, second, third = (balances(tradier_session, tradier_emulator) for _ in range(3))
    for response in (first, second):
        assert response.status_code == 429
        assert response.headers["X-Ratelimit-Available"] == "0"
        assert response.headers["X-Ratelimit-Used"] == response.headers["X-Ratelimit-Allowed"] == "60"
        expiry_ms = int(response.headers["X-Ratelimit-Expiry"])
        assert time.time() * 1000 < expiry_ms <= (time.time() + 60) * 1000
    assert third.status_code == 200
    assert third.headers["X-Ratelimit-Used"] == "1"  # injected 429s are not counted


def test_a_stalled_request_is_logged_once_the_server_gives_its_late_answer(tradier_emulator, tradier_session):
    """The client moved on; waiting for the server (not a guessed sleep) makes the log complete."""
    tradier_emulator.set_faults(FaultConfig(timeouts=1, timeout_seconds=1.0))
    with pytest.raises(requests.ReadTimeout):
        balances(tradier_session, tradier_emulator, timeout=0.2)
    tradier_emulator.wait_until_answered()
    assert [(r.fault, r.status) for r in tradier_emulator.request_log()] == [("timeout", 200)]
    tradier_emulator.wait_until_answered()  # nothing in flight: returns at once


def test_latency_delays_every_answer(tradier_emulator_factory, tradier_session):
    emu = tradier_emulator_factory(EmulatorConfig(faults=FaultConfig(latency_ms=120)))
    started = time.perf_counter()
    assert clock(tradier_session, emu).status_code == 200
    assert time.perf_counter() - started >= 0.12


def test_timeout_fault_answers_late_and_the_order_is_still_placed(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(timeouts=1, timeout_seconds=0.6))
    with pytest.raises(requests.ReadTimeout):
        place(tradier_session, tradier_emulator, timeout=0.2)
    tradier_emulator.wait_until_answered()  # the server finishes the late answer
    orders = tradier_emulator.orders(MARGIN)
    assert [o["tag"] for o in orders] == ["fault-test"]  # the ambiguous case: the client saw a timeout
    assert tradier_emulator.request_log()[0].fault == "timeout"
    assert place(tradier_session, tradier_emulator).json()["order"]["status"] == "ok"


def test_reset_closes_without_an_answer_and_places_nothing(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(resets=1))
    with pytest.raises(requests.ConnectionError):
        place(tradier_session, tradier_emulator)
    assert tradier_emulator.orders(MARGIN) == []
    record = tradier_emulator.request_log()[0]
    assert (record.status, record.fault) == (0, "reset")
    assert place(tradier_session, tradier_emulator).status_code == 200


def test_malformed_is_http_200_with_truncated_json(tradier_emulator, tradier_session):
    tradier_emulator.set_faults(FaultConfig(malformed=1))
    response = balances(tradier_session, tradier_emulator)
    assert response.status_code == 200
    assert response.text.startswith('{"balances":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert balances(tradier_session, tradier_emulator).json()["balances"]["account_number"] == MARGIN


def test_malformed_applies_even_to_xml_clients(tradier_emulator):
    tradier_emulator.set_faults(FaultConfig(malformed=1))
    response = requests.get(
        f"{tradier_emulator.base_url}/accounts/{MARGIN}/balances", headers=MARGIN_AUTH, timeout=30
    )
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize(("status", "body"), [(401, "Invalid Access Token"), (500, None), (503, None)])
def test_failing_accounts_always_fail(tradier_emulator, tradier_session, status, body):
    tradier_emulator.set_faults(FaultConfig(failing_accounts=frozenset({MARGIN}), failing_status=status))
    for _ in range(3):
        response = balances(tradier_session, tradier_emulator)
        assert response.status_code == status
        if body is not None:
            assert response.text == body
    ok = tradier_session.get(
        f"{tradier_emulator.base_url}/accounts/{CASH}/balances", headers=CASH_AUTH, timeout=30
    )
    assert ok.status_code == 200
    assert tradier_emulator.request_log()[0].fault == "failing_account"


def test_error_rate_is_seeded_and_reproducible(tradier_emulator_factory, tradier_session):
    def run() -> list[int]:
        emu = tradier_emulator_factory(
            EmulatorConfig(rate_limits_enabled=False, faults=FaultConfig(error_rate=0.5, seed=11))
        )
        return [clock(tradier_session, emu).status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 503}
    assert 8 <= first.count(503) <= 32


def test_fault_precedence_and_counters_unit():
    injector = FaultInjector(FaultConfig(resets=1, fail_5xx=1, malformed=1))
    kinds = [injector.plan("/v1/markets/clock", None).kind for _ in range(4)]
    assert kinds == ["reset", "fail_5xx", "malformed", None]
    assert injector.remaining() == {"reset": 0, "timeout": 0, "burst_429": 0, "fail_5xx": 0, "malformed": 0}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fail_5xx", -1),
        ("latency_ms", -5.0),
        ("error_rate", 1.5),
        ("failing_status", 200),
        ("timeout_seconds", -1),
    ],
)
def test_fault_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        FaultConfig(**{field: value})


def test_faults_property_is_settable_and_counters_are_visible(tradier_emulator, tradier_session):
    tradier_emulator.faults = FaultConfig(fail_5xx=3)
    assert tradier_emulator.faults.fail_5xx == 3
    balances(tradier_session, tradier_emulator)
    assert tradier_emulator.faults_remaining()["fail_5xx"] == 2
