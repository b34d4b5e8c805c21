"""Cash and positions of one emulated account, and how a fill moves them.

An account starts from its configured balances and positions (the demo's positions stand for
trades made by hand, outside the pipeline). Fills then move cash (premium and a per-contract
commission), the position's signed quantity and cost basis (closing a part releases a
proportional share and books the difference as realized P/L), and, for shorts opened here, a
margin requirement that buying power must cover. Positions are carried at cost basis: the
server does not mark them to market, so equity changes only by commissions and realized P/L.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from spx_pipeline.emulator.config import EmulatedAccount
from spx_pipeline.emulator.response_format import long_money

COMMISSION_PER_CONTRACT = Decimal("0.35")
MULTIPLIER = 100
ZERO = Decimal("0")
CENT = Decimal("0.01")
QUANTITY = Decimal("1E-8")
FIRST_POSITION_ID = 100_001


@dataclass(slots=True)
class PositionLot:
    """One row of ``/accounts/{id}/positions``: quantity < 0 is short, cost basis signed alike."""

    id: int
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    date_acquired: str
    requirement: Decimal = ZERO  # margin held for a short opened by a fill here

    def to_wire(self) -> dict[str, Any]:
        """Tradier's fields of the lot (the margin requirement is the ledger's own)."""
        return {name: getattr(self, name) for name in _LOT_WIRE_FIELDS}


_LOT_WIRE_FIELDS = ("cost_basis", "date_acquired", "id", "quantity", "symbol")


def is_option(symbol: str) -> bool:
    return len(symbol) > 15 and symbol[-9] in "CP" and symbol[-8:].isdigit()


def short_requirement(*, strike: Decimal, is_call: bool, spot: Decimal, premium: Decimal) -> Decimal:
    """Per-contract requirement for a short index option, a Reg-T-like simplification.

    premium + max(15% of the index - out-of-the-money amount, 10% of the strike/index), x100.
    Real house requirements differ.
    """
    otm = max(strike - spot, ZERO) if is_call else max(spot - strike, ZERO)
    floor = Decimal("0.10") * (spot if is_call else strike)
    return ((premium + max(Decimal("0.15") * spot - otm, floor)) * MULTIPLIER).quantize(CENT)


class AccountLedger:
    """Mutable cash and positions on top of a frozen ``EmulatedAccount``; the book holds the lock."""

    def __init__(self, account: EmulatedAccount) -> None:
        self.account = account
        self.cash_delta = ZERO
        self.close_pl = ZERO
        self.lots: dict[str, PositionLot] = {}
        self._next_id = FIRST_POSITION_ID
        for position in account.positions:
            self._open_lot(position.symbol, position.quantity, position.cost_basis, position.date_acquired)
        self._initial_cost = self._cost()

    def _open_lot(self, symbol: str, quantity: Decimal, cost: Decimal, acquired: str) -> PositionLot:
        lot = PositionLot(self._next_id, symbol, quantity, cost, acquired)
        self._next_id += 1
        self.lots[symbol] = lot
        return lot

    def _cost(self) -> Decimal:
        return sum((lot.cost_basis for lot in self.lots.values()), ZERO)

    def held(self, symbol: str) -> Decimal:
        lot = self.lots.get(symbol)
        return lot.quantity if lot is not None else ZERO

    @property
    def requirement(self) -> Decimal:
        return sum((lot.requirement for lot in self.lots.values()), ZERO)

    def option_buying_power(self, reserved: Decimal) -> Decimal:
        """What option buys may still spend: configured BP moved by cash and short requirements."""
        return self.account.effective_option_buying_power + self.cash_delta - self.requirement - reserved

    def apply_fill(
        self, symbol: str, signed_quantity: int, price: Decimal, *, at: str, requirement_per_contract: Decimal
    ) -> None:
        """``signed_quantity`` contracts (> 0 bought, < 0 sold) at ``price`` per share."""
        qty = Decimal(signed_quantity)
        self.cash_delta -= qty * price * MULTIPLIER + COMMISSION_PER_CONTRACT * abs(qty)
        lot = self.lots.get(symbol)
        if lot is not None and lot.quantity * qty < 0:  # closes (part of) the position
            closing = min(abs(qty), abs(lot.quantity))
            share = closing / abs(lot.quantity)
            closed_cost = (lot.cost_basis * share).quantize(CENT)
            released = (lot.requirement * share).quantize(CENT)
            closing_signed = closing if qty > 0 else -closing
            self.close_pl -= closed_cost + closing_signed * price * MULTIPLIER
            lot.quantity = (lot.quantity + closing_signed).quantize(QUANTITY)
            lot.cost_basis -= closed_cost
            lot.requirement -= released
            qty -= closing_signed
            if lot.quantity == 0:
                del self.lots[symbol]
            lot = None
        if qty == 0:
            return
        cost = (qty * price * MULTIPLIER).quantize(CENT)
        if lot is None:
            lot = self.lots.get(symbol) or self._open_lot(symbol, ZERO.quantize(QUANTITY), ZERO, at)
        lot.quantity = (lot.quantity + qty).quantize(QUANTITY)
        lot.cost_basis += cost
        if qty < 0:
            lot.requirement += requirement_per_contract * -qty

    def positions(self) -> list[dict[str, Any]]:
        return [lot.to_wire() for lot in self.lots.values()]

    def balances(self, *, reserved: Decimal, open_orders: int) -> dict[str, Any]:
        """The per-account balances body: exactly one of margin/cash/pdt, by account_type."""
        a = self.account
        lots = list(self.lots.values())
        option_long = sum((p.cost_basis for p in lots if p.quantity > 0 and is_option(p.symbol)), ZERO)
        option_short = sum((p.cost_basis for p in lots if p.quantity < 0 and is_option(p.symbol)), ZERO)
        stock_long = sum((p.cost_basis for p in lots if p.quantity > 0 and not is_option(p.symbol)), ZERO)
        long_value = option_long + stock_long
        market_value = long_value + option_short
        requirement = -option_short * 2 if option_short else ZERO
        equity = a.total_equity + self.cash_delta + (self._cost() - self._initial_cost)
        body: dict[str, Any] = {
            "option_short_value": option_short,
            "total_equity": long_money(equity),
            "account_number": a.account_id,
            "account_type": a.account_type,
            "close_pl": self.close_pl if self.close_pl else 0,
            "current_requirement": requirement,
            "equity": 0,
            "long_market_value": long_value,
            "market_value": market_value,
            "open_pl": Decimal("-95.00") if lots else 0,
            "option_long_value": option_long,
            "option_requirement": requirement,
            "pending_orders_count": a.pending_orders_count + open_orders,
            "short_market_value": option_short,
            "stock_long_value": stock_long,
            "total_cash": long_money(a.cash + self.cash_delta),
            "uncleared_funds": 0,
            "pending_cash": a.pending_cash + reserved,
        }
        if a.account_type == "cash":
            body["cash"] = {
                "cash_available": long_money(a.cash + self.cash_delta - a.pending_cash - reserved),
                "sweep": 0,
                "unsettled_funds": Decimal("0.00"),
            }
            return body
        option_bp = self.option_buying_power(reserved)
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
            moved = self.cash_delta - self.requirement
            sub["day_trade_buying_power"] = long_money(
                a.effective_day_trade_buying_power + (moved - reserved) * 4
            )
            body["pdt"] = sub
        return body
