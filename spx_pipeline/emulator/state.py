"""The orders clients place, and the ledger each account's fills move; one lock over both.

Open buy orders reserve their cost (the unfilled part), so balances show
``pending_cash``/``pending_orders_count`` moving and a second large buy is refused as it would be
at the broker. An OCO is stored as a parent holding its two leg orders; its reservation is its
larger leg's (only one executes). Without a simulation nothing here ever fills: orders stay
"open" until canceled, the state preview-only callers must handle.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from spx_pipeline.domain.field_copy import copy_fields
from spx_pipeline.domain.tradier.order_requests import OptionLeg
from spx_pipeline.emulator.config import EmulatedAccount
from spx_pipeline.emulator.ledger import ZERO, AccountLedger
from spx_pipeline.emulator.stored_order import StoredOrder, iso_ms


class AccountBook:
    """All accounts, keyed by id and token: their orders and ledgers, every mutation under one lock."""

    def __init__(self, accounts: list[EmulatedAccount], *, first_order_id: int = 1_086_000) -> None:
        self._lock = threading.Lock()
        self.accounts: dict[str, EmulatedAccount] = {a.account_id: a for a in accounts}
        self.by_token: dict[str, list[EmulatedAccount]] = {}
        for account in accounts:
            self.by_token.setdefault(account.token, []).append(account)
        self._orders: dict[str, list[StoredOrder]] = {a.account_id: [] for a in accounts}
        self.ledgers: dict[str, AccountLedger] = {a.account_id: AccountLedger(a) for a in accounts}
        self._working: dict[int, StoredOrder] = {}  # top-level orders still working, for the fill engine
        self._next_id = first_order_id

    # ----- reads -------------------------------------------------------------------------

    def reserved(self, account_id: str) -> Decimal:
        with self._lock:
            return self._reserved_locked(account_id)

    def _reserved_locked(self, account_id: str) -> Decimal:
        return sum((o.reserved_now() for o in self._orders[account_id] if o.working), ZERO)

    def open_order_count(self, account_id: str) -> int:
        with self._lock:
            return sum(1 for o in self._orders[account_id] if o.working)

    def available_buying_power(self, account_id: str) -> Decimal:
        """What a new option buy may spend: option BP (cash_available for cash) minus reservations."""
        with self._lock:
            return self.ledgers[account_id].option_buying_power(self._reserved_locked(account_id))

    def orders(self, account_id: str) -> list[StoredOrder]:
        with self._lock:
            return list(self._orders[account_id])

    def order(self, account_id: str, order_id: int) -> StoredOrder | None:
        with self._lock:
            for stored in self._orders[account_id]:
                if stored.id == order_id:
                    return stored
        return None

    def working_leaves(self) -> list[StoredOrder]:
        """Every working single order and leg of every account, by id (the fill engine's order).

        An OTO/OTOCO leg still waiting for its trigger is not working yet.
        """
        with self._lock:
            for order_id in [i for i, order in self._working.items() if not order.working]:
                del self._working[order_id]
            leaves = [
                leaf
                for order in self._working.values()
                for leaf in (order.legs or [order])
                if leaf.working and not leaf.held
            ]
        return sorted(leaves, key=lambda o: o.id)

    def balances(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            reserved = self._reserved_locked(account_id)
            open_count = sum(1 for o in self._orders[account_id] if o.working)
            return self.ledgers[account_id].balances(reserved=reserved, open_orders=open_count)

    def positions(self, account_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return self.ledgers[account_id].positions()

    # ----- writes ------------------------------------------------------------------------

    def place(
        self,
        account_id: str,
        legs: Sequence[OptionLeg],
        *,
        duration: str,
        tag: str | None,
        reservations: Sequence[Decimal],
        now: datetime,
        status: str = "open",
        check_positions: bool = False,
        order_class: str = "oco",
    ) -> StoredOrder | None:
        """Store one order (one leg), or an OCO/OTO/OTOCO (its legs), or None when a buy exceeds buying power.

        In an OTO the second leg waits for the first to fill completely; in an OTOCO the second and
        third wait for it and then cancel each other like an OCO's two legs.

        The check and the reservation happen under one lock, so concurrent buys cannot both
        squeeze into the same buying power. With ``check_positions`` a closing order larger than
        what the account holds (less what other working closing orders already cover) is kept as
        ``rejected`` with a reason, as the broker's back office would answer it after accepting.
        """
        with self._lock:
            ledger = self.ledgers[account_id]
            need = max(reservations, default=ZERO)
            if need > 0 and need > ledger.option_buying_power(self._reserved_locked(account_id)):
                return None
            created = iso_ms(now)
            if len(legs) == 1:
                top = self._new_order(
                    account_id, legs[0], duration=duration, tag=tag, reserved=reservations[0], created=created
                )
            else:
                # The parent: its first leg's contract under its own id; prices and reserves: the legs'.
                first = self._new_order(
                    account_id, legs[0], duration=duration, tag=tag, reserved=ZERO, created=created
                )
                top = replace(
                    first,
                    quantity=max(leg.quantity for leg in legs),
                    type=order_class,
                    price=None,
                    stop=None,
                    order_class=order_class,
                )
                top.legs = [
                    self._new_order(
                        account_id, leg, duration=duration, tag=None, reserved=reserved, created=created
                    )
                    for leg, reserved in zip(legs, reservations, strict=True)
                ]
                for leg_order in top.legs:
                    leg_order.parent = top
                _link(top.legs, order_class)
            # Legs an OTO/OTOCO holds back close what their trigger opens: checked when released.
            now_working = [
                leg for leg, stored in zip(legs, top.legs or [top], strict=True) if not stored.held
            ]
            rejection = self._excess_close(account_id, now_working) if check_positions else None
            for order in top.legs or [top]:
                order.status = "rejected" if rejection else ("pending" if order.held else status)
                order.reason = rejection
            if top.legs:
                top.sync_from_legs()
                top.reason = rejection
            self._orders[account_id].append(top)
            if top.working:
                self._working[top.id] = top
            return top

    def release(self, trigger: StoredOrder, now: datetime, *, in_session: bool) -> list[StoredOrder]:
        """The legs that waited on ``trigger`` (now filled) start working; returns them."""
        with self._lock:
            parent = trigger.parent
            released = (
                [] if parent is None else [o for o in parent.legs if o.trigger is trigger and o.working]
            )
            for order in released:
                order.trigger = None
                order.status = "open" if in_session else "pending"
                order.transaction_date = iso_ms(now)
            if parent is not None and released:
                parent.sync_from_legs()
            return released

    def _take_id(self) -> int:
        taken = self._next_id
        self._next_id += 1
        return taken

    def _new_order(
        self,
        account_id: str,
        leg: OptionLeg,
        *,
        duration: str,
        tag: str | None,
        reserved: Decimal,
        created: str,
    ) -> StoredOrder:
        """A working order of ``leg`` (contract, side, quantity, type and prices as the leg has them)."""
        order_id = self._take_id()
        return copy_fields(
            leg,
            StoredOrder,
            id=order_id,
            account_id=account_id,
            duration=duration,
            tag=tag,
            reserved=reserved,
            partner_id=str(uuid.UUID(int=order_id)),
            create_date=created,
        )

    def _excess_close(self, account_id: str, legs: Sequence[OptionLeg]) -> str | None:
        """Why a closing order cannot be accepted (the wording is ours; Tradier's is unverified)."""
        closing = [leg for leg in legs if leg.side.endswith("_to_close")]
        if not closing:
            return None
        leg = max(closing, key=lambda item: item.quantity)
        held = self.ledgers[account_id].held(leg.option_symbol)
        holding = held if leg.side == "sell_to_close" else -held
        # A leg still waiting for its trigger covers what that trigger will open, not what is held.
        covered = sum(
            max(
                (o.remaining for o in (top.legs or [top]) if o.working and not o.held and o.side == leg.side),
                default=0,
            )
            for top in self._orders[account_id]
            if top.working and top.option_symbol == leg.option_symbol
        )
        if leg.quantity + covered > holding:
            direction = "long" if leg.side == "sell_to_close" else "short"
            return (
                f"{leg.side} {leg.quantity} {leg.option_symbol}: the account holds {max(holding, ZERO):f} "
                f"{direction}, {covered} already covered by working orders"
            )
        return None

    def modify(
        self, account_id: str, order_id: int, changes: dict[str, Any], *, now: datetime
    ) -> StoredOrder:
        with self._lock:
            stored = next(o for o in self._orders[account_id] if o.id == order_id)
            for key, value in changes.items():
                setattr(stored, key, value)
            stored.triggered = False if "stop" in changes or "type" in changes else stored.triggered
            stored.transaction_date = iso_ms(now)
            return stored

    def cancel(self, account_id: str, order_id: int, *, now: datetime) -> StoredOrder:
        with self._lock:
            stored = next(o for o in self._orders[account_id] if o.id == order_id)
            self._close(stored, "canceled", now)
            return stored

    def expire(self, order: StoredOrder, *, now: datetime) -> None:
        """A day order's session ended (or its contract): its whole order is over, legs included."""
        with self._lock:
            self._close(order.parent or order, "expired", now)

    def _close(self, order: StoredOrder, status: str, now: datetime) -> None:
        for leaf in order.legs or [order]:
            if leaf.working:
                leaf.status = status
                leaf.transaction_date = iso_ms(now)
        if order.legs:
            order.sync_from_legs()
            order.transaction_date = iso_ms(now)

    def checked(self, order: StoredOrder, moment: datetime, *, in_session: bool) -> None:
        """The fill engine looked at ``order`` at ``moment``; a pending order opens with the session."""
        with self._lock:
            order.checked_to = moment
            if in_session and order.status == "pending" and not order.held:
                order.status = "open"
                if order.parent is not None:
                    order.parent.sync_from_legs()

    def fill(
        self,
        order: StoredOrder,
        quantity: int,
        price: Decimal,
        *,
        at: datetime,
        requirement_per_contract: Decimal,
    ) -> None:
        """Execute ``quantity`` of a working order at ``price``; an OCO's other leg is canceled."""
        with self._lock:
            stamp = iso_ms(at)
            order.exec_quantity += quantity
            order.fill_value += price * quantity
            order.last_fill_price = price
            order.last_fill_quantity = quantity
            order.fills += 1
            order.status = "filled" if order.remaining == 0 else "partially_filled"
            order.transaction_date = stamp
            signed = quantity if order.buying else -quantity
            self.ledgers[order.account_id].apply_fill(
                order.option_symbol,
                signed,
                price,
                at=stamp,
                requirement_per_contract=requirement_per_contract,
            )
            parent = order.parent
            if parent is not None:
                for sibling in order.oco_group:
                    if sibling is not order and sibling.working:
                        sibling.status = "canceled"
                        sibling.transaction_date = stamp
                parent.sync_from_legs()


def _link(legs: list[StoredOrder], order_class: str) -> None:
    """Who waits for whom and who cancels whom, by class (``oco``, ``oto``, ``otoco``)."""
    if order_class == "oco":
        for leg in legs:
            leg.oco_group = legs
        return
    first, rest = legs[0], legs[1:]
    for leg in rest:
        leg.trigger = first
        if order_class == "otoco":
            leg.oco_group = rest
