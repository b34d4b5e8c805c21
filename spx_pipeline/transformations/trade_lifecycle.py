"""Bring trades up to the broker's reports: settle claims, store what each order did, move each trade.

One pass per account, the same for a placement run and for the scheduled reconciliation. An
account whose orders could not be read is left exactly as it was (nothing proves a claim unsent
or an order filled); a failed positions read only means that no trade can be seen closed by hand.
A claim older than the lease that the broker does not know is voided: the run that made it died
before the POST (or the POST never arrived), and its trade moves on from the facts.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from spx_pipeline.domain.execution import BrokerOrderLeg
from spx_pipeline.domain.market_calendar import is_session, trading_day
from spx_pipeline.domain.market_calendar import session as market_session
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.domain.sizing import DEFAULT_FEE
from spx_pipeline.domain.trades import (
    LocalStatus,
    PositionReport,
    Trade,
    TradeOrder,
    TradeState,
    judge,
    next_state,
    progress,
    risk_committed,
)
from spx_pipeline.domain.trades.records import IN_FLIGHT, TradePlan
from spx_pipeline.domain.trades.reports import by_tag, facts_from_legs, first_order_id, order_status
from spx_pipeline.storage.app.claims import record_facts, settle_void
from spx_pipeline.storage.app.trades import TradeStore

# How long a claim may stay unconfirmed before a run that finds no order under its tag voids it:
# well beyond a POST's timeout, so a live sender is never overtaken.
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account's broker reports for a pass; None where the read failed (never read as empty)."""

    account_id: str
    orders: Sequence[BrokerOrderLeg] | None
    positions: dict[str, int] | None
    orders_error: str | None = None


@dataclass(frozen=True, slots=True)
class TradeView:
    """A trade after the pass, with its orders as stored now."""

    trade: Trade
    orders: list[TradeOrder]
    moved: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class AccountTrades:
    """What a pass judges of one account: its live trades and this session's trades abandoned after
    sending something (an entry whose claim was voided may still reach the broker and fill, and
    that fill reopens its trade), by id, with their orders."""

    trades: list[Trade]
    orders: dict[str, list[TradeOrder]]


def read_account_trades(
    store: TradeStore, account_ids: Sequence[str], *, now: datetime
) -> dict[str, AccountTrades]:
    """``AccountTrades`` of every account, in a few queries for all of them (three per account
    made a pass over 10,000 accounts spend most of its time asking the app database)."""
    live = store.trades(account_ids=account_ids, live_only=True)
    today = _trading_day(now)
    abandoned = store.trades(account_ids=account_ids, session=today, states=[TradeState.ABANDONED])
    sent = [t for t in abandoned if t.entry_sent_at is not None]
    chosen = sorted([*live, *sent], key=lambda t: t.trade_id)
    orders = store.orders([t.trade_id for t in chosen])
    out = {account: AccountTrades([], {}) for account in account_ids}
    for trade in chosen:
        mine = out[trade.account_id]
        mine.trades.append(trade)
        mine.orders[trade.trade_id] = orders.get(trade.trade_id, [])
    return out


@functools.lru_cache(maxsize=1024)
def _last_moment(expiration: date, am_settled: bool) -> datetime | None:
    """When a contract expiring on ``expiration`` stops trading; None when that day is no session."""
    if not is_session(expiration):
        return None
    last = market_session(expiration)
    return last.open_utc if am_settled else last.close_utc


@functools.lru_cache(maxsize=4096)
def _am_settled(option_symbol: str) -> bool:
    return parse_option_symbol(option_symbol).root == "SPX"


# A pass asks for the session of its one ``now`` once per trade and order.
_trading_day = functools.lru_cache(maxsize=64)(trading_day)


def contract_expired(plan: TradePlan, now: datetime) -> bool:
    """The contract's last session has closed: it settled, nothing can be sent for it.

    SPXW (PM-settled) trades to its expiry's close; SPX monthlies (AM-settled) stop at that open.
    The calendar's answers are remembered per expiry and root: a pass asks for every trade it judges.
    """
    cutoff = _last_moment(plan.expiration, _am_settled(plan.option_symbol))
    if cutoff is None:
        return _trading_day(now) > plan.expiration
    return now >= cutoff


def sync_account(
    store: TradeStore,
    view: AccountView,
    *,
    now: datetime,
    run_id: str,
    lease: timedelta = CLAIM_LEASE,
    known: AccountTrades | None = None,
) -> list[TradeView]:
    """Every trade the pass judges of the account (``AccountTrades``) after storing the broker's
    facts and judging it; ``known``: those trades as ``read_account_trades`` read them for many
    accounts at once (else they are read here)."""
    if known is None:
        known = read_account_trades(store, [view.account_id], now=now)[view.account_id]
    live, orders = known.trades, known.orders
    tagged = by_tag(view.orders) if view.orders is not None else {}
    out: list[TradeView] = []
    for trade in live:
        mine = orders.get(trade.trade_id, [])
        if view.orders is not None:
            mine = [_settle(store, order, tagged.get(order.tag), now=now, lease=lease) for order in mine]
        elif mine:  # nothing is known about its orders: leave the trade as it is
            out.append(TradeView(trade, mine, note=f"orders unknown: {view.orders_error or 'not read'}"))
            continue
        out.append(advance(store, trade, mine, view=view, now=now, run_id=run_id))
    return out


def _settle(
    store: TradeStore,
    order: TradeOrder,
    legs: list[BrokerOrderLeg] | None,
    *,
    now: datetime,
    lease: timedelta,
) -> TradeOrder:
    if legs:
        facts = facts_from_legs(legs, status=order_status(legs), reported_at=now)
        return record_facts(store.db, order, facts, first_order_id(legs), now=now)
    if order.local_status in IN_FLIGHT and now - order.claimed_at >= lease:
        why = f"no order carries tag {order.tag} {lease} after its claim: it never reached the broker"
        if settle_void(store.db, order, reason=why, now=now):
            return dataclasses.replace(order, local_status=LocalStatus.VOID, message=why, updated_at=now)
        return order
    facts = order.broker
    working = facts is not None and (facts.working_open or facts.working_target or facts.working_stop)
    if working and order.duration == "day" and order.session < _trading_day(now) and facts is not None:
        # A day order does not outlive its session; the broker stops listing it once it expired.
        expired = dataclasses.replace(
            facts, status="expired", working_open=0, working_target=0, working_stop=0, reported_at=now,
            reason=f"a day order of {order.session} no longer listed: expired at that session's close",
        )  # fmt: skip
        return record_facts(store.db, order, expired, order.broker_order_id, now=now)
    return order


def advance(
    store: TradeStore,
    trade: Trade,
    orders: list[TradeOrder],
    *,
    view: AccountView | None,
    now: datetime,
    run_id: str,
) -> TradeView:
    """Judge the trade from its orders and write the result when anything changed."""
    quantity = None
    if view is not None and view.positions is not None:
        quantity = view.positions.get(trade.plan.option_symbol, 0)
    verdict = judge(
        trade,
        orders,
        session=_trading_day(now),
        position=PositionReport(quantity),
        expired=contract_expired(trade.plan, now),
    )
    state = next_state(trade.state, verdict)
    p = progress(orders)
    new = dataclasses.replace(
        trade,
        state=state,
        close_reason=verdict.close_reason if state == TradeState.CLOSED else trade.close_reason,
        filled_quantity=p.filled,
        exited_quantity=p.exited,
        entry_price=p.entry_avg,
        realized_pnl=p.realized_pnl(DEFAULT_FEE) if p.exited else trade.realized_pnl,
        risk_committed=risk_committed(trade, orders),
        closed_at=(trade.closed_at or now) if state in (TradeState.CLOSED, TradeState.ABANDONED) else None,
    )
    if new == trade:
        return TradeView(trade, orders)
    note = (
        verdict.reason
        if state == verdict.state
        else f"kept {trade.state}: {verdict.reason} is not a move the table allows"
    )
    stored = store.advance(trade, new, reason=note, at=now, run_id=run_id)
    if stored is None:  # another run moved it first; what it wrote is as good as ours
        fresh = store.trade(trade.trade_id)
        return TradeView(fresh or trade, orders, note="changed by another run")
    return TradeView(stored, orders, moved=stored.state != trade.state, note=note)
