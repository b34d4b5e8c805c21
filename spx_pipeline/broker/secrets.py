"""A token holder that cannot leak by accident.

Access tokens travel from the encrypted credential store to the HTTP transport. Everything in
between (dataclasses, Dagster metadata, log records, exception messages) may call ``repr``/``str``
on whatever it holds, so the only way to get the clear value is an explicit ``reveal()``, and the
store may hand over a *callable* so decryption happens only when a request is actually made.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from typing import Final
from urllib.parse import quote, quote_plus

_REDACTED: Final = "***"
_CHAR_NAMES: Final = {" ": "space", "\t": "tab", "\n": "line feed", "\r": "carriage return"}


class SecretToken:
    """Opaque bearer token; ``reveal()`` is the only way to the clear text."""

    __slots__ = ("_fingerprint", "_source")

    def __init__(self, source: str | Callable[[], str], *, fingerprint: str | None = None) -> None:
        if isinstance(source, str):
            check_token_text(source)
            self._fingerprint = fingerprint or token_fingerprint(source)
        else:
            if fingerprint is None:
                raise ValueError("a lazily decrypted token needs its stored fingerprint")
            self._fingerprint = fingerprint
        self._source = source

    def reveal(self) -> str:
        """The clear token, for the Authorization header only."""
        value = self._source() if callable(self._source) else self._source
        check_token_text(value)
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


def check_token_text(token: str) -> None:
    """Refuse a token that cannot travel intact in an ``Authorization`` header.

    A pasted or file-read token often ends in a line break. Sent as is, requests refuses the header
    with an ``InvalidHeader`` that quotes it (escaped, so plain redaction misses it); non-ASCII
    characters fail later inside http.client with the whole header in the exception. Refusing them
    here keeps both failures from ever happening. The message names the kind of character and its
    1-based position, never the token.
    """
    if not isinstance(token, str):
        raise ValueError(f"access token must be text, got {type(token).__name__}")
    if not token.strip():
        raise ValueError("access token is empty")
    for position, char in enumerate(token, start=1):
        if char.isspace():
            kind = "whitespace"
        elif not char.isprintable():
            kind = "non-printable"
        elif not char.isascii():
            raise ValueError(
                f"access token has a non-ASCII character at position {position} of {len(token)}; "
                "Tradier tokens are plain ASCII (check for a pasted smart quote or similar)"
            )
        else:
            continue
        name = _CHAR_NAMES.get(char) or unicodedata.name(char, "control character").lower()
        raise ValueError(
            f"access token has a {kind} character (U+{ord(char):04X}, {name}) at position {position} "
            f"of {len(token)}; paste the token without spaces or line breaks"
        )


def secret_spellings(secret: str) -> tuple[str, ...]:
    """Every form in which a library may quote ``secret``: as is, repr-escaped, percent-encoded.

    requests quotes bad header values through ``repr`` (a line feed shows as backslash-n) and URL
    errors show the percent-encoded form, so redacting only the clear text would miss them. Longest
    first, so a shorter spelling never breaks up a longer one before it is replaced.
    """
    if not secret:
        return ()
    forms = {secret, repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret, safe="")}
    return tuple(sorted(forms, key=len, reverse=True))


def token_fingerprint(token: str) -> str:
    """First 12 hex digits of sha256: enough to tell tokens apart, useless to an attacker."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def redact(text: str, *secrets: str) -> str:
    """Replace every occurrence of the given clear values in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text
