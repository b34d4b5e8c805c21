"""What every request shares: the parsed call a handler reads, the reply it returns, its route.

Handlers live in ``endpoints/`` by area and join ``ROUTES`` where they are defined
(``@ROUTES.add("GET", r"^/v1/...$")``); this module holds only the vocabulary they share and the
table they join, so that no handler module imports another. Importing ``endpoints`` fills the table.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from spx_pipeline.emulator.config import EmulatedAccount

if TYPE_CHECKING:
    from spx_pipeline.emulator.core import EmulatorCore


@dataclass(slots=True)
class Reply:
    status: int
    document: Any = None  # rendered per Accept
    text: str | None = None  # plain-text body (auth errors, 5xx, 429)
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An endpoint refusal rendered as ``{"errors": {"error": message}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    accounts: list[EmulatedAccount]
    match: re.Match[str]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else default

    def fields(self) -> dict[str, str]:
        """Every parameter by name (the first value of each), form values over query values."""
        merged = {name: values[0] for name, values in self.query.items() if values}
        merged.update({name: values[0] for name, values in self.form.items() if values})
        return merged

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").strip().lower() == "true"


Handler = Callable[["EmulatorCore", Call], Any]
Route = tuple[str, re.Pattern[str], Handler]


class RouteTable:
    """The emulator's routes, joined by their handlers as the endpoint modules are imported."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator: ``method`` requests whose path matches ``pattern`` go to the handler."""

        def join(handler: Handler) -> Handler:
            if any(m == method and p.pattern == pattern for m, p, _ in self._routes):
                raise ValueError(f"{method} {pattern} already has a handler")
            self._routes.append((method, re.compile(pattern), handler))
            return handler

        return join

    def __iter__(self) -> Iterator[Route]:
        return iter(tuple(self._routes))

    def match(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | None:
        for route_method, pattern, handler in self._routes:
            if route_method == method:
                match = pattern.match(path)
                if match is not None:
                    return handler, match
        return None


ROUTES = RouteTable()


def error(status: int, message: str) -> Reply:
    return Reply(status, document={"errors": {"error": message}})


def required(call: Call, name: str) -> str:
    value = call.param(name)
    if value is None or not value.strip():
        raise ApiError(400, f"Missing required parameter: {name}")
    return value.strip()


def positive_decimal(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ApiError(400, f"{name} must be a number, got {raw!r}") from exc
    if not value.is_finite() or value <= 0:
        raise ApiError(400, f"{name} must be a positive number, got {raw!r}")
    return value


def token_fingerprint(token: str) -> str:
    """sha256[:12], the same fingerprint the broker layer logs (the emulator may not import it)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for anything else."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
