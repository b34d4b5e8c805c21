"""Response documents rendered the way Tradier puts them on the wire (JSON or XML).

Tradier's JSON is a translation of XML, hence the quirks reproduced here: a one-element
collection collapses to the bare element, an empty one becomes the *string* ``"null"``, and
money carries long decimal tails (``17798.360000000000000000000000``) that float parsing would
silently round. ``Decimal`` values are therefore written verbatim as JSON numbers, which the
stdlib encoder cannot do. Clients that omit ``Accept: application/json`` get XML, like the real
API, so the same document also renders as (minimal, valid) XML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, localcontext
from typing import Any
from xml.sax.saxutils import escape

LONG_TAIL = Decimal("1E-24")

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def long_money(value: Decimal | int | float | str) -> Decimal:
    """Money as Tradier serialises some balance fields: 24 decimal digits."""
    with localcontext(Context(prec=60)):
        return Decimal(str(value)).quantize(LONG_TAIL)


def collection(items: Sequence[Any]) -> Any:
    """The XML-heritage collapse: [] → "null", [x] → x, otherwise the list."""
    if not items:
        return "null"
    if len(items) == 1:
        return items[0]
    return list(items)


class _NeedsExactPath(Exception):
    """The C encoder met a value it cannot write exactly (Decimal); use the pure-Python writer."""


def _refuse(value: Any) -> Any:
    raise _NeedsExactPath


def to_json(document: Any) -> bytes:
    """Compact JSON. Documents without Decimals (chains, quotes) take the C encoder: 10x faster."""
    try:
        text = json.dumps(
            document, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_refuse
        )
    except (_NeedsExactPath, ValueError):
        parts: list[str] = []
        _json(document, parts)
        text = "".join(parts)
    return text.encode("utf-8")


def _json(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, Decimal):
        out.append(_decimal_text(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(repr(value) if math.isfinite(value) else "null")
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(str(key)))
            out.append(":")
            _json(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot render {type(value).__name__} value {value!r} as JSON")


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        return "null"
    # Positional notation only: JSON allows exponents, but Tradier never sends them.
    return format(value, "f")


def to_xml(document: Mapping[str, Any]) -> bytes:
    """``{"a": {"b": [1, 2]}}`` → ``<a><b>1</b><b>2</b></a>`` with an XML declaration."""
    parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
    if len(document) != 1:
        _xml_element("response", document, parts)
    else:
        ((root, body),) = document.items()
        _xml_element(str(root), body, parts)
    return "".join(parts).encode("utf-8")


def _xml_element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _xml_element(name, item, out)
        return
    if isinstance(value, Mapping):
        out.append(f"<{name}>")
        for key, item in value.items():
            _xml_element(str(key), item, out)
        out.append(f"</{name}>")
        return
    if value is None or value == "null":
        out.append(f"<{name}/>")
        return
    out.append(f"<{name}>{escape(_xml_text(value))}</{name}>")


def _xml_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)
