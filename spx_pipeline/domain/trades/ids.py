"""Deterministic names: a trade's id and tag from (session, account, setup), an order's tag from its leg.

No fingerprint and no price goes into them: a later sync or re-sizing of the same account and setup
in the same session names the same trade, which is what makes a second entry impossible. Tags use
only letters, digits and '-' (Tradier rejects anything else) and stay far below its 255 characters.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from json.encoder import encode_basestring_ascii as _json_string

from spx_pipeline.domain.trades.records import Leg

_SUFFIX = {Leg.ENTRY: "entry", Leg.T1: "t1", Leg.RUNNER_STOP: "stop"}


def _day_texts(session: date) -> tuple[str, str]:
    """(``20261124``, the session's JSON string): a day's thousands of trades share them, and
    ``strftime`` alone cost more than the rest of naming a trade. Only a plain ``date`` is looked
    up: equal aware datetimes of two zones spell two days."""
    if type(session) is date:
        return _date_texts(session)
    return f"{session:%Y%m%d}", _json_string(session.isoformat())


@functools.lru_cache(maxsize=64)
def _date_texts(session: date) -> tuple[str, str]:
    return f"{session:%Y%m%d}", _json_string(session.isoformat())


@functools.lru_cache(maxsize=1 << 15)  # a trade's id and tag hash the same key: once
def _digest(session: date, account_id: str, setup_id: str) -> str:
    # JSON, not text joining: ids may hold '-', '_' or '.', and no separator is unambiguous. Spelled
    # as ``json.dumps([...])`` spells a list of strings (its encoder, its ", "), without its machinery.
    key = f"[{_day_texts(session)[1]}, {_json_string(account_id)}, {_json_string(setup_id)}]"
    return hashlib.sha256(key.encode()).hexdigest()


@functools.lru_cache(maxsize=1 << 15)  # planning names each trade twice (its key, then its plan)
def trade_id(session: date, account_id: str, setup_id: str) -> str:
    """``T20261124-<12 hex>``: one per account x setup x session."""
    return f"T{_day_texts(session)[0]}-{_digest(session, account_id, setup_id)[:12]}"


@functools.lru_cache(maxsize=1 << 15)
def trade_tag(session: date, account_id: str, setup_id: str) -> str:
    """The base every order tag of the trade starts with (``spx-20261124-<16 hex>``)."""
    return f"spx-{_day_texts(session)[0]}-{_digest(session, account_id, setup_id)[:16]}"


def order_tag(base: str, leg: Leg, seq: int) -> str:
    """``{base}-entry``, ``-t1``, ``-stop`` for the first order of a leg, then ``-t1-2``, ``-stop-2``..."""
    if seq < 1:
        raise ValueError(f"seq must be >= 1, got {seq}")
    suffix = _SUFFIX[Leg(leg)]
    return f"{base}-{suffix}" if seq == 1 else f"{base}-{suffix}-{seq}"


def ticket_id(tag: str, leg: str) -> str:
    """The ``order_tickets`` id of a leg (stable for the trade's first order of each leg)."""
    return hashlib.sha256(f"{tag}|{leg}".encode()).hexdigest()[:20]


def base_of(tag: str) -> str | None:
    """The trade tag an order tag was made from, or None for a tag that is not one of ours."""
    head, _, last = tag.rpartition("-")
    if last.isdigit() and int(last) > 1:  # ``-stop-2``: the sequence, then the leg
        head, _, last = head.rpartition("-")
    if not head.startswith("spx-") or last not in _SUFFIX.values():
        return None
    return head
