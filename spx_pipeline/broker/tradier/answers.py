"""What an answer from Tradier means: a typed error for a status, or the body of a success.

Tradier reports failures three ways: an HTTP status with a JSON ``errors`` object, a plain-text or
``fault`` body from its gateway, and an ``errors`` object inside an HTTP 200 (a refused order, a
quota). Each becomes one ``TradierError`` subclass carrying Tradier's own message, redacted before
anything reads it; a 200 without errors becomes the parsed JSON object (Decimals for money).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import requests

from spx_pipeline.broker.tradier import errors, normalize
from spx_pipeline.broker.tradier.ratelimit import RateLimitHeaders

Kind = Literal["read", "order"]
Redact = Callable[[str], str]

_QUOTA_MARKERS: Final = ("quota violation", "rate limit", "too many requests")


def error_for_status(
    response: requests.Response, *, method: str, path: str, redact: Redact
) -> errors.TradierError | None:
    """The typed error for a non-2xx answer, or None for a success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    message = _body_message(response, redact)
    common: dict[str, Any] = {"status": status, "method": method, "path": path}
    if status == 429 or _is_quota(message):
        hints = RateLimitHeaders.from_headers(response.headers)
        reset_at = hints.expiry if hints else None
        return errors.TradierRateLimitError(message or "rate limit exceeded", reset_at=reset_at, **common)
    if status == 401:
        return errors.TradierAuthError(
            message or "unauthorized: wrong token, or a sandbox token on the live host (or vice versa)",
            **common,
        )
    if status == 400:
        return errors.TradierBadRequestError(message or "bad request", **common)
    if status == 404:
        return errors.TradierNotFoundError(message or "not found", **common)
    if status >= 500:
        error = errors.TradierServerError(message or "server error", **common)
        error.maybe_sent = True
        return error
    return errors.TradierError(message or f"unexpected HTTP {status}", **common)


def _body_message(response: requests.Response, redact: Redact) -> str:
    text = redact(response.text or "")
    try:
        body = normalize.loads(text) if text.strip() else None
    except errors.TradierMalformedResponseError:
        body = None
    messages = normalize.error_messages(body) if body is not None else None
    if messages:
        return "; ".join(messages)
    if isinstance(body, Mapping) and isinstance(body.get("fault"), Mapping):
        return str(body["fault"].get("faultstring", body["fault"]))
    return " ".join(text.split())[:200]


def read_body(response: requests.Response, *, method: str, path: str, kind: Kind, redact: Redact) -> Any:
    """The JSON object of a 2xx answer; errors inside it (Tradier's HTTP 200 refusals) raise."""
    where = f"{method} {path}"
    content_type = response.headers.get("Content-Type", "")
    # Redacted before parsing: the parsed body becomes the stored ``raw`` JSON.
    text = redact(response.text)
    if "xml" in content_type.lower():
        raise errors.TradierMalformedResponseError(
            "got XML instead of JSON (Accept header lost?)",
            status=response.status_code,
            method=method,
            path=path,
        )
    try:
        body = normalize.loads(text, where="response body")
    except errors.TradierMalformedResponseError as exc:
        raise errors.TradierMalformedResponseError(
            redact(exc.message), status=response.status_code, method=method, path=path
        ) from None
    messages = normalize.error_messages(body)
    if messages:
        message = redact("; ".join(messages))
        common: dict[str, Any] = {"status": response.status_code, "method": method, "path": path}
        if _is_quota(message):
            raise errors.TradierRateLimitError(message, **common)
        if kind == "order":
            raise errors.TradierOrderRejectedError(message, errors=[redact(e) for e in messages], **common)
        raise errors.TradierBadRequestError(message, **common)
    if not isinstance(body, Mapping):
        raise errors.TradierMalformedResponseError(
            f"{where} returned {type(body).__name__}, expected a JSON object",
            status=response.status_code,
            method=method,
            path=path,
        )
    return body


def _is_quota(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _QUOTA_MARKERS)
