"""HTTP transport: one pooled ``requests.Session``, timeouts, retries, pacing, redacted logging.

Why an explicit retry loop instead of urllib3's ``Retry``: the loop must (1) sleep until Tradier's
``X-Ratelimit-Expiry`` (epoch ms) on a 429 rather than a blind backoff, and tell the shared limiter
so sibling threads stop too; (2) bound *total* sleep as well as attempts, so a sync job's worst case
is known; (3) keep the last response body to raise a typed error carrying Tradier's message
(``Retry`` surfaces ``MaxRetryError`` and drops it); and (4) tell "never sent" (connect failure) from
"maybe sent" (read timeout, reset, 5xx) for order writes, which must never be retried blindly. The
adapter itself is mounted with ``max_retries=0`` so nothing retries behind this loop's back.

The clear token exists only inside ``_send`` as a header value built from ``SecretToken.reveal()``
(and as spellings inside a redaction automaton, ``secrets.Redactor``, which is never shown or
pickled); it is never an attribute of the transport, logged (the Authorization header is logged
as ``Bearer ***``), or quoted in an exception (texts from requests/urllib3 are redacted first).
What an answer means (status → typed error, errors inside a 200) is ``answers``.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.exceptions import InvalidHeader as AnswerHeaderError
from urllib3.util import Timeout

from spx_pipeline.broker.secrets import Redactor, SecretToken
from spx_pipeline.broker.tradier import errors
from spx_pipeline.broker.tradier.answers import Kind, error_for_status, read_body
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
from spx_pipeline.broker.tradier.sessions import adds_nothing, pooled_session, prepare_session, send_plain
from spx_pipeline.clock import wall_epoch

log = logging.getLogger("spx_pipeline.broker.tradier")

DEFAULT_TIMEOUT: Final = (3.05, 15.0)
# Raised while requests prepares the request, before any byte is sent (all are also ValueErrors).
_UNSENDABLE: Final = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)

# The backoff jitter of every transport that is given no generator of its own: seeding one per
# transport (a sync builds one per token) cost more than its requests' jitter ever draws. A forked
# child (a Celery pool process forks after importing the code location) seeds it anew, or every
# child would draw the same delays and retry in step: the herd the jitter exists to break up.
_JITTER: Final = random.Random()
os.register_at_fork(after_in_child=_JITTER.seed)


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


class TransportOptions(TypedDict, total=False):
    """The transport's knobs a ``TradierClient`` passes through as given.

    Stated once here so the client repeats neither the parameters nor their defaults: an unset
    one keeps ``Transport``'s own.
    """

    timeout: tuple[float, float]
    retry: RetryPolicy | None
    pool_maxsize: int
    rate_limits: Mapping[Bucket, int] | bool | None
    registry: RateLimiterRegistry | None
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    session: requests.Session | None


def _checked_timeout(timeout: tuple[float, float]) -> tuple[float, float]:
    """``(connect, read)`` seconds as urllib3 will take them, refused here in one line: refused
    later, by the adapter, it would be a ValueError in the middle of sending an order."""
    try:
        connect, read = timeout
        Timeout(connect=connect, read=read)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"timeout {timeout!r} is not (connect, read) seconds above 0: {exc}") from None
    return timeout


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
        parts = urlsplit(self.base_url)
        self.host = (parts.netloc or "").lower()
        self._token = token
        self.timeout = _checked_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or _JITTER
        # Other tokens the caller holds (a sync's other accounts): their spellings are redacted
        # from every body and message too, on top of this transport's own token.
        self.redactor: Redactor | None = None
        self._registry = registry if registry is not None else DEFAULT_REGISTRY
        self._limiters: dict[Bucket, FixedWindowLimiter] = {}
        if rate_limits is True:
            self._limits: Mapping[Bucket, int] | None = limits_for_host(parts.hostname or "")
        elif rate_limits is False or rate_limits is None:
            self._limits = None
        else:
            self._limits = rate_limits
        # A session passed in is shared (a sync's clients reuse one pool of connections to the host,
        # the token goes per request): prepared like an own one, but closed by its owner.
        self._owns_session = session is None
        self.session = pooled_session(pool_maxsize) if session is None else session
        prepare_session(self.session, trust_env=trust_env)
        self._own_redactor: Redactor | None = None

    @property
    def fingerprint(self) -> str:
        return self._token.fingerprint

    def limiter(self, bucket: Bucket) -> FixedWindowLimiter | None:
        """The registry's limiter of this token, host and bucket; kept, as the registry keeps it."""
        if self._limits is None:
            return None
        limiter = self._limiters.get(bucket)
        if limiter is None:
            limiter = self._registry.limiter(self._token.fingerprint, self.host, bucket, self._limits[bucket])
            self._limiters[bucket] = limiter
        return limiter

    def close(self) -> None:
        if self._owns_session:
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
                error = error_for_status(response, method=method, path=path, redact=self._redact)
            except errors.TradierError as exc:
                error = exc
                response = None
            if error is None:
                assert response is not None
                return read_body(response, method=method, path=path, kind=kind, redact=self._redact)
            answered = response is not None  # a Response is falsy for a 429: test it against None
            if isinstance(error, errors.TradierRateLimitError) and limiter and error.reset_at and answered:
                limiter.exhausted_until(error.reset_at)  # a 429: nothing more in this bucket before then
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
        debug = log.isEnabledFor(logging.DEBUG)  # the arguments cost more than the check
        if debug:
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
        session = self.session
        # A token that cannot go in a header raises its own ValueError here: nothing was sent.
        authorization = {"Authorization": f"Bearer {self._token.reveal()}"}
        plain = adds_nothing(session)
        try:
            if plain:
                response = send_plain(
                    session,
                    method,
                    url,
                    params=params,
                    data=data,
                    authorization=authorization,
                    timeout=self.timeout,
                )
            else:
                response = session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=authorization,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
        except _UNSENDABLE as exc:
            if exc.args and isinstance(exc.args[0], AnswerHeaderError):
                # urllib3 refused a header of the *answer* (e.g. Content-Length with two values);
                # requests names it like a header of ours it refused to send. This one was sent.
                raise self._transport_error(
                    errors.TradierConnectionError, method, path, exc, maybe_sent=True
                ) from None
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
        except ValueError as exc:
            if plain:
                raise
            # ``Session.request`` parses a redirect's Location even with allow_redirects=False, after
            # the answer came: one it cannot parse raises a bare ValueError. The request was sent.
            # (The timeout, the other ValueError requests raises before sending, is checked when the
            # transport is made.)
            raise self._transport_error(
                errors.TradierConnectionError, method, path, exc, maybe_sent=True
            ) from None
        hints = RateLimitHeaders.from_headers(response.headers)
        if hints is not None:
            limiter = self.limiter(bucket_for(method, path))
            if limiter is not None:
                limiter.observe(hints)
        if debug:
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
        shared = self.redactor
        if shared is not None and shared.covers(self._token.fingerprint):
            return shared(text)
        if self._own_redactor is None:  # one automaton of the token's spellings, built once
            self._own_redactor = Redactor([self._token])  # a token that cannot be revealed: none
        text = self._own_redactor(text)
        return shared(text) if shared is not None else text


def _maybe_sent(exc: requests.ConnectionError) -> bool:
    """False only when the failure provably happened before the request left (connect phase)."""
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, NewConnectionError | ConnectTimeoutError)
