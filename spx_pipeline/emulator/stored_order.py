"""One order as the server keeps it and as ``GET .../orders`` reports it, fills included.

A single-leg order is one record; an OCO is a parent record holding its two leg records. Sizes
and prices go out the way Tradier writes them (quantities like ``1.00000000``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from spx_pipeline.domain.tradier.enums import WORKING_STATUSES, Side
from spx_pipeline.emulator.ledger import CENT, ZERO

EIGHT_PLACES = Decimal("1E-8")


def _eight(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(EIGHT_PLACES)


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(slots=True, eq=False)
class StoredOrder:
    """One placed order (or one leg of an OCO), in the fields ``GET .../orders`` reports."""

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
    reserved: Decimal  # the reservation of the whole quantity; the unfilled part stays reserved
    partner_id: str
    create_date: str
    status: str = "open"
    transaction_date: str = ""
    order_class: str = "option"
    legs: list[StoredOrder] = field(default_factory=list)
    parent: StoredOrder | None = field(default=None, repr=False)
    exec_quantity: int = 0
    fill_value: Decimal = ZERO  # sum of quantity x price over fills, for avg_fill_price
    last_fill_price: Decimal = ZERO
    last_fill_quantity: int = 0
    fills: int = 0
    triggered: bool = False  # a stop whose trigger was touched
    checked_to: datetime | None = None  # the last instant the fill engine looked at it
    expires_at: datetime | None = None
    reason: str | None = None  # reason_description of a rejection
    # OTO/OTOCO: the leg that must fill completely before this one works (None: works now).
    trigger: StoredOrder | None = field(default=None, repr=False)
    # The legs one fill of this leg cancels (an OCO pair: each other; an OTO's entry: none).
    oco_group: list[StoredOrder] = field(default_factory=list, repr=False)

    @property
    def buying(self) -> bool:
        return self.side in (Side.BUY_TO_OPEN, Side.BUY_TO_CLOSE)

    @property
    def working(self) -> bool:
        return self.status in WORKING_STATUSES

    @property
    def held(self) -> bool:
        """An OTO/OTOCO leg waiting for its trigger to fill: listed as pending, never filled."""
        return self.trigger is not None

    @property
    def remaining(self) -> int:
        return self.quantity - self.exec_quantity

    def reserved_now(self) -> Decimal:
        """What this order still holds of the account's buying power."""
        if self.legs:
            return max((leg.reserved_now() for leg in self.legs), default=ZERO)
        if not self.working or not self.buying or self.remaining == self.quantity:
            return self.reserved if self.working and self.buying else ZERO
        return (self.reserved * self.remaining / self.quantity).quantize(CENT)

    def to_wire(self, *, include_tags: bool) -> dict[str, Any]:
        if self.legs:
            return self._oco_to_wire(include_tags=include_tags)
        qty = _eight(self.quantity)
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
        avg = self.fill_value / self.exec_quantity if self.exec_quantity else ZERO
        row.update(
            {
                "avg_fill_price": _eight(avg),
                "exec_quantity": _eight(self.exec_quantity),
                "last_fill_price": _eight(self.last_fill_price),
                "last_fill_quantity": _eight(self.last_fill_quantity),
                "remaining_quantity": _eight(self.remaining) if self.working else _eight(0),
                "create_date": self.create_date,
                "transaction_date": self.transaction_date or self.create_date,
                "class": "option",
                "option_symbol": self.option_symbol,
            }
        )
        if self.reason:
            row["reason_description"] = self.reason
        if include_tags and self.tag:
            row["tag"] = self.tag
        return row

    def _oco_to_wire(self, *, include_tags: bool) -> dict[str, Any]:
        """The parent row of an OCO/OTO/OTOCO (constructed: Tradier's exact document is unverified)."""
        executed = [leg for leg in self.legs if leg.exec_quantity]
        exec_qty = sum(leg.exec_quantity for leg in executed)
        value = sum((leg.fill_value for leg in executed), ZERO)
        latest = max(executed, key=lambda leg: leg.transaction_date, default=None)
        remaining = max((leg.remaining for leg in self.legs if leg.working), default=0)
        row: dict[str, Any] = {
            "id": self.id,
            "type": self.order_class,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": _eight(self.quantity),
            "status": self.status,
            "duration": self.duration,
            "avg_fill_price": _eight(value / exec_qty if exec_qty else ZERO),
            "exec_quantity": _eight(exec_qty),
            "last_fill_price": _eight(latest.last_fill_price if latest else ZERO),
            "last_fill_quantity": _eight(latest.last_fill_quantity if latest else 0),
            "remaining_quantity": _eight(remaining),
            "create_date": self.create_date,
            "transaction_date": self.transaction_date or self.create_date,
            "class": self.order_class,
            "num_legs": len(self.legs),
            "strategy": self.order_class,
            "leg": [leg.to_wire(include_tags=False) for leg in self.legs],
        }
        if include_tags and self.tag:
            row["tag"] = self.tag
        return row

    def sync_from_legs(self) -> None:
        """A parent's status: working while a leg works (an OTO's stop after its entry filled), else
        filled by its executing leg, else its legs' state."""
        statuses = {leg.status for leg in self.legs}
        for status in ("partially_filled", "open", "pending", "filled", "expired", "rejected"):
            if status in statuses:
                self.status = status
                break
        else:
            self.status = "canceled"
        self.transaction_date = max(leg.transaction_date or leg.create_date for leg in self.legs)
