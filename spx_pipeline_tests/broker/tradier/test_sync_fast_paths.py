"""A sync's fast paths give what the slow ones gave: same requests, same results, no token shown.

The transport sends through the session's adapter without ``Session.request`` when the session
adds nothing to a request (``sessions.adds_nothing``); a sync decrypts each token once, reads the
environment once, takes the caller's redactor, and gives each worker the next group instead of
one Future per group. Each is compared with the path it replaces (a session whose ``request`` is
its own takes the old one), against the local Tradier server with good, failing, refused,
rate-limited and echoing accounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from spx_pipeline.broker.secrets import (
    Redactor,
    SecretToken,
    decrypted_by_fingerprint,
    secret_spellings,
    token_fingerprint,
)
from spx_pipeline.broker.tradier import (
    AccountCredential,
    RateLimiterRegistry,
    account_sync,
    fetch_balances_many,
)
from spx_pipeline.broker.tradier import transport as transport_module
from spx_pipeline.broker.tradier.errors import TradierConnectionError, TradierError
from spx_pipeline.broker.tradier.ratelimit import Bucket
from spx_pipeline.broker.tradier.sessions import adds_nothing, pooled_session
from spx_pipeline.broker.tradier.transport import Transport
from spx_pipeline.clock import wall_epoch
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts
from spx_pipeline.settings import Settings
from spx_pipeline_tests.fixtures.secrets import CountedStore
from spx_pipeline_tests.fixtures.tradier import FAST_RETRY, EmulatorFactory

BASE = "http://127.0.0.1:9/v1"


class ThroughRequest(requests.Session):
    """A session whose ``request`` is its own: the transport sends through it, the old way."""

    def __init__(self) -> None:
        super().__init__()
        for prefix in ("http://", "https://"):
            self.mount(prefix, pooled_session().get_adapter(prefix))

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return super().request(*args, **kwargs)


class Recording(BaseAdapter):
    """Answers every request with one JSON object and keeps what it was asked, as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[Any, ...]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.seen.append((request.method, request.url, list(request.headers.items()), request.body, kwargs))
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = b'{"ok": {"n": 1}}'
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing pooled."""


CALLS: list[tuple[str, str, Mapping[str, str] | None, Mapping[str, str] | None]] = [
    ("GET", "/accounts/VA00000001/balances", None, None),
    ("GET", "/accounts/VA00000001/orders", {"includeTags": "true", "page": "2"}, None),
    ("GET", "/markets/quotes", {"symbols": "SPX,SPXW 250117C05000000", "greeks": "false"}, None),
    ("POST", "/accounts/VA00000001/orders", None, {"class": "option", "tag": "t-1", "price": "1.05"}),
    ("PUT", "/accounts/VA00000001/orders/42", None, {"price": "2.10"}),
    ("DELETE", "/accounts/VA00000001/orders/42", None, None),
]


def sent_through(session: requests.Session) -> list[tuple[Any, ...]]:
    adapter = Recording()
    session.mount("http://127.0.0.1:9/", adapter)
    transport = Transport(BASE, SecretToken("PLANTED/tok+en=42"), rate_limits=False, session=session)
    for method, path, params, data in CALLS:
        assert transport.request(method, path, params=params, data=data, retry=False) == {"ok": {"n": 1}}
    return adapter.seen


def test_the_adapter_gets_exactly_what_session_request_gave_it() -> None:
    plain, old = pooled_session(), ThroughRequest()
    fast, reference = sent_through(plain), sent_through(old)
    assert adds_nothing(plain) and not adds_nothing(old)  # the transport turned the environment off
    assert fast == reference and len(fast) == len(CALLS)
    assert all(("Authorization", "Bearer PLANTED/tok+en=42") in sent[2] for sent in fast)


HOOKED: list[str] = []

# What each addition does to the request the adapter gets: it is there only if the session's own
# ``request`` merged it, so each case shows which way the request went.
ADDITIONS: list[tuple[str, Callable[[requests.Session], None], Callable[[tuple[Any, ...]], bool]]] = [
    ("environment", lambda s: setattr(s, "trust_env", True), lambda sent: bool(sent[4]["proxies"])),
    (
        "auth",
        lambda s: setattr(s, "auth", ("user", "password")),
        lambda sent: "Basic" in dict(sent[2])["Authorization"],
    ),
    ("params", lambda s: s.params.update({"extra": "1"}), lambda sent: "extra=1" in sent[1]),
    (
        "cookies",
        lambda s: s.cookies.set("session", "abc"),
        lambda sent: dict(sent[2]).get("Cookie") == "session=abc",
    ),
    (
        "hooks",
        lambda s: s.hooks["response"].append(lambda r, *a, **k: HOOKED.append(r.url)),
        lambda _: bool(HOOKED),
    ),
]


@pytest.mark.parametrize(("name", "change", "merged"), ADDITIONS, ids=[a[0] for a in ADDITIONS])
def test_a_session_that_adds_to_requests_is_asked_through_session_request(
    name: str,
    change: Callable[[requests.Session], None],
    merged: Callable[[tuple[Any, ...]], bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # what the environment would add
    for bypass in ("NO_PROXY", "no_proxy"):  # a machine's own bypass list would hide it
        monkeypatch.delenv(bypass, raising=False)
    HOOKED.clear()
    session, adapter = pooled_session(), Recording()
    session.mount("http://127.0.0.1:9/", adapter)
    transport = Transport(BASE, SecretToken("PLANTED/tok+en=42"), rate_limits=False, session=session)
    transport.request("GET", "/accounts/VA00000001/balances")
    assert adds_nothing(session) and not merged(adapter.seen[-1])  # the plain way: nothing added
    change(session)  # after the transport prepared the session (it turns the environment off)
    assert not adds_nothing(session)
    assert transport.request("GET", "/accounts/VA00000001/balances") == {"ok": {"n": 1}}
    assert merged(adapter.seen[-1]), name  # Session.request merged the session's addition in


def test_an_unreachable_host_fails_alike_both_ways() -> None:
    def failure(session: requests.Session) -> tuple[str, str, bool | None]:
        transport = Transport(
            "http://127.0.0.1:9/v1", SecretToken("PLANTED-token-9"), rate_limits=False, session=session
        )
        with pytest.raises(Exception) as info:
            transport.request("POST", "/accounts/VA1/orders", data={"tag": "t"}, retry=False)
        error: Any = info.value
        return type(error).__name__, str(error), error.maybe_sent

    fast, reference = failure(pooled_session()), failure(ThroughRequest())
    assert fast == reference and fast[2] is False and "PLANTED" not in fast[1]


class FakeTime:
    """The client's clock and sleep: sleeping moves the clock, in no real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def clock(self) -> float:
        return wall_epoch() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


SHARED = "shared-token-of-three"
PLANTED = "PLANTEDtoken/echo+me=77"


def mixed(
    factory: EmulatorFactory, *, counted_faults: bool
) -> tuple[TradierEmulator, list[AccountCredential]]:
    """Good, failing (500), refused (wrong token), shared-token and echoing accounts."""
    accounts = [replace(a, token=SHARED) if i >= 9 else a for i, a in enumerate(make_accounts(12))]
    accounts[4] = replace(accounts[4], token=PLANTED)
    faults = FaultConfig(
        failing_accounts=frozenset({accounts[1].account_id}),
        echo_authorization=("exact", "base64", "url"),
        path_prefix="/accounts",
        **({"burst_429": 1, "fail_5xx": 1} if counted_faults else {}),
    )
    emulator = factory(EmulatorConfig(accounts=accounts, rate_limit_window_seconds=60.0, faults=faults))
    credentials = [AccountCredential(a.account_id, SecretToken(a.token)) for a in accounts]
    credentials[2] = AccountCredential(accounts[2].account_id, SecretToken("not-this-accounts-token"))
    return emulator, credentials


def outcome(results: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.account_id,
            r.ok,
            type(r.error).__name__ if r.error else None,
            str(r.error) if r.error else None,
            getattr(r.error, "status", None),
            r.balances,
            json.dumps(r.balances.raw, sort_keys=True, default=str) if r.balances else None,
        )
        for r in results
    ]


def sync(emulator: TradierEmulator, credentials: list[AccountCredential], **options: Any) -> list[Any]:
    fake = FakeTime()
    return fetch_balances_many(
        credentials,
        base_url=emulator.base_url,
        retry=FAST_RETRY,
        registry=RateLimiterRegistry(clock=fake.clock, sleep=fake.sleep),
        sleep=fake.sleep,
        clock=fake.clock,
        **options,
    )


def test_a_sync_gives_the_same_results_as_through_session_request(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    runs = []
    for session in (pooled_session(), ThroughRequest()):
        emulator, credentials = mixed(tradier_emulator_factory, counted_faults=True)
        runs.append(outcome(sync(emulator, credentials, max_workers=1, session=session)))
    fast, reference = runs
    assert fast == reference
    kinds = {row[2] for row in fast}
    assert kinds == {None, "TradierServerError", "TradierAuthError"}, kinds
    text = repr(fast)
    for spelling in secret_spellings(PLANTED):
        assert spelling not in text
    assert "***" in text  # the echoing account's body was redacted, not dropped


def test_workers_taking_the_next_group_give_the_one_worker_results(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    runs = []
    for workers in (1, 4, None):
        emulator, credentials = mixed(tradier_emulator_factory, counted_faults=False)
        runs.append(outcome(sync(emulator, credentials, max_workers=workers)))
    assert runs[0] == runs[1] == runs[2]
    assert [row[0] for row in runs[0]] == [c.account_id for c in credentials]


def test_each_token_is_decrypted_once_per_sync_and_the_environment_read_once(
    tradier_emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = [replace(a, token=SHARED) if i >= 6 else a for i, a in enumerate(make_accounts(9))]
    emulator = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    store = CountedStore()
    credentials = [AccountCredential(a.account_id, store.token(a.token)) for a in accounts]
    reads: list[int] = []
    real = Settings.from_env.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Settings], environ: Mapping[str, str] | None = None) -> Settings:
        reads.append(1)
        return real(cls, environ)

    monkeypatch.setattr(Settings, "from_env", classmethod(counted))
    results = sync(emulator, credentials, max_workers=3)
    assert all(r.ok for r in results)
    assert store.decryptions == {a.token: 1 for a in accounts}
    assert len(reads) == 1


def test_a_callers_redactor_serves_the_sync_and_one_missing_a_token_does_not(
    tradier_emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = make_accounts(4)
    emulator = tradier_emulator_factory(EmulatorConfig(accounts=accounts))
    store = CountedStore()
    tokens = [store.token(a.token).decrypted() for a in accounts]
    credentials = [AccountCredential(a.account_id, t) for a, t in zip(accounts, tokens, strict=True)]
    built: list[int] = []

    class Counted(Redactor):
        __slots__ = ()

        def __init__(self, *args: Any) -> None:
            built.append(1)
            super().__init__(*args)

    monkeypatch.setattr(account_sync, "Redactor", Counted)
    assert all(r.ok for r in sync(emulator, credentials, redactor=Redactor(tokens)))
    assert built == [] and store.decryptions == {a.token: 1 for a in accounts}
    assert all(r.ok for r in sync(emulator, credentials, redactor=Redactor(tokens[:3])))
    assert built == [1]  # a redactor that misses a token of the sync is not trusted with it


def test_a_transport_keeps_the_registrys_limiter_of_its_token() -> None:
    registry = RateLimiterRegistry()
    token = SecretToken("limited-token-0001")
    transport = Transport(BASE, token, registry=registry, session=pooled_session())
    first = transport.limiter(Bucket.STANDARD)
    assert first is not None and transport.limiter(Bucket.STANDARD) is first
    assert first is registry.limiter(token.fingerprint, "127.0.0.1:9", Bucket.STANDARD, 60)
    assert transport.limiter(Bucket.TRADING) is registry.limiter(
        token.fingerprint, "127.0.0.1:9", Bucket.TRADING, 60
    )
    unlimited = Transport(BASE, token, rate_limits=False, session=pooled_session())
    assert unlimited.limiter(Bucket.STANDARD) is None


def test_a_session_whose_request_path_was_replaced_is_asked_through_session_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def prepared() -> requests.Session:
        session = pooled_session()
        session.trust_env = False  # as the transport prepares it
        return session

    on_instance = prepared()
    on_instance.send = lambda *a, **k: None  # type: ignore[method-assign]
    assert not adds_nothing(on_instance)
    real = requests.Session.request

    def spy(self: requests.Session, *args: Any, **kwargs: Any) -> requests.Response:
        return real(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    assert not adds_nothing(prepared())  # even patched onto requests.Session itself
    monkeypatch.undo()
    assert adds_nothing(prepared())


def test_a_sync_reads_the_callers_environ_not_the_process_environment(
    tradier_emulator: TradierEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADIER_BASE_URL", raising=False)
    account = tradier_emulator.config.accounts[0]
    credentials = [AccountCredential(account.account_id, SecretToken(account.token))]
    environ = {"TRADIER_BASE_URL": tradier_emulator.base_url}
    (result,) = fetch_balances_many(credentials, environ=environ, retry=FAST_RETRY)
    assert result.ok, result.error
    assert tradier_emulator.request_count() == 1


def test_accounts_sharing_a_token_keep_it_when_one_stored_copy_cannot_be_read(
    tradier_emulator_factory: EmulatorFactory,
) -> None:
    accounts = [replace(a, token=SHARED) for a in make_accounts(3)]
    emulator = tradier_emulator_factory(EmulatorConfig(accounts=accounts))

    def unreadable() -> str:
        raise ValueError("cannot decrypt this copy")

    broken = SecretToken(unreadable, fingerprint=token_fingerprint(SHARED))
    for position in range(3):  # the unreadable copy first, in the middle, last
        tokens = [SecretToken(SHARED)] * 3
        tokens[position] = broken
        credentials = [AccountCredential(a.account_id, t) for a, t in zip(accounts, tokens, strict=True)]
        assert all(r.ok for r in sync(emulator, credentials)), position
        opened = decrypted_by_fingerprint(tokens)
        assert (
            list(opened) == [token_fingerprint(SHARED)]
            and opened[token_fingerprint(SHARED)].reveal() == SHARED
        )
    assert decrypted_by_fingerprint([broken]) == {token_fingerprint(SHARED): broken}  # fails where it is sent


class Redirecting(Recording):
    """Answers 302 with a Location no URL parser reads (a proxy's or a server's mistake)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)
        response.status_code = 302
        response.headers["Location"] = "http://[::1/v1/elsewhere"
        return response


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unreadable_redirect_is_a_typed_error_both_ways(method: str) -> None:
    """The plain way hands the 302 on (an HTTP error); ``Session.request`` chokes on its Location
    after the answer came: a typed error that says the request went out, never a bare ValueError."""

    def failure(session: requests.Session) -> Any:
        session.mount("http://127.0.0.1:9/", Redirecting())
        transport = Transport(BASE, SecretToken("PLANTED-token-9"), rate_limits=False, session=session)
        data = {"tag": "t"} if method == "POST" else None
        with pytest.raises(TradierError) as info:
            transport.request(method, "/accounts/VA1/orders", data=data, retry=False)
        return info.value

    fast, reference = failure(pooled_session()), failure(ThroughRequest())
    assert "HTTP 302" in str(fast)
    assert isinstance(reference, TradierConnectionError) and reference.maybe_sent is True
    assert f"{method} /accounts/VA1/orders" in str(reference) and "Invalid IPv6 URL" in str(reference)
    assert "PLANTED" not in str(fast) + str(reference)


def test_a_value_error_on_the_plain_way_is_not_taken_for_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ``Session.request`` reads an answer's redirect: on the plain way a ValueError is not one,
    so it is not dressed up as a request that may have been sent."""

    def refused(*args: Any, **kwargs: Any) -> requests.Response:
        raise ValueError("refused before sending")

    monkeypatch.setattr(transport_module, "send_plain", refused)
    transport = Transport(BASE, SecretToken("PLANTED-token-9"), rate_limits=False, session=pooled_session())
    with pytest.raises(ValueError, match="refused before sending"):
        transport.request("POST", "/accounts/VA1/orders", data={"tag": "t"}, retry=False)
