"""A token holder that cannot leak by accident.

Access tokens travel from the encrypted credential store to the HTTP transport. Everything in
between (dataclasses, Dagster metadata, log records, exception messages) may call ``repr``/``str``
on whatever it holds, so the only way to get the clear value is an explicit ``reveal()``, and the
store may hand over a *callable* so decryption happens only when a request is actually made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final

_REDACTED: Final = "***"


class SecretToken:
    """Opaque bearer token; ``reveal()`` is the only way to the clear text."""

    __slots__ = ("_fingerprint", "_source")

    def __init__(self, source: str | Callable[[], str], *, fingerprint: str | None = None) -> None:
        if isinstance(source, str):
            if not source.strip():
                raise ValueError("access token is empty")
            self._fingerprint = fingerprint or token_fingerprint(source)
        else:
            if fingerprint is None:
                raise ValueError("a lazily decrypted token needs its stored fingerprint")
            self._fingerprint = fingerprint
        self._source = source

    def reveal(self) -> str:
        """The clear token, for the Authorization header only."""
        value = self._source() if callable(self._source) else self._source
        if not value or not value.strip():
            raise ValueError("access token is empty")
        return value

    @property
    def fingerprint(self) -> str:
        """Short, non-reversible id for logs and listings (sha256 prefix)."""
        return self._fingerprint

    def __repr__(self) -> str:
        return f"SecretToken(fp={self._fingerprint})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretToken) and other._fingerprint == self._fingerprint

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __reduce__(self) -> object:
        # Pickling would carry the clear value (or the decryptor) into run storage.
        raise TypeError("SecretToken cannot be pickled")


def token_fingerprint(token: str) -> str:
    """First 12 hex digits of sha256: enough to tell tokens apart, useless to an attacker."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def redact(text: str, *secrets: str) -> str:
    """Replace every occurrence of the given clear values in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text
