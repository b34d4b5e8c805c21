"""Typed failures of the Tradier client.

Callers decide what to do by exception type (retry later, re-authenticate, reconcile an order by
tag), so every failure mode the transport can tell apart gets its own class. Messages carry the HTTP
method, path and Tradier's own error text, never the access token: the transport builds them from
the path (no query string, no headers) and redacts the clear token from any text it quotes.
"""

from __future__ import annotations

from collections.abc import Sequence


class TradierError(Exception):
    """Base of every error raised by the Tradier client."""

    #: For writes: could the request have reached Tradier? (False = provably never sent.)
    maybe_sent: bool | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        status = f" -> HTTP {self.status}" if self.status is not None else ""
        prefix = f"{where}{status}: " if where or status else ""
        return f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"method={self.method!r}, path={self.path!r})"
        )

    def __reduce__(self) -> object:
        # Exceptions cross thread/process boundaries (Dagster, executors); keep keyword state.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[TradierError], state: dict[str, object]) -> TradierError:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, str(obj))
    return obj


class TradierAuthError(TradierError):
    """401: wrong token, or a sandbox token used against the live host (or vice versa). Never retried."""


class TradierBadRequestError(TradierError):
    """400 (or an ``errors`` body on a read): Tradier's reason is in ``message``. Never retried."""


class TradierNotFoundError(TradierError):
    """404: unknown account or order for this token."""


class TradierRateLimitError(TradierError):
    """429 or a 'quota violation' body: the token's per-minute bucket is exhausted."""

    def __init__(self, message: str, *, reset_at: float | None = None, **kwargs: object) -> None:
        self.reset_at = reset_at
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class TradierServerError(TradierError):
    """5xx: Tradier-side failure; reads are retried, writes are not."""


class TradierOrderRejectedError(TradierError):
    """HTTP 200 carrying an ``errors`` object on an order endpoint (risk check, buying power...)."""

    def __init__(self, message: str, *, errors: Sequence[str] = (), **kwargs: object) -> None:
        self.errors = tuple(errors)
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class TradierRequestError(TradierError):
    """requests refused to build the request (invalid header, URL or schema): nothing was sent.

    A configuration or programming error, not a network condition: retrying cannot help, and an
    order that raised it provably never left, so it is never reported as ambiguous.
    """

    maybe_sent = False


class TradierMalformedResponseError(TradierError):
    """Body is not JSON, or its shape is not what the endpoint returns (names the offending field)."""


class TradierTimeoutError(TradierError):
    """Connect or read timeout after the retry budget (reads) or at once (writes)."""


class TradierConnectionError(TradierError):
    """Connection refused/reset/DNS failure after the retry budget (reads) or at once (writes)."""


class LiveTradingNotAllowedError(TradierError):
    """The production host was configured without ``allow_live=True`` / ``TRADIER_ALLOW_LIVE=true``."""


class AmbiguousOrderError(TradierError):
    """An order write may or may not have reached Tradier (timeout, reset, 5xx after sending).

    Resending blindly can double a position, so the caller must first look the order up with
    ``TradierClient.find_orders_by_tag(account_id, tag)`` (or use ``place_order(...,
    reconcile_by_tag=True)``) and resend only when nothing carries the tag.
    """

    def __init__(self, message: str, *, tag: str | None, account_id: str, **kwargs: object) -> None:
        self.tag = tag
        self.account_id = account_id
        super().__init__(message, **kwargs)  # type: ignore[arg-type]

    def noting(self, note: str) -> AmbiguousOrderError:
        """The same ambiguity with what the reconciliation attempt found added to the message."""
        return AmbiguousOrderError(
            f"{self.message}; {note}",
            tag=self.tag,
            account_id=self.account_id,
            status=self.status,
            method=self.method,
            path=self.path,
        )
