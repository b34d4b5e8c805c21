"""A token holder that cannot leak by accident.

Access tokens travel from the encrypted credential store to the HTTP transport. Everything in
between (dataclasses, Dagster metadata, log records, exception messages) may call ``repr``/``str``
on whatever it holds, so the only way to get the clear value is an explicit ``reveal()``, and the
store may hand over a *callable* so decryption happens only when a request is actually made.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import quote, quote_plus

import ahocorasick

_REDACTED: Final = "***"
# Tradier tokens are a few dozen characters; HTTP servers refuse headers of several kilobytes
# (431), so anything this long is a pasted file, not a token.
MAX_TOKEN_LENGTH: Final = 1024
_CHAR_NAMES: Final = {" ": "space", "\t": "tab", "\n": "line feed", "\r": "carriage return"}
# Printable ASCII but the space (U+0021..U+007E): what real tokens are made of, and exactly what
# ``check_token_text``'s character loop lets through; matched in C before that loop is needed.
_PLAIN_TOKEN: Final = re.compile(r"[!-~]+")
# Characters that no quoting or escaping below changes (``quote``'s always-safe set): a text of
# these alone is its own repr, JSON, HTML and percent-encoded spelling.
_UNESCAPED: Final = re.compile(r"[A-Za-z0-9_.~-]*")


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

    def decrypted(self) -> SecretToken:
        """This token with its clear text read once, now, for a run that sends it many times.

        A stored token decrypts at every ``reveal()``: a sync would decrypt each token for its
        redactor and again for each request. The copy holds the clear text as a token made from a
        string does (same fingerprint, never shown nor pickled) and lives as long as the run holds
        it. A token that cannot be revealed now is returned as it is, to fail where it is sent.
        """
        if isinstance(self._source, str):
            return self
        try:
            clear = self.reveal()
        except Exception:
            return self
        return SecretToken(clear, fingerprint=self._fingerprint)

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


def decrypted_by_fingerprint(tokens: Iterable[SecretToken]) -> dict[str, SecretToken]:
    """Each distinct token of a run decrypted once (``SecretToken.decrypted``), by fingerprint.

    Accounts behind one token share it: their stored copies are tried in order until one decrypts,
    so one unreadable copy does not take the token from the accounts whose copies read.
    """
    opened: dict[str, SecretToken] = {}
    for token in tokens:
        held = opened.get(token.fingerprint)
        if held is not None and isinstance(held._source, str):
            continue
        clear = token.decrypted()
        if held is None or isinstance(clear._source, str):
            opened[token.fingerprint] = clear
    return opened


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
    if len(token) <= MAX_TOKEN_LENGTH and _PLAIN_TOKEN.fullmatch(token):
        return
    if not token.strip():
        raise ValueError("access token is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(
            f"access token is {len(token)} characters long, over the {MAX_TOKEN_LENGTH} a broker token "
            "can be; check that the right file or value was passed"
        )
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
    """Every form in which a library or a broker body may quote ``secret``.

    requests quotes bad header values through ``repr`` (a line feed shows as backslash-n), URL
    errors show the percent-encoded form (upper or lower hex), JSON escapes ``/`` and quotes, HTML
    escapes ``&``, and an echoed ``Authorization`` header may come back base64- or hex-encoded. The
    base64 forms are the part of the encoding that depends on the token alone, at each of the three
    byte alignments it can start at inside a longer encoded text. A broker may also change the case
    of what it echoes (``auth.upper()``): the ``Redactor`` matches every spelling whatever its case,
    and since case changes the bytes under an encoding, the encoded forms of the upper- and
    lower-case token are spellings too. Longest first, so a shorter spelling never breaks up a
    longer one before it is replaced.
    """
    if not secret:
        return ()
    forms: set[str] = set()
    for variant in dict.fromkeys((secret, secret.upper(), secret.lower())):
        forms.update(_spellings_of(variant))
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def _spellings_of(secret: str) -> set[str]:
    """``secret_spellings`` of one exact text (no case variants)."""
    raw = secret.encode("utf-8")
    forms = {secret, raw.hex(), raw.hex().upper()}
    if not _UNESCAPED.fullmatch(secret):  # else every escaped form below is the secret itself
        forms.update(
            {
                repr(secret)[1:-1],
                json.dumps(secret)[1:-1],
                json.dumps(secret)[1:-1].replace("/", "\\/"),
                html.escape(secret),
                html.escape(secret, quote=False),
            }
        )
        for encoded in (quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)):
            forms.update({encoded, _lower_hex_escapes(encoded)})
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw).decode("ascii")
            start = (0, 2, 3)[pad]  # characters that still mix in the padding bytes
            usable = (len(raw) + pad) // 3 * 4  # complete groups only: the next byte is unknown
            fragment = text[start:usable]
            if len(fragment) >= _MIN_ENCODED:
                forms.add(fragment)
    return forms


_MIN_ENCODED: Final = 8
# ASCII letters folded to lower case, one character for one: spans found in the folded text are
# the spans of the original (str.lower() may change a text's length, e.g. for U+0130).
_FOLD: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_case(text: str) -> str:
    """``text`` with ASCII letters in lower case and its length kept (how the redactor compares).

    An ASCII text (every broker body and token spelling so far) is that with ``str.lower``, in C.
    """
    return text.lower() if text.isascii() else text.translate(_FOLD)


def _lower_hex_escapes(text: str) -> str:
    out = []
    index = 0
    while index < len(text):
        if text[index] == "%" and index + 2 < len(text):
            out.append(text[index : index + 3].lower())
            index += 3
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


class Redactor:
    """Replaces every spelling of every token a run holds, whatever its case, in one pass over the text.

    A sync holds one token per account, and a broker body answering one of them may echo any of
    them; replacing each spelling of each token in turn costs tokens x spellings passes per body,
    so the spellings go into one Aho-Corasick automaton (pyahocorasick) and each text is scanned
    once. Spellings and text are compared case-folded (``fold_case``): a broker echoing the header
    upper-cased (``BEARER TOK...``) or in any mixed case is redacted like the exact echo. Folding
    only widens what is replaced, so it can hide a look-alike, never reveal a token. The automaton
    is the only place the clear spellings live; it is never pickled or shown.
    """

    __slots__ = ("_automaton", "_fingerprints", "_size")

    def __init__(self, tokens: Iterable[SecretToken | str]) -> None:
        automaton = ahocorasick.Automaton()
        size = 0
        self._fingerprints: set[str] = set()
        for token in tokens:
            try:
                clear = token.reveal() if isinstance(token, SecretToken) else token
            except Exception:  # a token that cannot be revealed is never sent either
                continue
            self._fingerprints.add(token_fingerprint(clear))
            for spelling in dict.fromkeys(fold_case(form) for form in secret_spellings(clear)):
                if automaton.add_word(spelling, len(spelling)):
                    size += 1
        if size:
            automaton.make_automaton()
        self._automaton = automaton
        self._size = size

    def covers(self, fingerprint: str) -> bool:
        """Whether the token with this fingerprint is among the ones this redactor replaces."""
        return fingerprint in self._fingerprints

    def __call__(self, text: str) -> str:
        if not self._size or not text:
            return text
        spans: list[tuple[int, int]] = []
        for end, length in self._automaton.iter(fold_case(text)):
            spans.append((end + 1 - length, end + 1))
        if not spans:
            return text
        spans.sort()
        merged: list[list[int]] = []
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        out: list[str] = []
        cursor = 0
        for start, stop in merged:
            out.append(text[cursor:start])
            out.append(_REDACTED)
            cursor = stop
        out.append(text[cursor:])
        return "".join(out)

    def __repr__(self) -> str:
        return f"Redactor({self._size} spellings)"

    def __reduce__(self) -> object:
        raise TypeError("Redactor cannot be pickled")


def token_fingerprint(token: str) -> str:
    """First 12 hex digits of sha256: enough to tell tokens apart, useless to an attacker."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def redact(text: str, *secrets: str) -> str:
    """Replace every occurrence of the given clear values in ``text`` (callers pass spellings)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text
