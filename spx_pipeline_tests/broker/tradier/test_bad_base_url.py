"""A TRADIER_BASE_URL the host guard refuses: each account's failure is the guard's own reason.

One line naming the setting and the value (a password shown as ``***``), never
``unexpected failure: ValueError``, and nothing sent anywhere (a session that refuses to send
stands in for the network, so no request can leave even if the guard were wrong).
"""

from __future__ import annotations

import pytest
import requests

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import AccountCredential, fetch_balances_many

BAD_URLS = [
    ("ftp://x/v1", "TRADIER_BASE_URL='ftp://x/v1' is not an http(s) URL"),
    ("http://10.0.0.1/v1", "TRADIER_BASE_URL='http://10.0.0.1/v1': host '10.0.0.1' is not allowed"),
    ("not a url", "TRADIER_BASE_URL='not a url' is not an http(s) URL"),
    ("http://127.0.0.1:99999/v1", "TRADIER_BASE_URL='http://127.0.0.1:99999/v1' has an invalid port"),
    ("http://u:p@127.0.0.1/v1", "TRADIER_BASE_URL='http://***@127.0.0.1/v1' must not carry a user name"),
]


class _NeverSends(requests.Session):
    def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        raise AssertionError("a refused base URL must never reach the network")


@pytest.mark.parametrize(("url", "reason"), BAD_URLS, ids=[u for u, _ in BAD_URLS])
def test_each_account_fails_with_the_guards_reason_in_one_line(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADIER_BASE_URL", url)
    monkeypatch.delenv("TRADIER_ALLOW_PRIVATE_NETWORK", raising=False)
    credentials = [AccountCredential(f"VA0000000{i}", SecretToken(f"tok-{i}-secret")) for i in (1, 2)]
    results = fetch_balances_many(credentials, session=_NeverSends(), max_workers=2)
    assert [r.account_id for r in results] == ["VA00000001", "VA00000002"]
    for result in results:
        message = str(result.error)
        assert reason in message, message
        assert "\n" not in message and "unexpected failure" not in message
        assert "tok-" not in message and ":p@" not in message
