"""Trades in the app database: plans, reads, and the state changes the broker's reports cause.

The app database is the system of record for trades (the warehouse copies it). Every change to a
trade bumps its ``version`` with a compare-and-set, and writes exactly one ``trade_events`` row
whose ``seq`` is the new version, in the same transaction: two runs racing on one trade cannot
both move it, and the history has no gaps and no duplicates. Claims of orders live in
``trade_claims``.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from spx_pipeline.domain.trades import Trade, TradeEvent, TradeOrder, TradePlan, TradeState
from spx_pipeline.domain.trades.states import TERMINAL, check_transition
from spx_pipeline.storage.app.bulk import in_chunks, insert_columns, read_columns
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import trade_events, trade_orders, trades
from spx_pipeline.storage.app.trade_rows import (
    EVENT,
    TRADE,
    event_from_row,
    event_values,
    order_from_row,
    plan_values,
    trade_from_row,
    trade_values,
)

# A plan re-made by a later run is the same plan when all but the run that made it agree.
_plan_terms = operator.attrgetter(
    *(f.name for f in dataclasses.fields(TradePlan) if f.name != "recommendation_run_id")
)
_PLAN_ATTEMPTS = 3  # each lost race means another run committed a trade this one then reads
_trade_key = operator.attrgetter("trade_id")
_event_key = operator.attrgetter("trade_id", "seq")


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """What planning did to each trade: born, re-planned, unchanged, or kept because it is frozen."""

    trade: Trade
    outcome: str  # born | replanned | unchanged | frozen


@dataclass(frozen=True)
class TradeStore:
    """Reads and versioned writes of ``trades``, ``trade_orders`` and ``trade_events``."""

    db: AppDatabase

    # -- plans ----------------------------------------------------------------------------------

    def plan(
        self,
        plans: Sequence[tuple[TradePlan, str | None]],
        *,
        run_id: str,
        now: datetime,
        read_before: Mapping[str, Trade] | None = None,
    ) -> list[PlanOutcome]:
        """Insert new planned trades, re-plan the planned ones, leave frozen ones exactly as they are.

        ``plans`` pairs each plan with the reason it cannot be placed now (None: placeable). A
        trade that is no longer planned (anything was claimed) is never changed by a later run.
        Two runs planning at once can both find a trade missing and both insert it (PostgreSQL
        reads committed rows only); the loser's unique-key violation rolls its transaction back
        and it plans again against the winner's rows.

        ``read_before``: trades this store returned earlier, by id (the caller's own read of the
        session). The transaction then reads only the versions of the plans' trades and takes a
        trade whose version is unchanged from there; the others are read whole, as without it.
        Every change of a trade bumps its version, so an unchanged version is an unchanged row.
        """
        attempt = 1
        while True:
            try:
                return self._plan_once(plans, run_id=run_id, now=now, read_before=read_before or {})
            except sa.exc.IntegrityError:
                if attempt == _PLAN_ATTEMPTS:
                    raise
                attempt += 1

    def _plan_once(
        self,
        plans: Sequence[tuple[TradePlan, str | None]],
        *,
        run_id: str,
        now: datetime,
        read_before: Mapping[str, Trade],
    ) -> list[PlanOutcome]:
        """One transaction: one read of the trades, then one insert of the born ones, one batch of
        compare-and-sets for the re-planned ones and one insert of all their events."""
        out: list[PlanOutcome | None] = []
        born: list[Trade] = []
        changed: list[tuple[int, Trade, Trade, str]] = []  # (position in out, current, new, why)
        with self.db.engine.begin() as conn:
            sessions = sorted({plan.session for plan, _ in plans})
            existing = _stored_trades(conn, [plan.trade_id for plan, _ in plans], sessions, read_before)
            for plan, blocked in plans:
                current = existing.get(plan.trade_id)
                if current is None:
                    trade = Trade(plan=plan, state=TradeState.PLANNED, version=1, blocked_reason=blocked,
                                  created_at=now, updated_at=now)  # fmt: skip
                    born.append(trade)
                    out.append(PlanOutcome(trade, "born"))
                elif current.state != TradeState.PLANNED:
                    out.append(PlanOutcome(current, "frozen"))
                elif _plan_terms(current.plan) == _plan_terms(plan) and current.blocked_reason == blocked:
                    out.append(PlanOutcome(current, "unchanged"))
                else:
                    trade = dataclasses.replace(
                        current,
                        plan=plan,
                        blocked_reason=blocked,
                        version=current.version + 1,
                        updated_at=now,
                    )
                    why = f"re-planned from recommendation run {run_id}"
                    if blocked:
                        why += f"; not placeable: {blocked}"
                    changed.append((len(out), current, trade, why))
                    out.append(None)
            # In key order: each insert then lands beside the one before it in the primary key's
            # B-tree (and the tag's: both are one digest), not on a random page of a grown table.
            born.sort(key=_trade_key)
            insert_columns(conn, trades, TRADE.column_values(born))
            planned = f"planned from recommendation run {run_id}"
            applied = _compare_and_set_many(
                conn, [(current, trade_values(new)) for _, current, new, _ in changed]
            )
            events: list[TradeEvent] = []
            for (index, current, trade, why), ok in zip(changed, applied, strict=True):
                if ok:
                    events.append(_event(trade, current.state, why, now, run_id))
                    out[index] = PlanOutcome(trade, "replanned")
                else:  # claimed in the meantime: frozen now
                    out[index] = PlanOutcome(current, "frozen")
            insert_columns(conn, trade_events, _event_columns(born, planned, now, run_id, events))
        return [outcome for outcome in out if outcome is not None]

    # -- reads ----------------------------------------------------------------------------------

    def trades(
        self,
        *,
        session: date | None = None,
        account_ids: Iterable[str] | None = None,
        trade_ids: Iterable[str] | None = None,
        live_only: bool = False,
        states: Iterable[TradeState] | None = None,
    ) -> list[Trade]:
        """Trades by session, accounts or ids (``live_only``: not closed or abandoned; ``states``:
        only these, chosen by the query rather than read whole and dropped), by id."""
        query = sa.select(trades)
        if session is not None:
            query = query.where(trades.c.session_date == session)
        if live_only:
            query = query.where(trades.c.state.not_in(sorted(str(s) for s in TERMINAL)))
        if states is not None:
            query = query.where(trades.c.state.in_(sorted(str(s) for s in states)))
        with self.db.engine.connect() as conn:
            if trade_ids is not None:
                found = list(_trades_by_id(conn, list(trade_ids), query).values())
            elif account_ids is not None:
                found = []
                if session is not None and _session_is_empty(conn, session):
                    return []  # a day's first planning: one query, not one per few hundred accounts
                for chunk in in_chunks(sorted(set(account_ids))):
                    found += _read_trades(conn, query.where(trades.c.account_id.in_(chunk)))
            else:
                found = _read_trades(conn, query)
        return sorted(found, key=lambda t: t.trade_id)

    def live_accounts(self) -> set[str]:
        """Accounts with a trade not closed or abandoned (their ids only: no trade is read whole)."""
        query = sa.select(trades.c.account_id).distinct()
        query = query.where(trades.c.state.not_in(sorted(str(s) for s in TERMINAL)))
        with self.db.engine.connect() as conn:
            return {str(account) for account in conn.execute(query).scalars()}

    def trade(self, trade_id: str) -> Trade | None:
        found = self.trades(trade_ids=[trade_id])
        return found[0] if found else None

    def orders(self, trade_ids: Iterable[str]) -> dict[str, list[TradeOrder]]:
        """Every order of the given trades, by trade, in (leg, seq) order."""
        out: dict[str, list[TradeOrder]] = {}
        with self.db.engine.connect() as conn:
            for chunk in in_chunks(sorted(set(trade_ids))):
                query = sa.select(trade_orders).where(trade_orders.c.trade_id.in_(chunk))
                for row in conn.execute(query).mappings():
                    order = order_from_row(row)
                    out.setdefault(order.trade_id, []).append(order)
        for orders in out.values():
            orders.sort(key=lambda o: (o.claimed_at, o.leg, o.seq))
        return out

    def orders_of_accounts(self, account_ids: Iterable[str], sessions: Sequence[date]) -> list[TradeOrder]:
        """Orders the accounts' trades sent in ``sessions`` (the day-trade window)."""
        out: list[TradeOrder] = []
        with self.db.engine.connect() as conn:
            for chunk in in_chunks(sorted(set(account_ids))):
                query = sa.select(trade_orders).where(
                    trade_orders.c.account_id.in_(chunk), trade_orders.c.session_date.in_(list(sessions))
                )
                out += [order_from_row(r) for r in conn.execute(query).mappings()]
        return out

    def orders_since(self, first_session: date) -> list[TradeOrder]:
        """Every order claimed from ``first_session`` on (what fill fidelity matches the broker against)."""
        query = sa.select(trade_orders).where(trade_orders.c.session_date >= first_session)
        with self.db.engine.connect() as conn:
            return [order_from_row(r) for r in conn.execute(query).mappings()]

    def events(self, trade_id: str | None = None) -> list[TradeEvent]:
        query = sa.select(trade_events).order_by(trade_events.c.trade_id, trade_events.c.seq)
        if trade_id is not None:
            query = query.where(trade_events.c.trade_id == trade_id)
        with self.db.engine.connect() as conn:
            return [event_from_row(r) for r in conn.execute(query).mappings()]

    # -- state changes --------------------------------------------------------------------------

    def advance(self, current: Trade, new: Trade, *, reason: str, at: datetime, run_id: str) -> Trade | None:
        """Write ``new`` (its state checked against the table) if ``current`` is still what is stored.

        Returns the stored trade, or None when another run changed it first (the caller re-reads).
        """
        check_transition(current.state, new.state)
        stored = dataclasses.replace(new, version=current.version + 1, updated_at=at)
        with self.db.engine.begin() as conn:
            if not _compare_and_set(conn, current, trade_values(stored)):
                return None
            write_event(conn, stored, current.state, reason, at, run_id=run_id)
        return stored


def _session_is_empty(conn: Connection, session: date) -> bool:
    query = sa.select(trades.c.trade_id).where(trades.c.session_date == session).limit(1)
    return conn.execute(query).first() is None


def _stored_trades(
    conn: Connection, ids: Sequence[str], sessions: Sequence[date], read_before: Mapping[str, Trade]
) -> dict[str, Trade]:
    """The stored trades of ``ids`` (trades of ``sessions``): from ``read_before`` where the stored
    version is still the one read there, the others read whole.

    Which of them exist, and at which version, is one read of the sessions' keys (a day's
    planning names every trade of its day: one query, not one per few hundred ids); on a day's
    first run it finds none and nothing more is read.
    """
    wanted = set(ids)
    query = sa.select(trades.c.trade_id, trades.c.version).where(trades.c.session_date.in_(list(sessions)))
    found = read_columns(conn, query)
    versions = {
        trade_id: version
        for trade_id, version in zip(found["trade_id"], found["version"], strict=True)
        if trade_id in wanted
    }
    kept = {
        trade_id: read_before[trade_id]
        for trade_id, version in versions.items()
        if trade_id in read_before and read_before[trade_id].version == version
    }
    return kept | _trades_by_id(conn, [trade_id for trade_id in versions if trade_id not in kept])


def _trades_by_id(conn: Connection, ids: Sequence[str], query: sa.Select | None = None) -> dict[str, Trade]:
    base = query if query is not None else sa.select(trades)
    out: dict[str, Trade] = {}
    for chunk in in_chunks(sorted(set(ids))):
        for trade in _read_trades(conn, base.where(trades.c.trade_id.in_(chunk))):
            out[trade.trade_id] = trade
    return out


def _read_trades(conn: Connection, query: sa.Select) -> list[Trade]:
    """The trades ``query`` selects, read column by column (``bulk.read_columns``: each amount and
    time converted once per distinct value, not once per row)."""
    columns = read_columns(conn, query)
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    return [trade_from_row(dict(zip(names, values, strict=True))) for values in rows]


def _compare_and_set(conn: Connection, current: Trade, values: dict[str, object]) -> bool:
    result = conn.execute(
        sa.update(trades)
        .where(trades.c.trade_id == current.trade_id, trades.c.version == current.version)
        .values(**{k: v for k, v in values.items() if k != "trade_id"})
    )
    return result.rowcount == 1


def _compare_and_set_many(conn: Connection, changes: Sequence[tuple[Trade, dict[str, object]]]) -> list[bool]:
    """``_compare_and_set`` for each change; which ones applied, in order.

    Where the driver reports the rows an executemany changed (SQLite), all go in one statement
    inside a savepoint; when fewer than all matched (another run moved one of them), the savepoint
    is rolled back and each is tried alone, so the ones that lost are known. Elsewhere, one by one.
    """
    if not changes:
        return []
    if conn.dialect.supports_sane_multi_rowcount and len(changes) > 1:
        names = [name for name in changes[0][1] if name != "trade_id"]
        statement = (
            sa.update(trades)
            .where(trades.c.trade_id == sa.bindparam("_id"), trades.c.version == sa.bindparam("_version"))
            .values({name: sa.bindparam(f"_v_{name}") for name in names})
        )
        params = [
            {"_id": current.trade_id, "_version": current.version, **{f"_v_{n}": values[n] for n in names}}
            for current, values in changes
        ]
        savepoint = conn.begin_nested()
        if conn.execute(statement, params).rowcount == len(changes):
            savepoint.commit()
            return [True] * len(changes)
        savepoint.rollback()
    return [_compare_and_set(conn, current, values) for current, values in changes]


def write_event(
    conn: Connection, trade: Trade, before: TradeState | None, reason: str, at: datetime, *, run_id: str
) -> None:
    """The event of ``trade``'s current version (seq = version: one per change, no gaps)."""
    conn.execute(sa.insert(trade_events), [event_values(_event(trade, before, reason, at, run_id))])


def _event_columns(
    born: Sequence[Trade], reason: str, at: datetime, run_id: str, others: Sequence[TradeEvent]
) -> dict[str, list[object]]:
    """``EVENT.column_values`` of the born trades' events (``reason``), then of ``others``, each
    part in (trade id, seq) order (``born`` comes sorted by id).

    Born trades are planned, version 1 and unfilled, so their events differ only in the trade's id:
    one event's values are repeated with each trade's id rather than a ``TradeEvent`` made per
    trade. Trades that differ in anything ``_event`` reads (``_event_inputs``) take the long way.
    """
    columns = EVENT.column_values(sorted(others, key=_event_key))
    if not born:
        return columns
    first = _event_inputs(born[0])
    if any(_event_inputs(trade) != first for trade in born):
        planned = EVENT.column_values([_event(trade, None, reason, at, run_id) for trade in born])
    else:
        template = EVENT.column_values([_event(born[0], None, reason, at, run_id)])
        planned = {name: values * len(born) for name, values in template.items()}
        planned["trade_id"] = [trade.trade_id for trade in born]
    return {name: planned[name] + columns[name] for name in planned}


def _event_inputs(trade: Trade) -> tuple[object, ...]:
    """What ``_event`` reads of a trade besides its id: trades equal in these have equal events."""
    return (trade.version, trade.state, trade.filled_quantity, trade.exited_quantity, trade.realized_pnl)


def _event(trade: Trade, before: TradeState | None, reason: str, at: datetime, run_id: str) -> TradeEvent:
    return TradeEvent(
        trade_id=trade.trade_id,
        seq=trade.version,
        occurred_at=at,
        from_state=before,
        to_state=trade.state,
        reason=reason[:1000],
        filled_quantity=trade.filled_quantity,
        position=trade.filled_quantity - trade.exited_quantity,
        realized_pnl=trade.realized_pnl,
        run_id=run_id,
    )


__all__ = ["PlanOutcome", "TradeStore", "plan_values"]
