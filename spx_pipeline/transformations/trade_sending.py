"""Sending a trade's orders: claim in the app database, then POST, then record what happened.

The claim comes first and is the only permission to send: a run that loses it (another run, Dagster
instance or host owns the tag) sends nothing. Right before the POST the claim moves to ``sending``
(only if it is still this run's unsent claim); the POST is never retried, an unanswered one is
looked up by its tag, and anything the lookup cannot settle stays ``ambiguous`` for the next run's
tag lookup. ``checkpoint`` lets tests stop a run between any two of these steps, as a kill would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from spx_pipeline.broker.tradier import (
    AmbiguousOrderError,
    TradierBadRequestError,
    TradierClient,
    TradierError,
    TradierOrderRejectedError,
)
from spx_pipeline.domain.trades import LocalStatus, OrderIntent, Trade, TradeOrder
from spx_pipeline.domain.trades.records import Leg
from spx_pipeline.storage.app.claims import claim_entry, claim_exits, mark_sending, record_outcome
from spx_pipeline.storage.app.trades import TradeStore

Checkpoint = Callable[[str, str], None]  # (step, tag): raise to stop the run there


def step_hook(step: str, tag: str) -> None:
    """Called between the steps of every send (``claimed``, ``sending``, ``posted``); a no-op.

    Tests replace it to stop a run at one of those points, as a kill would.
    """
    return None


def _no_checkpoint(step: str, tag: str) -> None:
    step_hook(step, tag)  # looked up at call time, so a test's replacement takes effect


def _no_record(sent: Sent) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one intent: ``placed``, ``rejected``, ``ambiguous``, ``void`` or ``lost``."""

    intent: OrderIntent
    status: str
    """One of the outcomes above, or ``sending``: the trace recorded right before the POST."""
    message: str
    """The broker's answer or ours, cut to the 500 characters the claim row keeps."""
    broker_order_id: int | None = None
    """The broker's id for the order, once it accepted it or a lookup by tag found it."""
    at: datetime | None = None


def send_trade_orders(
    store: TradeStore,
    client: TradierClient,
    trade: Trade,
    intents: Sequence[OrderIntent],
    *,
    session: object,
    run_id: str,
    now: Callable[[], datetime],
    checkpoint: Checkpoint = _no_checkpoint,
    record: Callable[[Sent], None] = _no_record,
) -> list[Sent]:
    """Claim and send one trade's intents (an entry alone, or its new exits together).

    ``record`` sees each order twice, committed as it happens: ``sending`` before the POST and its
    outcome after, so a run killed in between leaves its trace in the run's own records too.
    """
    if not intents:
        return []
    entry = [i for i in intents if i.leg == Leg.ENTRY]
    at = now()
    if entry:
        claim = claim_entry(store.db, trade, entry[0], session=session, run_id=run_id, now=at)  # type: ignore[arg-type]
    else:
        claim = claim_exits(store.db, intents, session=session, run_id=run_id, now=at)  # type: ignore[arg-type]
    if not claim.ok:
        return [Sent(i, "lost", claim.lost or "claimed by another run", at=at) for i in intents]
    results = []
    for intent, order in zip(intents, claim.orders, strict=True):
        checkpoint("claimed", order.tag)
        record(Sent(intent, "sending", "claimed; about to be sent", at=now()))
        outcome = _send_one(store, client, intent, order, now=now, checkpoint=checkpoint)
        record(outcome)
        results.append(outcome)
    return results


def _send_one(
    store: TradeStore,
    client: TradierClient,
    intent: OrderIntent,
    order: TradeOrder,
    *,
    now: Callable[[], datetime],
    checkpoint: Checkpoint,
) -> Sent:
    if not mark_sending(store.db, order, now=now()):
        return Sent(
            intent, "lost", f"claim on {order.tag} was settled by another run before the POST", at=now()
        )
    checkpoint("sending", order.tag)
    form = json.loads(order.payload_json)
    try:
        result = client.place_order(order.account_id, form, reconcile_by_tag=True)
    except AmbiguousOrderError as exc:
        return _record(store, intent, LocalStatus.AMBIGUOUS, "ambiguous", message=exc.message, at=now())
    except (TradierOrderRejectedError, TradierBadRequestError) as exc:
        return _record(store, intent, LocalStatus.REJECTED, "rejected", message=exc.message, at=now())
    except TradierError as exc:
        status = LocalStatus.VOID if exc.maybe_sent is False else LocalStatus.AMBIGUOUS
        return _record(
            store, intent, status, str(status), message=f"{type(exc).__name__}: {exc.message}", at=now()
        )
    checkpoint("posted", order.tag)
    order_id = getattr(result, "id", None)
    note = "found by tag after an unanswered POST" if getattr(result, "reconciled", False) else "accepted"
    return _record(store, intent, LocalStatus.SENT, "placed", message=note, at=now(), order_id=order_id)


def _record(
    store: TradeStore,
    intent: OrderIntent,
    status: LocalStatus,
    outcome: str,
    *,
    message: str,
    at: datetime,
    order_id: int | None = None,
) -> Sent:
    record_outcome(store.db, intent.tag, status, now=at, message=message, order_id=order_id)
    return Sent(intent, outcome, message[:500], order_id, at)
