"""The access token never shows up in logs, output, exceptions or reprs, even at DEBUG everywhere."""

from __future__ import annotations

import base64
import html
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest
import requests

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import (
    AccountCredential,
    AmbiguousOrderError,
    RateLimiterRegistry,
    RetryPolicy,
    TradierClient,
    TradierError,
    fetch_balances_many,
)
from spx_pipeline.emulator import EmulatedAccount, EmulatorConfig, FaultConfig, TradierEmulator

PLANTED = "PLANTED-tok-7f3a9c1e55d04b2b"
WRONG = "WRONG-tok-0a1b2c3d4e5f6789"
ACCOUNT = "VA77777777"


@pytest.fixture
def debug_everywhere() -> Iterator[None]:
    names = ("urllib3", "urllib3.connectionpool", "requests", "spx_pipeline")
    before = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def emu(tradier_emulator_factory: Callable[[EmulatorConfig], TradierEmulator]) -> TradierEmulator:
    account = EmulatedAccount(
        account_id=ACCOUNT,
        token=PLANTED,
        account_type="margin",
        total_equity=Decimal("50000"),
        cash=Decimal("40000"),
        option_buying_power=Decimal("30000"),
    )
    return tradier_emulator_factory(EmulatorConfig(accounts=[account], rate_limit_window_seconds=0.5))


def test_token_never_leaks(
    emu: TradierEmulator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    debug_everywhere: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    retry = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02, max_total_sleep=0.1)

    def client(token: str, **kwargs: object) -> TradierClient:
        made = TradierClient(
            token,
            base_url=emu.base_url,
            retry=retry,
            registry=RateLimiterRegistry(),
            timeout=kwargs.pop("timeout", (2.0, 5.0)),  # type: ignore[arg-type]
        )
        seen.append(repr(made))
        seen.append(repr(vars(made)))
        seen.append(repr(vars(made.transport)))
        return made

    def expect_failure(call: Callable[[], object]) -> None:
        with pytest.raises(TradierError) as info:
            call()
        seen.extend([str(info.value), repr(info.value), repr(info.value.__dict__)])
        if info.value.__cause__ is not None:
            seen.append(repr(info.value.__cause__))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        good = client(PLANTED)
        balances = good.get_balances(ACCOUNT)
        seen.extend([repr(balances), repr(balances.raw), repr(good.get_profile())])
        expect_failure(lambda: client(WRONG).get_balances(ACCOUNT))  # 401
        emu.set_faults(FaultConfig(fail_5xx=5, path_prefix="/accounts"))
        expect_failure(lambda: good.get_balances(ACCOUNT))  # 5xx after retries
        emu.set_faults(FaultConfig(malformed=1, path_prefix="/accounts"))
        expect_failure(lambda: good.get_balances(ACCOUNT))
        emu.set_faults(FaultConfig(burst_429=5, path_prefix="/accounts"))
        expect_failure(lambda: client(PLANTED).get_balances(ACCOUNT))  # rate limited
        emu.set_faults(FaultConfig(timeouts=3, timeout_seconds=0.3, path_prefix="/accounts"))
        expect_failure(lambda: client(PLANTED, timeout=(1.0, 0.1)).get_balances(ACCOUNT))
        emu.set_faults(FaultConfig(resets=1, path_prefix="/accounts"))
        payload = {
            "class": "option",
            "symbol": "SPX",
            "option_symbol": "SPXW261218C06200000",
            "side": "buy_to_open",
            "quantity": "1",
            "type": "limit",
            "duration": "day",
            "price": "0.5",
            "tag": "leak-check",
        }
        with pytest.raises(AmbiguousOrderError) as ambiguous:
            good.place_order(ACCOUNT, payload)
        seen.extend([str(ambiguous.value), repr(ambiguous.value)])
        emu.set_faults(FaultConfig())
        results = fetch_balances_many(
            [AccountCredential(ACCOUNT, SecretToken(PLANTED)), AccountCredential("VA1", SecretToken(WRONG))],
            base_url=emu.base_url,
            registry=RateLimiterRegistry(),
        )
        seen.extend(repr(result) for result in results)
        assert results[0].balances is not None and results[1].error is not None
        seen.append(repr(AccountCredential(ACCOUNT, SecretToken(PLANTED))))
    out, err = capfd.readouterr()
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "Bearer ***" in logged  # the request log was really captured at DEBUG
    for haystack in (logged, out, err, "\n".join(seen), "\n".join(str(w.message) for w in caught)):
        assert PLANTED not in haystack
        assert WRONG not in haystack


class EchoSession(requests.Session):
    """A broker that answers every request with a body built from the request's own headers."""

    def __init__(self, status: int, body: Callable[[str], str]) -> None:
        super().__init__()
        self.status, self.body = status, body

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        headers = kwargs.get("headers") or {}
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body(str(headers.get("Authorization", ""))).encode()  # type: ignore[union-attr]
        response.headers["Content-Type"] = "application/json"
        response.url = url
        return response


def spellings_of(token: str) -> list[str]:
    auth = f"Authorization: Bearer {token}"
    return [
        token,
        json.dumps(token),
        quote(token, safe=""),
        quote(token, safe="").replace("%2D", "%2d"),
        base64.b64encode(auth.encode()).decode(),
        base64.urlsafe_b64encode(("x" + auth).encode()).decode(),
        token.encode().hex(),
        html.escape(token),
    ]


def test_an_error_body_is_redacted_before_it_is_cut() -> None:
    # The token straddles the 200-character cut of an error body: redacting after the cut would
    # leave its first half in the message.
    def body(authorization: str) -> str:
        return "x" * 175 + " " + authorization + " trailing text"  # the token spans characters 183-210

    client = TradierClient(
        PLANTED,
        base_url="http://127.0.0.1:9/v1",
        session=EchoSession(503, body),
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(TradierError) as info:
        client.get_balances(ACCOUNT)
    text = str(info.value) + repr(info.value)
    assert "***" in text
    for cut in range(8, len(PLANTED)):
        assert PLANTED[:cut] not in text, f"{cut} characters of the token survived the cut"


def test_a_body_echoing_any_token_of_the_sync_is_stored_redacted() -> None:
    other = "OTHER-tok-0b1c2d3e4f5a6978"
    tokens = {ACCOUNT: PLANTED, "VA88888888": other}

    def body(authorization: str) -> str:
        # Every account's body echoes its own header and the other account's token, in many spellings.
        echoed = [s for token in tokens.values() for s in spellings_of(token)]
        return json.dumps(
            {
                "balances": {
                    "account_number": ACCOUNT if PLANTED in authorization else "VA88888888",
                    "account_type": "cash",
                    "total_equity": 1000,
                    "total_cash": 1000,
                    "cash": {"cash_available": 1000},
                    "echo": [authorization, *echoed],
                }
            }
        )

    def factory(token: SecretToken, url: str) -> TradierClient:
        return TradierClient(token, base_url="http://127.0.0.1:9/v1", session=EchoSession(200, body))

    results = fetch_balances_many(
        [AccountCredential(a, SecretToken(t)) for a, t in tokens.items()],
        client_factory=factory,
        registry=RateLimiterRegistry(),
    )
    assert all(r.ok and r.balances is not None for r in results)
    stored = json.dumps([r.balances.raw for r in results if r.balances is not None])
    assert stored.count("***") >= 2 * len(spellings_of(PLANTED))
    for token in tokens.values():
        for spelling in spellings_of(token):
            assert spelling not in stored
        assert token[-16:] not in stored
