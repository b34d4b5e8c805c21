"""HTTP transport: one pooled ``requests.Session``, timeouts, retries, pacing, redacted logging.

Why an explicit retry loop instead of urllib3's ``Retry``: the loop must (1) sleep until Tradier's
``X-Ratelimit-Expiry`` (epoch ms) on a 429 rather than a blind backoff, and tell the shared limiter
so sibling threads stop too; (2) bound *total* sleep as well as attempts, so a sync job's worst case
is known; (3) keep the last response body to raise a typed error carrying Tradier's message
(``Retry`` surfaces ``MaxRetryError`` and drops it); and (4) tell "never sent" (connect failure) from
"maybe sent" (read timeout, reset, 5xx) for order writes, which must never be retried blindly. The
adapter itself is mounted with ``max_retries=0`` so nothing retries behind this loop's back.

The clear token exists only inside ``_send`` as a header value built from ``SecretToken.reveal()``;
it is never stored on the transport, logged (the Authorization header is logged as ``Bearer ***``),
or quoted in an exception (texts from requests/urllib3 pass through ``redact``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from spx_pipeline.broker.secrets import Redactor, SecretToken, redact, secret_spellings
from spx_pipeline.broker.tradier import errors, normalize
from spx_pipeline.broker.tradier.ratelimit import (
    DEFAULT_REGISTRY,
    Bucket,
    FixedWindowLimiter,
    RateLimiterRegistry,
    RateLimitHeaders,
    RateLimitWaitTooLong,
    bucket_for,
    limits_for_host,
)
from spx_pipeline.clock import wall_epoch

log = logging.getLogger("spx_pipeline.broker.tradier")

DEFAULT_TIMEOUT: Final = (3.05, 15.0)
_QUOTA_MARKERS: Final = ("quota violation", "rate limit", "too many requests")
# Raised while requests prepares the request, before any byte is sent (all are also ValueErrors).
_UNSENDABLE: Final = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)

Kind = Literal["read", "order"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff for idempotent reads.

    ``max_attempts`` counts the first try; ``max_total_sleep`` caps the seconds spent sleeping across
    retries of one call (a retry whose sleep would exceed it is not made).
    """

    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_total_sleep: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_total_sleep < 0:
            raise ValueError("backoff_base, backoff_max and max_total_sleep must be >= 0")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Equal jitter: half the exponential step fixed, half random (no thundering herd)."""
        step = min(self.backoff_max, self.backoff_base * (2 ** (retry_number - 1)))
        return step / 2 + rng.uniform(0, step / 2)


NO_RETRY: Final = RetryPolicy(max_attempts=1)


class Transport:
    """Sends requests for one token to one base URL; shared limiter per (token, host, bucket)."""

    def __init__(
        self,
        base_url: str,
        token: SecretToken,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_maxsize: int = 10,
        rate_limits: Mapping[Bucket, int] | bool | None = True,
        registry: RateLimiterRegistry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = wall_epoch,
        trust_env: bool = False,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = (urlsplit(self.base_url).netloc or "").lower()
        self._token = token
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        # Other tokens the caller holds (a sync's other accounts): their spellings are redacted
        # from every body and message too, on top of this transport's own token.
        self.redactor: Redactor | None = None
        self._registry = registry if registry is not None else DEFAULT_REGISTRY
        if rate_limits is True:
            self._limits: Mapping[Bucket, int] | None = limits_for_host(
                urlsplit(self.base_url).hostname or ""
            )
        elif rate_limits is False or rate_limits is None:
            self._limits = None
        else:
            self._limits = rate_limits
        self.session = session or requests.Session()
        # Proxies/.netrc from the environment could reroute or replace our Authorization header.
        self.session.trust_env = trust_env
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_maxsize), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "spx-pipeline-tradier/0.1"})

    @property
    def fingerprint(self) -> str:
        return self._token.fingerprint

    def limiter(self, bucket: Bucket) -> FixedWindowLimiter | None:
        if self._limits is None:
            return None
        return self._registry.limiter(self._token.fingerprint, self.host, bucket, self._limits[bucket])

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token={self._token!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        kind: Kind = "read",
        retry: bool | None = None,
    ) -> Any:
        """Send, retrying only when ``retry`` (default: GET) says the call is idempotent.

        Returns the parsed JSON body (Decimals for non-integers). Raises a ``TradierError`` subclass;
        for non-retried writes, timeout/connection errors carry ``maybe_sent`` so the caller can
        tell an ambiguous order from one that never left.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        may_retry = (method == "GET") if retry is None else retry
        policy = self.retry if may_retry else NO_RETRY
        limiter = self.limiter(bucket_for(method, path))
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                try:
                    # Never wait on the pacer longer than this call may still sleep: a window left
                    # exhausted (by an earlier 429, maybe of another run) fails fast instead.
                    limiter.acquire(max_wait=max(0.0, policy.max_total_sleep - slept))
                except RateLimitWaitTooLong as exc:
                    error = errors.TradierRateLimitError(
                        f"not sent: the token's {bucket_for(method, path)} rate-limit window is exhausted "
                        f"for another {exc.wait:.1f}s",
                        reset_at=exc.until,
                        method=method,
                        path=path,
                    )
                    error.maybe_sent = False
                    raise error from None
            try:
                response = self._send(method, path, params, data, attempt)
                error = self._error_for_status(method, path, response, kind)
            except errors.TradierError as exc:
                error = exc
                response = None
            if error is None:
                assert response is not None
                return self._parse_ok(method, path, response, kind)
            retryable = isinstance(
                error,
                errors.TradierServerError
                | errors.TradierRateLimitError
                | errors.TradierTimeoutError
                | errors.TradierConnectionError,
            )
            if not retryable or attempt >= policy.max_attempts:
                raise error
            delay = policy.backoff(attempt, self._rng)
            if isinstance(error, errors.TradierRateLimitError) and error.reset_at is not None:
                delay = max(delay, error.reset_at - self._clock())
            if slept + delay > policy.max_total_sleep:
                log.warning(
                    "giving up %s %s after %d attempt(s): next wait %.2fs exceeds retry sleep budget %.2fs",
                    method,
                    path,
                    attempt,
                    delay,
                    policy.max_total_sleep,
                )
                raise error
            log.warning(
                "retrying %s %s after %s (attempt %d/%d, sleeping %.2fs)",
                method,
                path,
                type(error).__name__,
                attempt,
                policy.max_attempts,
                delay,
            )
            self._sleep(delay)
            slept += delay

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        attempt: int,
    ) -> requests.Response:
        url = self.base_url + path
        log.debug(
            "tradier request %s %s params=%s form_keys=%s attempt=%d headers=%s",
            method,
            path,
            dict(params or {}),
            sorted(data or {}),
            attempt,
            {**dict(self.session.headers), "Authorization": "Bearer ***"},
        )
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers={"Authorization": f"Bearer {self._token.reveal()}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except _UNSENDABLE as exc:
            raise self._transport_error(
                errors.TradierRequestError, method, path, exc, maybe_sent=False
            ) from None
        except requests.Timeout as exc:
            sent = not isinstance(exc, requests.ConnectTimeout)
            raise self._transport_error(
                errors.TradierTimeoutError, method, path, exc, maybe_sent=sent
            ) from None
        except requests.ConnectionError as exc:
            raise self._transport_error(
                errors.TradierConnectionError, method, path, exc, maybe_sent=_maybe_sent(exc)
            ) from None
        except requests.RequestException as exc:
            raise self._transport_error(
                errors.TradierConnectionError, method, path, exc, maybe_sent=True
            ) from None
        hints = RateLimitHeaders.from_headers(response.headers)
        if hints is not None:
            limiter = self.limiter(bucket_for(method, path))
            if limiter is not None:
                limiter.observe(hints)
        log.debug(
            "tradier response %s %s -> %d in %.3fs (ratelimit available=%s expiry=%s)",
            method,
            path,
            response.status_code,
            time.perf_counter() - started,
            hints.available if hints else None,
            hints.expiry if hints else None,
        )
        return response

    def _transport_error(
        self,
        cls: type[errors.TradierTimeoutError]
        | type[errors.TradierConnectionError]
        | type[errors.TradierRequestError],
        method: str,
        path: str,
        exc: BaseException,
        *,
        maybe_sent: bool,
    ) -> errors.TradierError:
        detail = self._redact(f"{type(exc).__name__}: {exc}")
        error = cls(detail, method=method, path=path)
        error.maybe_sent = maybe_sent
        return error

    def _redact(self, text: str) -> str:
        """Every spelling of this transport's token (and of the caller's other tokens) replaced.

        Applied to whole bodies before anything parses, stores or shortens them: a token cut in
        half by a truncation is no longer a spelling any redaction can find.
        """
        with contextlib.suppress(ValueError):  # a token that cannot be revealed was never sent
            text = redact(text, *secret_spellings(self._token.reveal()))
        return self.redactor(text) if self.redactor is not None else text

    def _error_for_status(
        self, method: str, path: str, response: requests.Response, kind: Kind
    ) -> errors.TradierError | None:
        status = response.status_code
        if 200 <= status < 300:
            return None
        message = self._body_message(response)
        common: dict[str, Any] = {"status": status, "method": method, "path": path}
        if status == 429 or _is_quota(message):
            hints = RateLimitHeaders.from_headers(response.headers)
            reset_at = hints.expiry if hints else None
            limiter = self.limiter(bucket_for(method, path))
            if limiter is not None and reset_at is not None:
                limiter.exhausted_until(reset_at)
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

    def _body_message(self, response: requests.Response) -> str:
        text = self._redact(response.text or "")
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

    def _parse_ok(self, method: str, path: str, response: requests.Response, kind: Kind) -> Any:
        where = f"{method} {path}"
        content_type = response.headers.get("Content-Type", "")
        # Redacted before parsing: the parsed body becomes the stored ``raw`` JSON.
        text = self._redact(response.text)
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
                self._redact(exc.message), status=response.status_code, method=method, path=path
            ) from None
        messages = normalize.error_messages(body)
        if messages:
            message = self._redact("; ".join(messages))
            common: dict[str, Any] = {"status": response.status_code, "method": method, "path": path}
            if _is_quota(message):
                raise errors.TradierRateLimitError(message, **common)
            if kind == "order":
                raise errors.TradierOrderRejectedError(
                    message, errors=[self._redact(e) for e in messages], **common
                )
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


def _maybe_sent(exc: requests.ConnectionError) -> bool:
    """False only when the failure provably happened before the request left (connect phase)."""
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, NewConnectionError | ConnectTimeoutError)
