"""The session side of the transport: one pooled ``requests.Session`` and how a request goes through it.

A sync's clients share one session (one pool of connections to the host); the token travels per
request. ``send_plain`` sends through the session's adapter without ``Session.request``: for a
session that adds nothing to a request (``adds_nothing``), the merging that method does per
request (cookies, auth, params, hooks, the environment) cost more client CPU than the adapter's
own work, and Tradier's API needs none of it (a cookie kept from one token's answer must not even
travel with another token's request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import requests
from requests.adapters import HTTPAdapter

_SESSION_HEADERS: Final = {"Accept": "application/json", "User-Agent": "spx-pipeline-tradier/0.1"}


def pooled_session(pool_maxsize: int = 10) -> requests.Session:
    """A ``requests.Session`` for Tradier: one pool of ``pool_maxsize`` connections per host.

    urllib3 never retries behind the transport's loop (``max_retries=0``); ``prepare_session`` sets
    the rest. Clients of one sync share one such session, so connections are reused across tokens.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_maxsize), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def prepare_session(session: requests.Session, *, trust_env: bool) -> None:
    """The transport's headers, and the environment off unless asked (``trust_env``)."""
    # Proxies/.netrc from the environment could reroute or replace our Authorization header.
    session.trust_env = trust_env
    for name, value in _SESSION_HEADERS.items():
        if session.headers.get(name) != value:  # a shared session is left alone once prepared
            session.headers[name] = value


# requests' own methods as imported: a session whose class or instance replaced one (a caller's
# subclass, a test's spy, even one patched onto ``requests.Session`` itself) is sent through them.
_OWN_METHODS: Final = {
    name: getattr(requests.Session, name)
    for name in ("request", "send", "prepare_request", "get_adapter", "merge_environment_settings")
}


def adds_nothing(session: requests.Session) -> bool:
    """Whether ``Session.request`` would add nothing to what ``send_plain`` sends.

    So for the transport's own sessions (``pooled_session``): no environment, cookies, auth,
    session params or hooks, and none of the methods a request goes through replaced (a subclass
    forcing a CA bundle or proxies through ``merge_environment_settings`` keeps it).
    """
    own, kind = vars(session), type(session)
    return (
        all(getattr(kind, name) is method and name not in own for name, method in _OWN_METHODS.items())
        and not session.trust_env
        and session.auth is None
        and not session.params
        and not session.cookies
        and not any(session.hooks.values())
    )


def send_plain(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None,
    data: Mapping[str, str] | None,
    authorization: Mapping[str, str],
    timeout: tuple[float, float],
) -> requests.Response:
    """What ``session.request(..., allow_redirects=False)`` sends and returns, through its adapter.

    The request is prepared from the same parts (the session's headers, then the token's) and
    sent by the same adapter and connection pool, which raise the same exceptions.
    """
    request = requests.PreparedRequest()
    request.prepare_method(method)
    request.prepare_url(url, params)
    headers = {name: value for name, value in session.headers.items() if value is not None}
    request.prepare_headers({**headers, **authorization})
    request.prepare_body(data, None)
    adapter = session.get_adapter(url)
    response = adapter.send(
        request,
        stream=False,
        timeout=timeout,
        verify=session.verify,
        cert=session.cert,
        proxies=session.proxies,
    )
    response.content  # noqa: B018 - read the body now, as Session.send does unless streaming
    return response
