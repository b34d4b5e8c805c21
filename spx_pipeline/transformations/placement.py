"""A placement, from a choice of trades to the records it leaves: the code the job and the CLI share.

The operator names an account (every live trade of it), trades, or order tickets (their trades).
The run refuses before any request on the live host without both the flag and a live credential,
for tickets of another session or of a blocked trade, and for a confirmation that does not name
what the plan sends; otherwise each account is read, its trades brought up to the broker's
reports, and the plan's orders claimed and sent (``trade_placement``). Every planned order's fate
is recorded in the app database's ``order_placements`` (the audit of runs) and, for a real run,
published to the warehouse with the trades.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.broker.tradier.hosts import LIVE_HOSTS, normalize_host
from spx_pipeline.domain.execution import PlacementRecord, PlacementRefused, check_environment
from spx_pipeline.domain.trades import TERMINAL, TradeState, ticket_id
from spx_pipeline.domain.trades.planning import Action, PlacementCaps, PlanRow, opening_total
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.placements import record_placement
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse.execution_reads import tickets_by_id
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.storage.warehouse.trade_mirror import mirror_trades
from spx_pipeline.transformations.placement_records import placement_frame
from spx_pipeline.transformations.trade_placement import PlacementOutcome, PlacementRequest, run_placement
from spx_pipeline.transformations.trade_sending import Checkpoint, Sent, _no_checkpoint

ClientFor = Callable[[str], TradierClient]  # account id -> a client holding that account's token


def is_live_host(client: TradierClient) -> bool:
    return is_live_url(client.base_url)


def is_live_url(base_url: str) -> bool:
    return normalize_host(urlsplit(base_url).hostname or "") in LIVE_HOSTS


@dataclass(frozen=True, slots=True)
class Choice:
    """What the operator named: an account, trades, or tickets (exactly one)."""

    account_id: str | None = None
    trade_ids: Sequence[str] = ()
    ticket_ids: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Chosen:
    accounts: list[str]
    trade_ids: frozenset[str] | None


def choose(
    store: TradeStore,
    warehouse: Warehouse | None,
    choice: Choice,
    *,
    session: date,
    dry_run: bool = False,
    every_account: Sequence[str] = (),
) -> Chosen:
    """The accounts and trades a placement covers, or ``PlacementRefused`` naming what is wrong.

    A dry run that names nothing plans every account's live trades (it sends nothing); a real run
    must name exactly one of an account, trades or tickets.
    """
    named = [bool(choice.account_id), bool(choice.trade_ids), bool(choice.ticket_ids)]
    if sum(named) == 0 and dry_run:
        return Chosen(sorted(every_account), None)
    if sum(named) != 1:
        raise PlacementRefused("name the trades: exactly one of account_id, trade_ids or ticket_ids")
    if choice.account_id:
        return Chosen([choice.account_id], None)
    if choice.ticket_ids:
        if warehouse is None:
            raise PlacementRefused("ticket_ids need the warehouse's published order_tickets")
        tickets = tickets_by_id(warehouse, list(choice.ticket_ids))
        missing = sorted(set(choice.ticket_ids) - set(tickets["ticket_id"]))
        if missing:
            raise PlacementRefused(f"ticket_ids not found among published tickets: {missing}")
        other = sorted(
            t for t, d in zip(tickets["ticket_id"], tickets["as_of_date"], strict=True) if _day(d) != session
        )
        if other:
            raise PlacementRefused(
                f"ticket_ids {other} belong to another session than {session}: never placed"
            )
        ids = sorted(set(tickets["trade_id"].dropna().astype(str)))
        if len(ids) < len(set(tickets["tag"].map(_base))):
            raise PlacementRefused("some ticket_ids predate trades (no trade_id): run the pipeline again")
    else:
        ids = sorted(set(choice.trade_ids))
    trades = {t.trade_id: t for t in store.trades(trade_ids=ids)}
    missing = sorted(set(ids) - set(trades))
    if missing:
        raise PlacementRefused(f"no such trade(s): {missing}")
    blocked = sorted(
        t.trade_id for t in trades.values() if t.state == TradeState.PLANNED and t.blocked_reason
    )
    if blocked:
        why = "; ".join(f"{i}: {trades[i].blocked_reason}" for i in blocked)
        raise PlacementRefused(f"blocked trade(s) are never placed: {why}")
    stale = sorted(
        t.trade_id for t in trades.values() if t.state == TradeState.PLANNED and t.plan.session != session
    )
    if stale:
        raise PlacementRefused(
            f"trade(s) {stale} were planned for another session than {session}: never placed"
        )
    ended = sorted(t.trade_id for t in trades.values() if t.state in TERMINAL)
    if ended and len(ended) == len(trades):
        raise PlacementRefused(
            f"trade(s) {ended} are {', '.join(sorted({str(trades[i].state) for i in ended}))}"
        )
    return Chosen(sorted({t.account_id for t in trades.values()}), frozenset(ids))


def _day(value: object) -> date:
    import pandas as pd

    return pd.Timestamp(value).date()


def _base(tag: str) -> str:
    return tag.rsplit("-", 1)[0]


@dataclass(frozen=True)
class PlacementRun:
    outcome: PlacementOutcome
    records: list[PlacementRecord]

    @property
    def phrase(self) -> str:
        return self.outcome.phrase

    @property
    def rows(self) -> list[PlanRow]:
        return self.outcome.rows

    def total_opening(self) -> object:
        return opening_total(self.outcome.rows)


def execute_placement(
    appdb: AppDatabase,
    warehouse: Warehouse | None,
    *,
    choice: Choice,
    client_for: ClientFor,
    live_accounts: frozenset[str],
    active_accounts: frozenset[str],
    allow_live: bool,
    confirm: str | None,
    caps: PlacementCaps,
    dry_run: bool,
    run_id: str,
    now: Callable[[], datetime],
    day_trade_guard: bool = True,
    checkpoint: Checkpoint = _no_checkpoint,
) -> PlacementRun:
    """Choose, check, plan, send (unless ``dry_run``) and record; ``PlacementRefused`` sends nothing."""
    from spx_pipeline.domain.market_calendar import trading_day

    store = TradeStore(appdb)
    chosen = choose(
        store,
        warehouse,
        choice,
        session=trading_day(now()),
        dry_run=dry_run,
        every_account=sorted(active_accounts),
    )
    inactive = sorted(set(chosen.accounts) - active_accounts)
    if inactive:
        raise PlacementRefused(f"no active credential for account(s) {inactive}")
    clients = {account: client_for(account) for account in chosen.accounts}
    try:
        for account, client in clients.items():
            check_environment(
                live_host=is_live_host(client),
                allow_live=allow_live,
                live_credential=account in live_accounts,
            )
        request = PlacementRequest(
            account_ids=chosen.accounts, trade_ids=chosen.trade_ids, confirm=confirm, caps=caps,
            dry_run=dry_run, day_trade_guard=day_trade_guard,
        )  # fmt: skip
        outcome = run_placement(
            store,
            clients,
            request,
            now=now,
            run_id=run_id,
            checkpoint=checkpoint,
            record=None if dry_run else lambda sent: record_placement(appdb, run_id, sent_record(sent)),
        )
    finally:
        for client in clients.values():
            client.close()
    records = placement_records(outcome, dry_run=dry_run, at=now())
    if not dry_run:
        for record in records:
            record_placement(appdb, run_id, record)
        if warehouse is not None:
            publish_placement(appdb, warehouse, records, run_id=run_id, now=now())
    return PlacementRun(outcome, records)


def publish_placement(
    appdb: AppDatabase,
    warehouse: Warehouse,
    records: Sequence[PlacementRecord],
    *,
    run_id: str,
    now: datetime,
) -> None:
    """The run's records and the trades it moved, in the warehouse (the analysts' copy)."""
    frame = placement_frame(records, run_id)
    warehouse.replace_rows(
        "order_placements",
        frame,
        delete_where={"run_id": run_id},
    )
    mirror_trades(appdb, warehouse, run_id=run_id, now=now)


_STATUS = {Action.WAIT: "waiting", Action.SKIP: "skipped", Action.ALREADY_AT_BROKER: "already_at_broker"}


def sent_record(sent: Sent) -> PlacementRecord:
    """One step of one order as the run's record (``sending``, then its outcome)."""
    intent = sent.intent
    return PlacementRecord(
        ticket_id=ticket_id(intent.tag, str(intent.leg)),
        account_id=intent.account_id,
        leg=str(intent.leg),
        tag=intent.tag,
        action=str(Action.PLACE),
        status=sent.status,
        broker_order_id=sent.broker_order_id,
        message=sent.message[:500],
        at=sent.at or datetime.min,
        trade_id=intent.trade_id,
    )


def placement_records(outcome: PlacementOutcome, *, dry_run: bool, at: datetime) -> list[PlacementRecord]:
    """One record per planned order: what was sent and how it ended, or why it was not sent."""
    sent: Mapping[str, Sent] = {s.intent.tag: s for s in outcome.sent}
    records = []
    for row in outcome.rows:
        tag = row.tag or f"{row.trade_id}-{row.leg}"
        if row.action == Action.PLACE:
            done = sent.get(tag)
            status = "would_place" if dry_run or done is None else done.status
            message = row.reason if done is None else done.message
            order_id = None if done is None else done.broker_order_id
        else:
            status, message, order_id = _STATUS[row.action], row.reason, row.broker_order_id
        records.append(
            PlacementRecord(
                ticket_id=ticket_id(tag, row.leg),
                account_id=row.account_id,
                leg=row.leg,
                tag=tag,
                action=str(row.action),
                status=status,
                broker_order_id=order_id,
                message=message[:500],
                at=at,
                trade_id=row.trade_id,
            )
        )
    return records


__all__ = [
    "Choice",
    "PlacementRefused",
    "PlacementRun",
    "execute_placement",
    "is_live_host",
    "placement_records",
]
