"""A hostile broker's echo of the ``Authorization`` header, in every spelling the redactor claims.

Below both the fault configuration (which checks the names) and the injector (which applies them).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _alternating(text: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


def _bare(header: str) -> str:
    return header.partition(" ")[2]


# How a hostile broker may echo the ``Authorization`` header it received: the spellings the
# client's redactor claims to cover, each by name (``FaultConfig.echo_authorization``).
ECHO_SPELLINGS: Final[Mapping[str, Callable[[str], str]]] = {
    "exact": lambda h: h,
    "upper": str.upper,
    "lower": str.lower,
    "mixed": _alternating,
    "bare": _bare,
    "bare_upper": lambda h: _bare(h).upper(),
    "url": lambda h: quote(h, safe=""),
    "url_upper": lambda h: quote(h.upper(), safe=""),
    "base64": _b64,
    "base64_upper": lambda h: _b64(h.upper()),
    "base64_lower": lambda h: _b64(h.lower()),
    "base64_bare": lambda h: _b64(_bare(h)),
    "hex": lambda h: h.encode("utf-8").hex(),
}


def echo_into(document: Any, header: str, spellings: tuple[str, ...]) -> Any:
    """``document`` with ``echoed_authorization`` in each object it holds at the top (a copy).

    Inside the member objects (``{"balances": {...}}``), so the echo reaches what clients store.
    """
    echo = {name: ECHO_SPELLINGS[name](header) for name in spellings}
    if not isinstance(document, dict):
        return document
    out = {key: ({**value, "echoed_authorization": echo} if isinstance(value, dict) else value)
           for key, value in document.items()}  # fmt: skip
    out["echoed_authorization"] = echo
    return out
