"""A placement pass over accounts: read the broker, bring trades up to date, plan, refuse or send.

The same pass serves an operator's confirmed placement (entries and exits, behind the phrase and
the caps) and the schedule's protective pass (exits only: closing orders for contracts already
held, which need no phrase and are never capped). Accounts are independent: one whose orders
cannot be read sends nothing and is reported; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spx_pipeline.broker.tradier import TradierClient, TradierError
from spx_pipeline.domain.execution import PlacementRefused
from spx_pipeline.domain.market_calendar import sessions_between, trading_day
from spx_pipeline.domain.trades import DayTradeGuard, Trade, TradeOrder, TradeState, day_trades_used
from spx_pipeline.domain.trades.exits import DAY_TRADE_WINDOW
from spx_pipeline.domain.trades.planning import (
    Action,
    PlacementCaps,
    PlanRow,
    apply_caps,
    confirm_phrase,
    note_row,
    plan_trade,
)
from spx_pipeline.domain.trades.reports import normalized_symbol
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.transformations.broker_legs import order_legs
from spx_pipeline.transformations.trade_lifecycle import (
    AccountView,
    TradeView,
    advance,
    contract_expired,
    read_account_trades,
    sync_account,
)
from spx_pipeline.transformations.trade_sending import Checkpoint, Sent, _no_checkpoint, send_trade_orders

SEND_WORKERS = 16  # accounts sending at once (each account's own orders go one after the other)


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """Which trades a pass considers and under what guard."""

    account_ids: Sequence[str]
    trade_ids: frozenset[str] | None = None  # None: every live trade of the accounts
    confirm: str | None = None
    caps: PlacementCaps = field(default_factory=PlacementCaps)
    dry_run: bool = False
    entries: bool = True  # False: the protective pass (exits only, no phrase)
    day_trade_guard: bool = True


@dataclass(frozen=True, slots=True)
class PlacementOutcome:
    rows: list[PlanRow]
    phrase: str
    sent: list[Sent]
    unreadable: dict[str, str]
    trades: list[TradeView]


def read_account(client: TradierClient, account_id: str) -> AccountView:
    """The account's orders (every page) and positions; a failed read is None with its reason."""
    try:
        legs = order_legs(account_id, client.list_all_orders(account_id, include_tags=True))
    except TradierError as exc:
        return AccountView(account_id, None, None, orders_error=exc.message)
    try:
        held = [(p.symbol, p.quantity) for p in client.get_positions(account_id) if p.symbol]
        positions: dict[str, int] | None = {}
        for symbol, quantity in held:
            key = normalized_symbol(symbol)
            positions[key] = positions.get(key, 0) + int(quantity or 0)  # type: ignore[index]
    except TradierError:
        positions = None
    return AccountView(account_id, legs, positions)


def day_trade_guards(
    store: TradeStore, accounts: Sequence[str], trades: Sequence[Trade], *, now: datetime, enabled: bool
) -> dict[str, DayTradeGuard]:
    """Each account's legacy-PDT allowance used over the last five sessions."""
    if not enabled:
        return {a: DayTradeGuard(enabled=False) for a in accounts}
    today = trading_day(now)
    window = sessions_between(today - timedelta(days=3 * DAY_TRADE_WINDOW), today)[-DAY_TRADE_WINDOW:]
    orders = store.orders_of_accounts(accounts, window)
    sessions = {t.trade_id: t.plan.session for t in trades}
    missing = {o.trade_id for o in orders} - set(sessions)
    if missing:
        sessions |= {t.trade_id: t.plan.session for t in store.trades(trade_ids=missing)}
    by_account: dict[str, list[TradeOrder]] = {account: [] for account in accounts}
    for order in orders:  # grouped once: filtering per account is accounts x orders
        by_account.setdefault(order.account_id, []).append(order)
    return {
        account: DayTradeGuard(enabled=True, used=day_trades_used(by_account[account], sessions, window))
        for account in accounts
    }


def run_placement(
    store: TradeStore,
    clients: Mapping[str, TradierClient],
    request: PlacementRequest,
    *,
    now: Callable[[], datetime],
    run_id: str,
    views: Mapping[str, AccountView] | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
    record: Callable[[Sent], None] | None = None,
) -> PlacementOutcome:
    """Read (or take ``views``), sync, plan, check the phrase, claim and send; returns the whole story.

    Raises ``PlacementRefused`` (nothing sent) for a confirmation that does not match the plan.
    """
    at = now()
    session = trading_day(at)
    unreadable: dict[str, str] = {}
    synced: list[TradeView] = []
    known = read_account_trades(store, request.account_ids, now=at)
    for account in request.account_ids:
        view = views.get(account) if views is not None else None
        if view is None:
            view = read_account(clients[account], account)
        if view.orders is None:
            unreadable[account] = (
                f"orders could not be read, so nothing can be proven unsent ({view.orders_error})"
            )
        synced += sync_account(store, view, now=at, run_id=run_id, known=known[account])
    chosen = [v for v in synced if request.trade_ids is None or v.trade.trade_id in request.trade_ids]
    guards = day_trade_guards(
        store, request.account_ids, [v.trade for v in chosen], now=at, enabled=request.day_trade_guard
    )
    rows: list[PlanRow] = []
    for view in sorted(chosen, key=lambda v: (v.trade.account_id, v.trade.plan.setup_id)):
        account = view.trade.account_id
        if account in unreadable:
            leg = "entry" if view.trade.state == TradeState.PLANNED else "exits"
            rows.append(note_row(view.trade, leg, Action.SKIP, unreadable[account]))
            continue
        guard = guards[account]
        trade_rows, added = plan_trade(
            view.trade, view.orders, session=session, expired=contract_expired(view.trade.plan, at),
            guard=guard, entries=request.entries,
        )  # fmt: skip
        guards[account] = DayTradeGuard(
            enabled=guard.enabled, used=guard.used + added, allowance=guard.allowance
        )
        rows += trade_rows
    rows = apply_caps(rows, request.caps)
    phrase = confirm_phrase(rows)
    if request.dry_run:
        return PlacementOutcome(rows, phrase, [], unreadable, synced)
    if request.entries and phrase != "PLACE 0" and (request.confirm or "").strip() != phrase:
        raise PlacementRefused(
            f"confirm must be {phrase!r} to send what the plan shows; got {request.confirm!r}"
        )
    by_trade = {v.trade.trade_id: v.trade for v in chosen}
    accounts = sorted({by_trade[r.trade_id].account_id for r in rows if r.action == Action.PLACE})

    def send_account(account: str) -> list[tuple[str, list[Sent]]]:
        """One account's trades in order (its orders share its rate limit and its positions)."""
        done = []
        for trade_id in sorted({r.trade_id for r in rows if r.action == Action.PLACE}):
            trade = by_trade[trade_id]
            if trade.account_id != account:
                continue
            intents = [
                r.intent for r in rows if r.trade_id == trade_id and r.action == Action.PLACE and r.intent
            ]
            sent_now = send_trade_orders(
                store, clients[account], trade, intents, session=session, run_id=run_id, now=now,
                checkpoint=checkpoint, **({"record": record} if record is not None else {}),
            )  # fmt: skip
            done.append((trade_id, sent_now))
        return done

    # Accounts are independent: their sends overlap (many protective exits after a market-wide move).
    with ThreadPoolExecutor(max_workers=max(1, min(SEND_WORKERS, len(accounts)))) as pool:
        results = [item for batch in pool.map(send_account, accounts) for item in batch]
    sent: list[Sent] = [s for _, batch in results for s in batch]
    moved = {trade_id for trade_id, batch in results if any(s.status != "lost" for s in batch)}
    # What a run sent moves its trade (its exits cover it now): judged again with the claims.
    synced = [_rejudge(store, v, now=at, run_id=run_id) if v.trade.trade_id in moved else v for v in synced]
    return PlacementOutcome(rows, phrase, sent, unreadable, synced)


def _rejudge(store: TradeStore, view: TradeView, *, now: datetime, run_id: str) -> TradeView:
    fresh = store.trade(view.trade.trade_id)
    if fresh is None:
        return view
    orders = store.orders([fresh.trade_id]).get(fresh.trade_id, [])
    return advance(store, fresh, orders, view=None, now=now, run_id=run_id)
