"""The execution engine: working orders meet the simulated quotes, lazily, up to the clock's instant.

Nothing runs in the background: when a request arrives the server walks the price path's steps
since it last looked, in time order, and at each step every working order in id order. So fills
depend on the seed, the orders and the clock's instants, never on thread timing, and the same
inputs give the same fills in every run. The fill rules (and the choices made where Tradier's
behaviour is unverified) are listed under "emulator" in docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.domain.ticks import MAX_PRICE, TICK_BREAK, TICK_LARGE, TICK_SMALL, round_to_tick
from spx_pipeline.emulator.config import SimulationConfig
from spx_pipeline.emulator.ledger import ZERO, short_requirement
from spx_pipeline.emulator.market import Market
from spx_pipeline.emulator.market_hours import MarketHours
from spx_pipeline.emulator.state import AccountBook
from spx_pipeline.emulator.stored_order import StoredOrder

MIN_PRICE = Decimal("0.05")
_HISTORY_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution, with the quote it met (for tests, the demo and anyone reading the log)."""

    order_id: int
    account_id: str
    option_symbol: str
    side: str
    quantity: int
    price: Decimal
    at: datetime
    bid: Decimal
    ask: Decimal
    slippage_ticks: int  # drawn; positive was adverse (the price may have been capped by the limit)


class FillEngine:
    """Executes the book's working orders against the markets' quotes.

    Every entry point takes ``lock`` (re-entrant); the server holds it around each request so
    that the book does not move between catching up and answering.
    """

    def __init__(
        self,
        config: SimulationConfig,
        book: AccountBook,
        hours: MarketHours,
        market_for: Callable[[date], Market],
    ) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._book = book
        self._hours = hours
        self._market_for = market_for
        self._history: list[FillRecord] = []
        total = sum(weight for _, weight in config.slippage_ticks)
        running, self._cumulative = 0.0, []
        for ticks, weight in config.slippage_ticks:
            running += weight / total
            self._cumulative.append((running, ticks))

    @property
    def history(self) -> list[FillRecord]:
        with self.lock:
            return list(self._history)

    # ----- entry points --------------------------------------------------------------------

    def admit(self, order: StoredOrder, now: datetime) -> list[FillRecord]:
        """A new or modified order: set when it expires and look at it at once if the market is open."""
        fills: list[FillRecord] = []
        with self.lock:
            for leaf in order.legs or [order]:
                if not leaf.working or leaf.held:  # a held leg gets its expiry when released
                    continue
                leaf.expires_at = self._expiry(leaf, now)
                self._book.checked(leaf, now, in_session=False)
            sess = self._hours.session_at(now)
            if sess is not None:
                market = self._market_for(sess.day)
                for leaf in order.legs or [order]:
                    if leaf.working and not leaf.held:
                        fills.extend(self._look(leaf, now, market))
            self._expire_due(now)
        return fills

    def process_until(self, now: datetime) -> list[FillRecord]:
        """Walk every path step in (last look, now] and every expiry up to ``now``, in time order."""
        fills: list[FillRecord] = []
        with self.lock:
            leaves = self._book.working_leaves()
            if not leaves:
                return fills
            start = min(leaf.checked_to or now for leaf in leaves)
            if now <= start:
                self._expire_due(now)
                return fills
            day = start.astimezone(market_calendar.NEW_YORK).date()
            last_day = now.astimezone(market_calendar.NEW_YORK).date()
            while day <= last_day:
                sess = self._hours.session(day)
                if sess is not None and sess.close_utc > start and sess.open_utc <= now:
                    market = self._market_for(day)
                    if market.path is not None:
                        for moment in market.path.boundaries_between(start, now):
                            for leaf in self._book.working_leaves():
                                if leaf.checked_to is None or leaf.checked_to < moment:
                                    fills.extend(self._look(leaf, moment, market))
                    self._expire_due(min(now, sess.close_utc))
                day += timedelta(days=1)
            self._expire_due(now)
        return fills

    # ----- one look at one order -------------------------------------------------------------

    def _look(self, order: StoredOrder, moment: datetime, market: Market) -> list[FillRecord]:
        # An OCO leg its sibling's fill canceled earlier in this step, or an OTO/OTOCO leg whose
        # trigger has not filled yet (it is listed as pending but may never execute).
        if not order.working or order.held:
            return []
        self._book.checked(order, moment, in_session=True)
        if order.expires_at is not None and order.expires_at <= moment:
            return []
        touch = market.touch(order.option_symbol, moment)
        if touch is None:
            return []
        bid, ask = touch.bid, touch.ask
        if order.type in ("stop", "stop_limit") and not order.triggered:
            stop = order.stop if order.stop is not None else ZERO
            hit = ask >= stop if order.buying else bid <= stop
            if not hit:
                return []
            order.triggered = True
        as_limit = order.type in ("limit", "stop_limit")
        limit = order.price if as_limit else None
        if order.buying:
            if limit is not None and ask > limit:
                return []
            size = touch.asksize
        else:
            if bid <= 0 or (limit is not None and bid < limit):
                return []
            size = touch.bidsize
        quantity = min(order.remaining, max(size, 1)) if self.config.partial_fills else order.remaining
        ticks = self._draw(order)
        price = fill_price(bid=bid, ask=ask, buying=order.buying, adverse_ticks=ticks, limit=limit)
        requirement = ZERO
        if order.side == "sell_to_open" and self._book.accounts[order.account_id].account_type != "cash":
            contract = parse_option_symbol(order.option_symbol)
            requirement = short_requirement(
                strike=contract.strike,
                is_call=contract.right == "C",
                spot=Decimal(str(round(market.spot_at(moment), 2))),
                premium=price,
            )
        self._book.fill(order, quantity, price, at=moment, requirement_per_contract=requirement)
        if order.remaining == 0:  # an OTO/OTOCO's waiting legs start working now
            for released in self._book.release(order, moment, in_session=True):
                released.expires_at = self._expiry(released, moment)
                released.checked_to = moment
        record = FillRecord(
            order.id,
            order.account_id,
            order.option_symbol,
            order.side,
            quantity,
            price,
            moment,
            bid,
            ask,
            ticks,
        )
        self._history.append(record)
        del self._history[:-_HISTORY_KEPT]
        return [record]

    def _draw(self, order: StoredOrder) -> int:
        """Adverse ticks for the order's next fill: a pure function of (seed, order id, fill number)."""
        key = f"{self.config.seed}|{order.id}|{order.fills}".encode()
        u = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
        for bound, ticks in self._cumulative:
            if u < bound:
                return ticks
        return self._cumulative[-1][1]

    # ----- expiry ------------------------------------------------------------------------

    def _expiry(self, order: StoredOrder, placed: datetime) -> datetime | None:
        """The earliest of the duration's end (day/pre/post: its session's close) and the contract's."""
        ends: list[datetime] = []
        if order.duration != "gtc":
            day = placed.astimezone(market_calendar.NEW_YORK).date()
            for _ in range(10):
                sess = self._hours.session(day)
                if sess is not None and sess.close_utc > placed:
                    ends.append(sess.close_utc)
                    break
                day += timedelta(days=1)
        contract = parse_option_symbol(order.option_symbol)
        last_day = contract.expiration
        if contract.root == "SPX":  # AM-settled: the last trading session is the one before
            last_day -= timedelta(days=1)
        for _ in range(10):
            sess = self._hours.session(last_day)
            if sess is not None:
                ends.append(sess.close_utc)
                break
            last_day -= timedelta(days=1)
        return min(ends, default=None)

    def _expire_due(self, until: datetime) -> None:
        for leaf in self._book.working_leaves():
            if leaf.expires_at is not None and leaf.expires_at <= until:
                self._book.expire(leaf, now=leaf.expires_at)


def step_ticks(price: Decimal, ticks: int) -> Decimal:
    """``price`` moved ``ticks`` increments along the SPX grid (0.05 below 3.00, 0.10 from 3.00)."""
    for _ in range(abs(ticks)):
        if ticks > 0:
            price += TICK_SMALL if price < TICK_BREAK else TICK_LARGE
        else:
            price -= TICK_SMALL if price <= TICK_BREAK else TICK_LARGE
    return price


def fill_price(
    *, bid: Decimal, ask: Decimal, buying: bool, adverse_ticks: int, limit: Decimal | None
) -> Decimal:
    """The touch moved by the drawn ticks, at most one tick inside the spread, never through the limit."""
    if buying:
        price = step_ticks(ask, adverse_ticks)
        price = max(price, step_ticks(bid, 1) if bid > 0 else MIN_PRICE, MIN_PRICE)
        if limit is not None and limit < MAX_PRICE:
            price = min(price, round_to_tick(limit, "sell"))
    else:
        price = step_ticks(bid, -adverse_ticks)
        price = max(min(price, step_ticks(ask, -1)), MIN_PRICE)
        if limit is not None:
            price = max(price, round_to_tick(limit, "buy"))
    return price.quantize(Decimal("0.01"))
