"""What every placement refuses before any request, and the record of what a run did.

The per-trade plan (what to place, wait for, skip, or leave at the broker) is the trade
lifecycle's (``domain.trades.planning``); this module keeps the run-level rules: the live host
needs both the flag and a live credential, and every refusal is one line for the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class PlacementRefused(ValueError):
    """A placement run that must not send anything; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class PlacementRecord:
    """One planned order's fate in one placement run (``order_placements``)."""

    ticket_id: str
    account_id: str
    leg: str
    tag: str
    action: str  # the plan's decision: place, wait, skip, already_at_broker
    # placed | rejected | ambiguous | void | lost | would_place | waiting | skipped | already_at_broker
    status: str
    broker_order_id: int | None
    message: str
    at: datetime
    trade_id: str = ""


def check_environment(*, live_host: bool, allow_live: bool, live_credential: bool) -> None:
    """Live placement needs both the TRADIER_ALLOW_LIVE flag and a credential marked live."""
    if live_host and not (allow_live and live_credential):
        missing = [
            name
            for name, ok in (("TRADIER_ALLOW_LIVE=true", allow_live), ("a live credential", live_credential))
            if not ok
        ]
        raise PlacementRefused(f"placement on the live host needs {' and '.join(missing)}; nothing was sent")
