"""Retries and their limits, write safety, header-driven pacing, counted on the emulator's log."""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import quote, quote_plus

import pytest
import requests

from spx_pipeline.broker.tradier import (
    NO_RETRY,
    AmbiguousOrderError,
    OrderResult,
    RateLimiterRegistry,
    RetryPolicy,
    TradierBadRequestError,
    TradierClient,
    TradierConnectionError,
    TradierMalformedResponseError,
    TradierOrderRejectedError,
    TradierRateLimitError,
    TradierRequestError,
    TradierServerError,
    TradierTimeoutError,
)
from spx_pipeline.broker.tradier import transport as transport_module
from spx_pipeline.clock import wall_epoch
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, demo_accounts
from spx_pipeline.emulator.ratelimit import RateLimiter
from spx_pipeline_tests.fixtures.orders import order_form
from spx_pipeline_tests.fixtures.tradier import EmulatorFactory

MARGIN = "VA00000001"
TOKEN = "demo-margin-token-0001"


def make_client(emu: TradierEmulator, *, retry: RetryPolicy | None = None, **kwargs: object) -> TradierClient:
    return TradierClient(
        TOKEN,
        base_url=emu.base_url,
        retry=retry or RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05, max_total_sleep=1.0),
        registry=RateLimiterRegistry(),
        timeout=kwargs.pop("timeout", (2.0, 5.0)),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def order_payload(client: TradierClient, tag: str | None = None) -> dict[str, str]:
    expiration = client.get_option_expirations("SPX")[0]
    symbol = client.get_option_chain("SPX", expiration, greeks=False)[0]["symbol"]
    payload = {
        "class": "option",
        "symbol": "SPX",
        "option_symbol": symbol,
        "side": "buy_to_open",
        "quantity": "1",
        "type": "limit",
        "duration": "day",
        "price": "0.50",
    }
    if tag:
        payload["tag"] = tag
    return payload


def test_get_retries_5xx_then_succeeds(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(fail_5xx=2, path_prefix="/accounts"))
    with make_client(tradier_emulator) as client:
        assert client.get_balances(MARGIN).account_number == MARGIN
    assert tradier_emulator.request_count("/accounts") == 3


def test_get_gives_up_after_max_attempts(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(fail_5xx=10, path_prefix="/accounts"))
    with make_client(tradier_emulator) as client, pytest.raises(TradierServerError) as info:
        client.get_balances(MARGIN)
    assert info.value.status == 503
    assert tradier_emulator.request_count("/accounts") == 3


def test_total_sleep_budget_caps_retries(tradier_emulator: TradierEmulator) -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=10, backoff_base=0.2, backoff_max=0.2, max_total_sleep=0.25)
    tradier_emulator.set_faults(FaultConfig(fail_5xx=10, path_prefix="/accounts"))
    with (
        make_client(tradier_emulator, retry=policy, sleep=sleeps.append) as client,
        pytest.raises(TradierServerError),
    ):
        client.get_balances(MARGIN)
    assert sum(sleeps) <= 0.25
    assert tradier_emulator.request_count("/accounts") == len(sleeps) + 1 < 10


def test_timeout_and_reset_are_retried_for_reads(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(
        FaultConfig(timeouts=1, timeout_seconds=1.5, resets=1, path_prefix="/accounts")
    )
    # A read timeout a healthy answer never reaches on a loaded machine, a stall well past it.
    with make_client(tradier_emulator, timeout=(2.0, 1.0)) as client:
        assert client.get_positions(MARGIN)
    tradier_emulator.wait_until_answered()  # the timed-out request is logged once its stall ends
    assert tradier_emulator.request_count("/accounts") == 3


def test_timeout_after_budget_is_typed(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(timeouts=5, timeout_seconds=0.4, path_prefix="/accounts"))
    client = make_client(tradier_emulator, retry=NO_RETRY, timeout=(1.0, 0.2))
    with client, pytest.raises(TradierTimeoutError, match="GET /accounts/VA00000001/balances"):
        client.get_balances(MARGIN)


def test_malformed_json_is_typed_and_not_retried(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(malformed=1, path_prefix="/accounts"))
    with (
        make_client(tradier_emulator) as client,
        pytest.raises(TradierMalformedResponseError, match="not JSON"),
    ):
        client.get_balances(MARGIN)
    assert tradier_emulator.request_count("/accounts") == 1


def test_order_post_is_never_retried_on_5xx(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator) as client:
        payload = order_payload(client)
        tradier_emulator.set_faults(FaultConfig(fail_5xx=3, path_prefix="/accounts"))
        with pytest.raises(TradierServerError):
            client.place_order(MARGIN, payload)
    assert tradier_emulator.request_count("/accounts", method="POST") == 1
    assert tradier_emulator.orders(MARGIN) == []


def test_tagged_post_timeout_is_ambiguous_and_really_placed(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator, timeout=(2.0, 1.0)) as client:
        payload = order_payload(client, tag="amb-1")
        tradier_emulator.set_faults(FaultConfig(timeouts=1, timeout_seconds=1.5, path_prefix="/accounts"))
        with pytest.raises(AmbiguousOrderError, match="find_orders_by_tag") as info:
            client.place_order(MARGIN, payload)
        assert info.value.tag == "amb-1" and info.value.account_id == MARGIN
        tradier_emulator.wait_until_answered()  # the server places it once its stall ends
        found = client.find_orders_by_tag(MARGIN, "amb-1")
        assert len(found) == 1  # the emulator placed it: resending would have doubled it
    assert tradier_emulator.request_count("/accounts", method="POST") == 1


def test_reconcile_by_tag_returns_existing_order(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator) as client:
        payload = order_payload(client, tag="rec-1")
        first = client.place_order(MARGIN, payload)
        assert isinstance(first, OrderResult)
        tradier_emulator.set_faults(FaultConfig(resets=1, path_prefix="/accounts"))
        again = client.place_order(MARGIN, payload, reconcile_by_tag=True)
    assert isinstance(again, OrderResult) and again.reconciled and again.id == first.id
    assert tradier_emulator.request_count("/accounts", method="POST") == 2
    assert len(tradier_emulator.orders(MARGIN)) == 1


def test_reconcile_without_match_still_raises(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator) as client:
        payload = order_payload(client, tag="rec-2")
        tradier_emulator.set_faults(FaultConfig(fail_5xx=1, path_prefix="/accounts"))
        with pytest.raises(AmbiguousOrderError, match="no order carries the tag"):
            client.place_order(MARGIN, payload, reconcile_by_tag=True)


def test_untagged_post_failure_keeps_its_type(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator) as client:
        payload = order_payload(client)
        tradier_emulator.set_faults(FaultConfig(resets=1, path_prefix="/accounts"))
        with pytest.raises(TradierConnectionError) as info:
            client.place_order(MARGIN, payload)
    assert info.value.maybe_sent is True


def test_connect_refused_is_not_ambiguous() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = TradierClient(
        TOKEN, base_url=f"http://127.0.0.1:{port}/v1", retry=NO_RETRY, registry=RateLimiterRegistry()
    )
    payload = order_form(tag="never-sent")
    with pytest.raises(TradierConnectionError) as info:
        client.place_order(MARGIN, payload)
    assert not isinstance(info.value, AmbiguousOrderError)
    assert info.value.maybe_sent is False


def test_429_waits_for_expiry_then_succeeds(tradier_emulator_factory: EmulatorFactory) -> None:
    emu = tradier_emulator_factory(EmulatorConfig(accounts=demo_accounts(), rate_limit_window_seconds=0.5))
    emu.set_faults(FaultConfig(burst_429=1, path_prefix="/accounts"))
    with make_client(emu) as client:
        assert client.get_balances(MARGIN).account_number == MARGIN
    statuses = [r.status for r in emu.request_log()]
    assert statuses == [429, 200]


def test_429_beyond_sleep_budget_raises_rate_limit(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(burst_429=1, path_prefix="/accounts"))
    with make_client(tradier_emulator) as client, pytest.raises(TradierRateLimitError) as info:
        client.get_balances(MARGIN)
    assert info.value.status == 429 and info.value.reset_at is not None
    assert tradier_emulator.request_count("/accounts") == 1


def test_a_429_leaves_the_window_exhausted_so_the_next_call_is_not_sent(
    tradier_emulator: TradierEmulator,
) -> None:
    """The answer that carried the 429 closes the bucket until its reset: nothing more is sent before then."""
    tradier_emulator.set_faults(FaultConfig(burst_429=1, path_prefix="/accounts"))
    with make_client(tradier_emulator) as client:
        with pytest.raises(TradierRateLimitError):
            client.get_balances(MARGIN)
        with pytest.raises(TradierRateLimitError, match="not sent") as info:
            client.get_balances(MARGIN)
    assert info.value.maybe_sent is False
    assert tradier_emulator.request_count("/accounts") == 1


def test_limiter_waits_on_headers_instead_of_hitting_429(tradier_emulator: TradierEmulator) -> None:
    """70 reads against the sandbox's 60 a window: the client waits for the window the headers name.

    Server and client share a clock that only the client's waits move, so however slow the machine,
    the first 60 reads fill one window and the client must wait for its Expiry, to the millisecond.
    The window starts 0.4 ms into a millisecond: an Expiry rounded down would wake the client early.
    """
    now = [int(wall_epoch()) + 0.0004]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    emu = tradier_emulator
    emu.limiter = RateLimiter(emu.config.rate_limits, 20.0, clock=lambda: now[0])
    generous = {"standard": 10_000, "market_data": 10_000, "trading": 10_000}
    client = TradierClient(
        TOKEN,
        base_url=emu.base_url,
        registry=RateLimiterRegistry(clock=lambda: now[0], sleep=sleep),
        rate_limits=generous,
        clock=lambda: now[0],
        sleep=sleep,
    )
    with client:
        for _ in range(70):
            client.get_balances(MARGIN)
        limiter = client.transport.limiter("standard")
    statuses = [r.status for r in emu.request_log()]
    assert statuses.count(429) == 0 and len(statuses) == 70
    assert limiter is not None and len(slept) == 1 and 19 < limiter.total_waited == slept[0] <= 20.001


def test_client_side_quota_paces_without_server_headers(tradier_emulator_factory: EmulatorFactory) -> None:
    emu = tradier_emulator_factory(EmulatorConfig(accounts=demo_accounts(), rate_limits_enabled=False))
    # The limiter's time stands still but for its own waits: however slow the machine, each window
    # holds exactly five requests.
    now = [wall_epoch()]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    registry = RateLimiterRegistry(window_seconds=0.2, clock=lambda: now[0], sleep=sleep)
    with TradierClient(
        TOKEN,
        base_url=emu.base_url,
        registry=registry,
        rate_limits={"standard": 5, "market_data": 5, "trading": 5},
    ) as client:
        for _ in range(12):
            client.get_balances(MARGIN)
    assert len(emu.request_log()) == 12
    assert slept == pytest.approx([0.2, 0.2])  # two window waits; the private registry, not the 60 s default


def test_limiter_shared_between_clients_with_same_token(tradier_emulator: TradierEmulator) -> None:
    a = TradierClient(TOKEN, base_url=tradier_emulator.base_url)
    b = TradierClient(TOKEN, base_url=tradier_emulator.base_url)
    other = TradierClient("demo-cash-token-0002", base_url=tradier_emulator.base_url)
    assert a.transport.limiter("standard") is b.transport.limiter("standard")
    assert a.transport.limiter("standard") is not other.transport.limiter("standard")
    assert a.transport.limiter("standard") is not a.transport.limiter("trading")
    for client in (a, b, other):
        client.close()


class _RefusingSession(requests.Session):
    """Raises what requests raises while preparing a request, counting how often it was asked."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.calls: list[str] = []

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        self.calls.append(method)
        raise self.error


ODD_TOKEN = r"PLANT/ed+tok\en=9"
_UNSENDABLE = [
    requests.exceptions.InvalidHeader(
        "Invalid leading whitespace, reserved character(s), or return character(s) in header value: "
        f"{('Bearer ' + ODD_TOKEN)!r}"
    ),
    requests.exceptions.InvalidURL(f"Invalid URL 'http://h/v1?t={quote(ODD_TOKEN, safe='')}'"),
    requests.exceptions.MissingSchema(f"Invalid URL '{quote_plus(ODD_TOKEN)}': No scheme supplied."),
    requests.exceptions.InvalidSchema("No connection adapters were found for 'ftp://h/v1'"),
]


@pytest.mark.parametrize("error", _UNSENDABLE, ids=lambda e: type(e).__name__)
def test_unsendable_get_is_typed_not_retried_and_redacted(error: Exception) -> None:
    session = _RefusingSession(error)
    sleeps: list[float] = []
    client = TradierClient(
        ODD_TOKEN,
        base_url="http://127.0.0.1:9/v1",
        rate_limits=False,
        retry=RetryPolicy(max_attempts=4, backoff_base=0.01),
        sleep=sleeps.append,
        session=session,
    )
    with pytest.raises(TradierRequestError) as info:
        client.get_balances(MARGIN)
    assert session.calls == ["GET"] and sleeps == []
    assert info.value.maybe_sent is False
    assert not isinstance(info.value, TradierConnectionError)
    text = str(info.value) + repr(info.value)
    for spelling in (ODD_TOKEN, repr(ODD_TOKEN)[1:-1], quote(ODD_TOKEN, safe=""), quote_plus(ODD_TOKEN)):
        assert spelling not in text


@pytest.mark.parametrize("error", _UNSENDABLE, ids=lambda e: type(e).__name__)
def test_unsendable_tagged_order_is_not_ambiguous(error: Exception) -> None:
    session = _RefusingSession(error)
    client = TradierClient(ODD_TOKEN, base_url="http://127.0.0.1:9/v1", rate_limits=False, session=session)
    payload = order_form(tag="t-1")
    with pytest.raises(TradierRequestError) as info:
        client.place_order(MARGIN, payload, reconcile_by_tag=True)
    assert not isinstance(info.value, AmbiguousOrderError)
    assert info.value.maybe_sent is False
    assert session.calls == ["POST"]  # no reconciliation lookup either: nothing was sent
    assert ODD_TOKEN not in str(info.value) and repr(ODD_TOKEN)[1:-1] not in str(info.value)


class _CannedSession(requests.Session):
    """Answers every request with one fixed HTTP 200 JSON body."""

    def __init__(self, body: str) -> None:
        super().__init__()
        self.body = body
        self.calls: list[str] = []

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        self.calls.append(method)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response._content = self.body.encode()
        return response


@pytest.mark.parametrize("errors", ['"null"', "null", "{}", '{"error": "null"}'])
def test_order_post_with_empty_errors_marker_is_accepted(errors: str) -> None:
    session = _CannedSession(f'{{"errors": {errors}, "order": {{"id": 42, "status": "ok"}}}}')
    client = TradierClient(TOKEN, base_url="http://127.0.0.1:9/v1", rate_limits=False, session=session)
    result = client.place_order(MARGIN, order_form(tag="t-1"))
    assert isinstance(result, OrderResult) and result.id == 42 and result.status == "ok"
    assert session.calls == ["POST"]


@pytest.mark.parametrize("errors", ['"null"', "null", "{}"])
def test_order_post_with_only_empty_errors_is_malformed_not_rejected(errors: str) -> None:
    session = _CannedSession(f'{{"errors": {errors}}}')
    client = TradierClient(TOKEN, base_url="http://127.0.0.1:9/v1", rate_limits=False, session=session)
    with pytest.raises(TradierMalformedResponseError, match="order is NoneType") as info:
        client.place_order(MARGIN, order_form())
    assert not isinstance(info.value, TradierOrderRejectedError)


def test_get_answered_400_is_sent_once(tradier_emulator: TradierEmulator) -> None:
    tradier_emulator.set_faults(FaultConfig(failing_accounts=frozenset({MARGIN}), failing_status=400))
    with make_client(tradier_emulator) as client, pytest.raises(TradierBadRequestError) as info:
        client.get_balances(MARGIN)
    assert info.value.status == 400
    assert tradier_emulator.request_count("/accounts", method="GET") == 1


def test_order_put_and_delete_are_never_retried_on_5xx(tradier_emulator: TradierEmulator) -> None:
    with make_client(tradier_emulator) as client:
        placed = client.place_order(MARGIN, order_payload(client))
        assert isinstance(placed, OrderResult) and placed.id is not None
        tradier_emulator.set_faults(FaultConfig(fail_5xx=3, path_prefix="/accounts"))
        with pytest.raises(TradierServerError) as put_error:
            client.modify_order(MARGIN, placed.id, price="0.55")
        assert tradier_emulator.request_count("/accounts", method="PUT") == 1
        with pytest.raises(TradierServerError) as delete_error:
            client.cancel_order(MARGIN, placed.id)
        assert tradier_emulator.request_count("/accounts", method="DELETE") == 1
    assert put_error.value.maybe_sent is True and delete_error.value.maybe_sent is True


def test_tagged_post_answered_with_an_unreadable_200_is_ambiguous_and_reconciles(
    tradier_emulator: TradierEmulator,
) -> None:
    with make_client(tradier_emulator) as client:
        payload = order_payload(client, tag="mal-1")
        tradier_emulator.set_faults(FaultConfig(malformed=1, path_prefix="/accounts"))
        with pytest.raises(AmbiguousOrderError, match="find_orders_by_tag"):
            client.place_order(MARGIN, payload)
        assert len(tradier_emulator.orders(MARGIN)) == 1  # Tradier did take it: a resend would double it
        tradier_emulator.set_faults(FaultConfig(malformed=1, path_prefix="/accounts"))
        again = client.place_order(MARGIN, {**payload, "tag": "mal-2"}, reconcile_by_tag=True)
    assert isinstance(again, OrderResult) and again.reconciled
    assert len(tradier_emulator.orders(MARGIN)) == 2
    assert tradier_emulator.request_count("/accounts", method="POST") == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (a Celery pool forks its processes)")
def test_forked_processes_draw_different_backoff_jitter() -> None:
    """Children forked after import (a Celery pool) must not retry in step with each other."""
    read_end, write_end = os.pipe()
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # the child: one draw of the shared generator, then out without cleanup
            os.write(write_end, f"{transport_module._JITTER.random()!r}\n".encode())
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(write_end)
    with os.fdopen(read_end) as lines:
        draws = lines.read().split()
    assert len(draws) == 2 and draws[0] != draws[1]


def _answering_once(raw: bytes) -> tuple[str, list[bytes]]:
    """A loopback server that reads one request, answers ``raw`` and closes: its base URL and what it read."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    seen: list[bytes] = []

    def answer() -> None:
        with server:
            server.settimeout(30)
            conn, _ = server.accept()
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(raw)

    threading.Thread(target=answer, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/v1", seen


def test_a_timeout_urllib3_refuses_is_refused_when_the_client_is_made() -> None:
    """requests' adapter would refuse it only while sending (a ValueError in the middle of an
    order); made with it, the client says so in one line, before any request exists."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for bad in ((0.0, 5.0), (-1, 5), (5,)):
        with pytest.raises(ValueError, match=r"^timeout .* is not \(connect, read\) seconds above 0: "):
            TradierClient(TOKEN, base_url=f"http://127.0.0.1:{port}/v1", retry=NO_RETRY, timeout=bad)


def test_an_answer_with_conflicting_content_lengths_leaves_the_order_ambiguous() -> None:
    """urllib3's InvalidHeader on the *answer* reaches us as requests.InvalidHeader, the name of a
    header of ours requests refused to send; this order left, so it is ambiguous, never void."""
    base, seen = _answering_once(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2, 3\r\n\r\n{}"
    )
    client = TradierClient(TOKEN, base_url=base, retry=NO_RETRY, registry=RateLimiterRegistry())
    with pytest.raises(Exception) as info:  # the type is what is checked below
        client.place_order(MARGIN, order_form(tag="answered"))
    assert seen and seen[0].startswith(b"POST /v1/accounts/")  # the order left
    assert isinstance(info.value, AmbiguousOrderError), repr(info.value)
