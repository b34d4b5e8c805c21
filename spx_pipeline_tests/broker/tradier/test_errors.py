"""Status/body → typed error mapping on canned responses (cases the emulator does not produce)."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from urllib.parse import urlencode

import pytest
import requests
from requests.adapters import BaseAdapter

from spx_pipeline.broker.tradier import (
    NO_RETRY,
    AmbiguousOrderError,
    RateLimiterRegistry,
    RetryPolicy,
    TradierAuthError,
    TradierBadRequestError,
    TradierClient,
    TradierError,
    TradierMalformedResponseError,
    TradierNotFoundError,
    TradierOrderRejectedError,
    TradierRateLimitError,
    TradierServerError,
)
from spx_pipeline_tests.fixtures.orders import order_form

BASE = "https://sandbox.tradier.com/v1"  # allowed host; the canned adapter answers, nothing leaves
TOKEN = "canned-token-5d6e7f8091a2"


class CannedAdapter(BaseAdapter):
    """Answers every request with the next canned (status, body, headers), recording what was sent."""

    def __init__(self, replies: list[tuple[int, str, Mapping[str, str]]]) -> None:
        super().__init__()
        self.replies = list(replies)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.sent.append(request)
        status, body, headers = self.replies.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = body.encode()
        response.headers.update({"Content-Type": "application/json", **headers})
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        """Nothing pooled."""


def canned(*replies: tuple[int, str] | tuple[int, str, Mapping[str, str]], retry: RetryPolicy = NO_RETRY):
    adapter = CannedAdapter([(r[0], r[1], r[2] if len(r) > 2 else {}) for r in replies])  # type: ignore[misc]
    session = requests.Session()
    client = TradierClient(
        TOKEN,
        base_url=BASE,
        session=session,
        retry=retry,
        registry=RateLimiterRegistry(),
        sleep=lambda s: None,
    )
    session.mount("https://sandbox.tradier.com/", adapter)  # longest prefix wins over the client's own
    return client, adapter


@pytest.mark.parametrize(
    ("status", "body", "error_type", "text"),
    [
        (
            400,
            '{"errors": {"error": "Invalid parameter, ^TNX: symbol not found."}}',
            TradierBadRequestError,
            "^TNX",
        ),
        (400, "Quota Violation", TradierRateLimitError, "Quota Violation"),
        (401, "Invalid Access Token", TradierAuthError, "Invalid Access Token"),
        (404, "", TradierNotFoundError, "not found"),
        (502, "<html>Bad Gateway</html>", TradierServerError, "Bad Gateway"),
        (418, "teapot", TradierError, "teapot"),
    ],
)
def test_status_mapping(status: int, body: str, error_type: type[TradierError], text: str) -> None:
    client, _ = canned((status, body))
    with pytest.raises(error_type) as info:
        client.get_clock()
    assert type(info.value) is error_type
    assert info.value.status == status and info.value.method == "GET" and info.value.path == "/markets/clock"
    assert text in str(info.value)


def test_request_shape_accept_auth_and_form_encoding() -> None:
    client, adapter = canned((200, '{"order": {"id": 1, "status": "ok"}}'))
    client.place_order("VA1", order_form())
    sent = adapter.sent[0]
    assert sent.method == "POST" and sent.url == f"{BASE}/accounts/VA1/orders"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.body == urlencode(order_form())  # the checked form, in Tradier's key order


def test_modify_sends_only_changes_with_put() -> None:
    client, adapter = canned((200, '{"order": {"id": 5, "status": "ok"}}'))
    client.modify_order("VA1", 5, price="2.10")
    assert adapter.sent[0].method == "PUT" and adapter.sent[0].body == "price=2.10"


def test_errors_in_200_on_reads_and_writes() -> None:
    client, _ = canned((200, '{"errors": {"error": ["first", "second"]}}'))
    with pytest.raises(TradierOrderRejectedError, match="first; second") as info:
        client.cancel_order("VA1", 3)
    assert info.value.errors == ("first", "second")
    client, _ = canned((200, '{"errors": {"error": "Invalid parameter"}}'))
    with pytest.raises(TradierBadRequestError, match="Invalid parameter"):
        client.get_balances("VA1")


def test_xml_and_non_object_bodies_are_malformed() -> None:
    client, _ = canned((200, "<clock/>", {"Content-Type": "application/xml"}))
    with pytest.raises(TradierMalformedResponseError, match="XML"):
        client.get_clock()
    client, _ = canned((200, "[1, 2]"))
    with pytest.raises(TradierMalformedResponseError, match="list"):
        client.get_clock()


def test_token_echoed_by_server_is_redacted() -> None:
    client, _ = canned((400, f'{{"errors": {{"error": "bad token {TOKEN}"}}}}'))
    with pytest.raises(TradierBadRequestError) as info:
        client.get_clock()
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert "***" in str(info.value)


def test_401_and_400_are_never_retried() -> None:
    retry = RetryPolicy(max_attempts=5, backoff_base=0, backoff_max=0, max_total_sleep=0)
    for status in (400, 401):
        client, adapter = canned((status, "no"), (200, "{}"), retry=retry)
        with pytest.raises(TradierError):
            client.get_clock()
        assert len(adapter.sent) == 1


def test_5xx_on_tagged_post_is_ambiguous() -> None:
    client, adapter = canned((500, "Internal"), (200, '{"orders": "null"}'))
    with pytest.raises(AmbiguousOrderError) as info:
        client.place_order("VA1", order_form(tag="t-1"))
    assert info.value.status == 500 and len(adapter.sent) == 1
    assert "find_orders_by_tag" in str(info.value)


def test_errors_pickle_with_their_fields() -> None:
    error = AmbiguousOrderError("m", tag="t", account_id="VA1", status=500, method="POST", path="/x")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.tag, copy.account_id, copy.status, str(copy)) == ("t", "VA1", 500, str(error))
    limited = pickle.loads(pickle.dumps(TradierRateLimitError("slow", reset_at=5.0, status=429)))
    assert limited.reset_at == 5.0 and limited.status == 429
