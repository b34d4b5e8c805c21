"""Claims: an order's unique tag is committed in the app database before anything is sent.

Whoever inserts the ``trade_orders`` row owns the tag; a second run, Dagster instance or host that
tries the same tag gets a unique-key violation and sends nothing. An entry's claim also freezes
its trade (planned -> entry_working, compare-and-set on the version) in the same transaction, and
a trade's exits are claimed together or not at all, so another reader sees all of them or none.
The sender moves its claim to ``sending`` right before the POST (only if it is still its own
``claimed`` row), and records the outcome after; a claim a dead run left behind is settled by the
next run's tag lookup (``settle``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from spx_pipeline.domain.trades import BrokerFacts, LocalStatus, OrderIntent, Trade, TradeOrder, TradeState
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trade_orders, trades
from spx_pipeline.storage.app.trade_rows import facts_values, order_values, trade_values
from spx_pipeline.storage.app.trades import write_event


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim: the orders now owned by this run, or why nothing is."""

    orders: tuple[TradeOrder, ...]
    lost: str | None = None

    @property
    def ok(self) -> bool:
        return self.lost is None


def claim_entry(
    db: AppDatabase, trade: Trade, intent: OrderIntent, *, session: date, run_id: str, now: datetime
) -> Claim:
    """Freeze a planned trade and own its entry's tag, in one transaction, or nothing at all."""
    order = intent.claimed(session=session, run_id=run_id, now=now)
    frozen = dataclasses.replace(
        trade, state=TradeState.ENTRY_WORKING, version=trade.version + 1, entry_sent_at=now, updated_at=now
    )
    try:
        with db.engine.begin() as conn:
            result = conn.execute(
                sa.update(trades)
                .where(
                    trades.c.trade_id == trade.trade_id,
                    trades.c.version == trade.version,
                    trades.c.state == str(TradeState.PLANNED),
                    trades.c.blocked_reason.is_(None),
                )
                .values(**{k: v for k, v in trade_values(frozen).items() if k != "trade_id"})
            )
            if result.rowcount != 1:
                raise _Lost(
                    "the trade changed after this run planned it (claimed or re-planned by another run)"
                )
            conn.execute(sa.insert(trade_orders), [order_values(order)])
            write_event(
                conn,
                frozen,
                TradeState.PLANNED,
                f"entry {order.tag} claimed by run {run_id}",
                now,
                run_id=run_id,
            )
    except _Lost as lost:
        return Claim((), str(lost))
    except sa.exc.IntegrityError:
        return Claim((), f"tag {order.tag} is already claimed by another run")
    return Claim((order,))


def claim_exits(
    db: AppDatabase, intents: Sequence[OrderIntent], *, session: date, run_id: str, now: datetime
) -> Claim:
    """Own every tag of one trade's new exits together, or none of them."""
    orders = tuple(i.claimed(session=session, run_id=run_id, now=now) for i in intents)
    if not orders:
        return Claim(())
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(trade_orders), [order_values(o) for o in orders])
    except sa.exc.IntegrityError:
        tags = ", ".join(o.tag for o in orders)
        return Claim((), f"another run claimed {tags} (or an exit of the same sequence) first")
    return Claim(orders)


class _Lost(Exception):
    pass


def mark_sending(db: AppDatabase, order: TradeOrder, *, now: datetime) -> bool:
    """Our claim is still ours and unsent: move it to ``sending`` (the last step before the POST)."""
    with db.engine.begin() as conn:
        result = conn.execute(
            sa.update(trade_orders)
            .where(
                trade_orders.c.tag == order.tag,
                trade_orders.c.local_status == str(LocalStatus.CLAIMED),
                trade_orders.c.run_id == order.run_id,
            )
            .values(local_status=str(LocalStatus.SENDING), updated_at=now, version=trade_orders.c.version + 1)
        )
    return result.rowcount == 1


def record_outcome(
    db: AppDatabase,
    tag: str,
    status: LocalStatus,
    *,
    now: datetime,
    message: str,
    order_id: int | None = None,
) -> None:
    """What the POST (or the settlement of a stale claim) ended in."""
    values: dict[str, object] = {
        "local_status": str(status), "message": message[:500], "updated_at": now,
        "version": trade_orders.c.version + 1,
    }  # fmt: skip
    if order_id is not None:
        values["broker_order_id"] = str(order_id)
    with db.engine.begin() as conn:
        conn.execute(sa.update(trade_orders).where(trade_orders.c.tag == tag).values(**values))


def record_facts(
    db: AppDatabase, order: TradeOrder, facts: BrokerFacts, order_id: int | None, *, now: datetime
) -> TradeOrder:
    """Store what the broker reports for one of our orders (it wins over what we believed).

    A report that says nothing new is not written: the order keeps the time its facts were first
    reported (the lifecycle orders exits by it) and its version (the warehouse copies each one).
    """
    if order.broker is not None and _same(order.broker, facts):
        facts = dataclasses.replace(facts, reported_at=order.broker.reported_at)
    updated = order.with_broker(facts, order_id)
    if updated == order:
        return order
    values = {**facts_values(facts), "local_status": str(updated.local_status), "updated_at": now}
    if updated.broker_order_id is not None:
        values["broker_order_id"] = str(updated.broker_order_id)
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(trade_orders)
            .where(trade_orders.c.tag == order.tag)
            .values(**values, version=trade_orders.c.version + 1)
        )
    return dataclasses.replace(updated, updated_at=now, version=order.version + 1)


def settle_void(db: AppDatabase, order: TradeOrder, *, reason: str, now: datetime) -> bool:
    """Give up a stale claim the broker does not know (only if nobody settled or sent it since)."""
    with db.engine.begin() as conn:
        result = conn.execute(
            sa.update(trade_orders)
            .where(trade_orders.c.tag == order.tag, trade_orders.c.local_status == str(order.local_status))
            .values(
                local_status=str(LocalStatus.VOID),
                message=reason[:500],
                updated_at=now,
                version=trade_orders.c.version + 1,
            )
        )
    return result.rowcount == 1


def _same(before: BrokerFacts, after: BrokerFacts) -> bool:
    """The same report but for when it was read."""
    return dataclasses.replace(after, reported_at=before.reported_at) == before
