"""Account state behind the emulator: balances, positions and the orders clients place.

Orders never fill: the pipeline only places, previews, modifies and cancels, and an order that
stays "open" is the state those calls must handle. Open buy orders reserve their cost, so
balances show ``pending_cash``/``pending_orders_count`` moving and a second large buy is refused
like it would be at the broker.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from spx_pipeline.emulator.config import EmulatedAccount
from spx_pipeline.emulator.order_forms import BUY_SIDES
from spx_pipeline.emulator.wire import long_money

COMMISSION_PER_CONTRACT = Decimal("0.35")
MULTIPLIER = 100
OPEN_STATUSES = frozenset({"open", "pending", "partially_filled"})
ZERO = Decimal("0")


@dataclass(slots=True)
class StoredOrder:
    """One placed order, in the fields ``GET .../orders`` reports."""

    id: int
    account_id: str
    symbol: str
    option_symbol: str
    side: str
    quantity: int
    type: str
    duration: str
    price: Decimal | None
    stop: Decimal | None
    tag: str | None
    reserved: Decimal
    partner_id: str
    create_date: str
    status: str = "open"
    transaction_date: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buying(self) -> bool:
        return self.side in BUY_SIDES

    def to_wire(self, *, include_tags: bool) -> dict[str, Any]:
        qty = Decimal(self.quantity).quantize(Decimal("1E-8"))
        row: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": qty,
            "status": self.status,
            "duration": self.duration,
        }
        if self.price is not None:
            row["price"] = self.price
        if self.stop is not None:
            row["stop_price"] = self.stop
        row.update(
            {
                "avg_fill_price": Decimal("0.00000000"),
                "exec_quantity": Decimal("0.00000000"),
                "last_fill_price": Decimal("0.00000000"),
                "last_fill_quantity": Decimal("0.00000000"),
                "remaining_quantity": qty if self.status in OPEN_STATUSES else Decimal("0.00000000"),
                "create_date": self.create_date,
                "transaction_date": self.transaction_date or self.create_date,
                "class": "option",
                "option_symbol": self.option_symbol,
            }
        )
        if include_tags and self.tag:
            row["tag"] = self.tag
        return row


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class AccountBook:
    """All accounts, keyed by id and token; every mutation holds one lock."""

    def __init__(self, accounts: list[EmulatedAccount], *, first_order_id: int = 1_086_000) -> None:
        self._lock = threading.Lock()
        self.accounts: dict[str, EmulatedAccount] = {a.account_id: a for a in accounts}
        self.by_token: dict[str, list[EmulatedAccount]] = {}
        for account in accounts:
            self.by_token.setdefault(account.token, []).append(account)
        self._orders: dict[str, list[StoredOrder]] = {a.account_id: [] for a in accounts}
        self._next_id = first_order_id

    # ----- reads -------------------------------------------------------------------------

    def reserved(self, account_id: str) -> Decimal:
        with self._lock:
            return self._reserved_locked(account_id)

    def _reserved_locked(self, account_id: str) -> Decimal:
        return sum(
            (o.reserved for o in self._orders[account_id] if o.status in OPEN_STATUSES),
            ZERO,
        )

    def open_order_count(self, account_id: str) -> int:
        with self._lock:
            return sum(1 for o in self._orders[account_id] if o.status in OPEN_STATUSES)

    def available_buying_power(self, account_id: str) -> Decimal:
        """What a new option buy may spend: option BP (cash_available for cash) minus reservations."""
        return self.accounts[account_id].effective_option_buying_power - self.reserved(account_id)

    def orders(self, account_id: str) -> list[StoredOrder]:
        with self._lock:
            return list(self._orders[account_id])

    def order(self, account_id: str, order_id: int) -> StoredOrder | None:
        with self._lock:
            for stored in self._orders[account_id]:
                if stored.id == order_id:
                    return stored
        return None

    def balances(self, account_id: str) -> dict[str, Any]:
        """The per-account balances body: exactly one of margin/cash/pdt, by account_type."""
        a = self.accounts[account_id]
        reserved = self.reserved(account_id)
        open_count = self.open_order_count(account_id)
        option_long = sum(
            (p.cost_basis for p in a.positions if p.quantity > 0 and _is_option(p.symbol)), ZERO
        )
        option_short = sum(
            (p.cost_basis for p in a.positions if p.quantity < 0 and _is_option(p.symbol)), ZERO
        )
        stock_long = sum(
            (p.cost_basis for p in a.positions if p.quantity > 0 and not _is_option(p.symbol)), ZERO
        )
        long_value = option_long + stock_long
        market_value = long_value + option_short
        requirement = -option_short * 2 if option_short else ZERO
        body: dict[str, Any] = {
            "option_short_value": option_short,
            "total_equity": long_money(a.total_equity),
            "account_number": a.account_id,
            "account_type": a.account_type,
            "close_pl": 0,
            "current_requirement": requirement,
            "equity": 0,
            "long_market_value": long_value,
            "market_value": market_value,
            "open_pl": Decimal("-95.00") if a.positions else 0,
            "option_long_value": option_long,
            "option_requirement": requirement,
            "pending_orders_count": a.pending_orders_count + open_count,
            "short_market_value": option_short,
            "stock_long_value": stock_long,
            "total_cash": long_money(a.cash),
            "uncleared_funds": 0,
            "pending_cash": a.pending_cash + reserved,
        }
        if a.account_type == "cash":
            body["cash"] = {
                "cash_available": long_money(a.cash - a.pending_cash - reserved),
                "sweep": 0,
                "unsettled_funds": Decimal("0.00"),
            }
        else:
            option_bp = a.effective_option_buying_power - reserved
            sub: dict[str, Any] = {
                "fed_call": 0,
                "maintenance_call": 0,
                "option_buying_power": long_money(option_bp),
                "stock_buying_power": long_money(option_bp * 2),
                "stock_short_value": 0,
            }
            if a.account_type == "margin":
                sub["sweep"] = 0
                body["margin"] = sub
            else:
                sub["day_trade_buying_power"] = long_money(a.effective_day_trade_buying_power - reserved * 4)
                body["pdt"] = sub
        return body

    def positions(self, account_id: str) -> list[dict[str, Any]]:
        return [
            {
                "cost_basis": p.cost_basis,
                "date_acquired": p.date_acquired,
                "id": 100_000 + i,
                "quantity": p.quantity,
                "symbol": p.symbol,
            }
            for i, p in enumerate(self.accounts[account_id].positions, start=1)
        ]

    # ----- writes ------------------------------------------------------------------------

    def place(
        self,
        account_id: str,
        *,
        symbol: str,
        option_symbol: str,
        side: str,
        quantity: int,
        order_type: str,
        duration: str,
        price: Decimal | None,
        stop: Decimal | None,
        tag: str | None,
        cost: Decimal,
        now: datetime,
    ) -> StoredOrder | None:
        """Store the order, or None when a buy's cost exceeds the remaining buying power.

        The check and the reservation happen under one lock, so concurrent buys cannot both
        squeeze into the same buying power.
        """
        with self._lock:
            reserved = cost if side in BUY_SIDES else ZERO
            if side in BUY_SIDES:
                available = self.accounts[account_id].effective_option_buying_power - self._reserved_locked(
                    account_id
                )
                if cost > available:
                    return None
            stored = StoredOrder(
                id=self._next_id,
                account_id=account_id,
                symbol=symbol,
                option_symbol=option_symbol,
                side=side,
                quantity=quantity,
                type=order_type,
                duration=duration,
                price=price,
                stop=stop,
                tag=tag,
                reserved=reserved,
                partner_id=str(uuid.UUID(int=self._next_id)),
                create_date=_iso_ms(now),
            )
            self._next_id += 1
            self._orders[account_id].append(stored)
            return stored

    def modify(
        self,
        account_id: str,
        order_id: int,
        changes: dict[str, Any],
        *,
        now: datetime,
    ) -> StoredOrder:
        with self._lock:
            stored = next(o for o in self._orders[account_id] if o.id == order_id)
            for key, value in changes.items():
                setattr(stored, key, value)
            stored.transaction_date = _iso_ms(now)
            return stored

    def cancel(self, account_id: str, order_id: int, *, now: datetime) -> StoredOrder:
        with self._lock:
            stored = next(o for o in self._orders[account_id] if o.id == order_id)
            stored.status = "canceled"
            stored.transaction_date = _iso_ms(now)
            return stored


def _is_option(symbol: str) -> bool:
    return len(symbol) > 15 and symbol[-9] in "CP" and symbol[-8:].isdigit()
