"""Typed, frozen records of Tradier responses, each keeping the object it was read from in ``.raw``.

Each model is a declaration: its fields' types (``fields``) absorb the wire's quirks, so a record
is read by ``from_json`` with no per-field code. Money is ``Decimal`` (Tradier sends 20+ digit
tails) and every field is optional unless Tradier cannot omit it. ``raw`` is excluded from
repr/eq/hash so records stay comparable while storage keeps the document verbatim.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from spx_pipeline.broker.tradier import normalize
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.broker.tradier.fields import (
    Count,
    Day,
    Epoch,
    Flag,
    HourMinute,
    KeepsRaw,
    Listed,
    Maybe,
    Money,
    RequiredDay,
    RequiredMoney,
    RequiredText,
    SmallCount,
    Stamp,
    Text,
    Vocabulary,
    parse,
)
from spx_pipeline.domain.accounts import pdt_qualified as pdt_rule
from spx_pipeline.domain.tradier.enums import (
    ACCOUNT_TYPES,
    AccountType,
    OrderClass,
    OrderStatus,
    OrderType,
    Side,
)

__all__ = ["ACCOUNT_TYPES", "AccountType"]  # the vocabulary, re-exported next to the records using it

_Raw = Mapping[str, Any]
StatusWord = Vocabulary(OrderStatus)
SideWord = Vocabulary(Side)
TypeWord = Vocabulary(OrderType)
ClassWord = Vocabulary(OrderClass)


def _record(title: str, *, member: str | None = None) -> Any:
    """The decorator of every record: a frozen pydantic dataclass, ``title`` starting its error paths.

    ``member`` names the body key ``from_json`` reads (``{"order": {...}}``); without it
    ``from_json`` takes the object itself. Fields are keyword-only, so a record's required fields
    may follow the base's ``raw``.
    """

    def wrap(cls: type) -> type:
        cls.title, cls.member = title, member  # type: ignore[attr-defined]
        config = ConfigDict(title=title, populate_by_name=True)
        return dataclass(frozen=True, slots=True, kw_only=True, config=config)(cls)

    return wrap


@_record("response")
class _Response(KeepsRaw):
    """``raw`` and ``from_json`` for every record."""

    title: ClassVar[str]
    member: ClassVar[str | None]
    raw: _Raw = dataclasses.field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: _Raw) -> Self:
        body = normalize.member(data, cls.member) if cls.member else data
        return parse(cls, body, where=cls.member or cls.title)


@_record("margin")
class MarginBalances(_Response):
    """The ``margin`` sub-object; ``pdt`` accounts report the same figures plus day-trade BP."""

    fed_call: Money = None
    maintenance_call: Money = None
    option_buying_power: Money = None
    stock_buying_power: Money = None
    stock_short_value: Money = None
    sweep: Money = None


@_record("pdt")
class PdtBalances(MarginBalances):
    day_trade_buying_power: Money = None


@_record("cash")
class CashBalances(_Response):
    cash_available: Money = None
    unsettled_funds: Money = None
    sweep: Money = None


@_record("balances")
class Balances(_Response):
    """One account's balances, whatever ``account_type`` Tradier chose.

    Tradier sends exactly one of the ``margin``/``cash``/``pdt`` sub-objects, picked by
    ``account_type``; paper accounts have been seen as ``pdt`` where bots expected ``margin``. All
    three are parsed when present, and the derived figures probe the others when the one named by
    ``account_type`` is missing, so a disagreeing response still yields the buying power it carries.
    """

    account_number: RequiredText
    account_type: AccountType
    # equity and cash
    total_equity: Money = None
    total_cash: Money = None
    equity: Money = None
    net_value: Money = None
    cash_available: Money = None
    # what is held, at market
    market_value: Money = None
    long_market_value: Money = None
    short_market_value: Money = None
    stock_long_value: Money = None
    option_long_value: Money = None
    option_short_value: Money = None
    # profit and loss
    open_pl: Money = None
    close_pl: Money = None
    # requirements
    current_requirement: Money = None
    option_requirement: Money = None
    # money and orders in flight
    pending_orders_count: SmallCount = None
    pending_cash: Money = None
    uncleared_funds: Money = None
    unsettled_funds: Money = None
    dividend_balance: Money = None
    # the sub-object of the account's type (others when Tradier disagrees with itself)
    margin: Maybe[MarginBalances] = None
    cash: Maybe[CashBalances] = None
    pdt: Maybe[PdtBalances] = None

    @classmethod
    def from_json(cls, data: _Raw, *, account_number: str | None = None) -> Balances:  # type: ignore[override]
        """Parse a ``balances`` object for ``account_number`` (which fills in when the body omits it).

        A body naming another account is refused: it answers a question that was not asked.
        """
        if not isinstance(data, Mapping):
            raise TradierMalformedResponseError(f"balances is {type(data).__name__}, not an object")
        named = normalize.opt_str(data.get("account_number"), field="balances.account_number")
        if named is not None and account_number is not None and named.strip() != account_number:
            # Stored under the requested account, another account's figures would be misattributed.
            raise TradierMalformedResponseError(
                f"balances.account_number is {named!r} for a request about {account_number}; refused"
            )
        number = named or account_number
        if number is None:
            raise TradierMalformedResponseError("balances.account_number is missing")
        return parse(cls, {**data, "account_number": number, "raw": data}, where="balances")

    @model_validator(mode="before")
    @classmethod
    def _account_type(cls, data: Any) -> Any:
        """The declared type, or the one sub-object's name when Tradier left the type out."""
        if not isinstance(data, Mapping):
            return data
        subs = [name for name in ACCOUNT_TYPES if not normalize.is_empty(data.get(name))]
        for name in subs:
            if not isinstance(data[name], Mapping):
                raise TradierMalformedResponseError(
                    f"balances.{name} is {type(data[name]).__name__}, not an object"
                )
        declared = normalize.opt_str(data.get("account_type"), field="balances.account_type")
        if declared is None:
            if len(subs) != 1:
                raise TradierMalformedResponseError(
                    f"balances.account_type is missing and sub-objects {sorted(subs)} do not tell it"
                )
            declared = subs[0]
        account_type = AccountType.parse(declared.strip().lower())
        if account_type is None:
            raise TradierMalformedResponseError(
                f"balances.account_type is {declared!r} for account {data.get('account_number')}; "
                "expected margin, cash or pdt"
            )
        return {**data, "account_type": account_type}

    @property
    def option_buying_power(self) -> Decimal | None:
        """``option_buying_power`` from the sub-object of ``account_type``, else whichever has it."""
        order = (self.pdt, self.margin) if self.account_type == AccountType.PDT else (self.margin, self.pdt)
        for sub in order:
            if sub is not None and sub.option_buying_power is not None:
                return sub.option_buying_power
        return None

    @property
    def effective_cash_available(self) -> Decimal | None:
        if self.cash is not None and self.cash.cash_available is not None:
            return self.cash.cash_available
        return self.cash_available

    @property
    def effective_option_buying_power(self) -> Decimal | None:
        """What limits an option buy: option BP on margin/pdt, settled cash on cash accounts.

        Cash accounts have no ``option_buying_power``; their spendable figure is
        ``cash.cash_available``. When the declared type's sub-object is absent, the other kind is
        probed rather than reporting zero (the "$0 buying power on a pdt paper account" bug).
        """
        if self.account_type == AccountType.CASH:
            cash = self.effective_cash_available
            return cash if cash is not None else self.option_buying_power
        bp = self.option_buying_power
        return bp if bp is not None else self.effective_cash_available

    @property
    def day_trade_buying_power(self) -> Decimal | None:
        """Reported only by pdt accounts (and optional even there)."""
        return self.pdt.day_trade_buying_power if self.pdt is not None else None

    @property
    def pdt_qualified(self) -> bool | None:
        """The domain's one PDT rule (``domain.accounts.pdt_qualified``) on this record's type and equity.

        The balances endpoint has no explicit flag, and the pipeline derives the same value from the
        same two fields, so the record and the snapshots can never disagree.
        """
        return pdt_rule(self.account_type, self.total_equity)


@_record("account")
class Account(_Response):
    """One account of a profile: what it is and what it may trade."""

    account_number: RequiredText
    type: Text = None
    classification: Text = None
    status: Text = None
    # trading permissions
    option_level: Count = None
    day_trader: Flag = None
    # history
    date_created: Stamp = None
    last_update_date: Stamp = None


@_record("profile", member="profile")
class Profile(_Response):
    id: Text = None
    name: Text = None
    accounts: Listed[Account] = Field(default=(), alias="account")


@_record("position")
class Position(_Response):
    """One holding; a negative quantity is short."""

    symbol: RequiredText
    quantity: RequiredMoney
    id: Count = None
    cost_basis: Money = None
    date_acquired: Stamp = None


@_record("order")
class _OrderTerms(_Response):
    """What an order and its preview both state: the contract, side, type, size and limit price."""

    # what is traded
    symbol: Text = None
    option_symbol: Text = None
    order_class: ClassWord = Field(default=None, alias="class")
    strategy: Text = None
    # the instruction
    side: SideWord = None
    type: TypeWord = None
    duration: Text = None
    quantity: Money = None
    price: Money = None


@_record("order")
class Order(_OrderTerms):
    """An order, or one leg of an OCO / multileg order (``legs``, Tradier's ``leg``).

    ``order_class`` is Tradier's ``class`` key; ``status``, ``side``, ``type`` and ``order_class``
    are the domain's string enums (text Tradier may add later stays text).
    """

    id: Count = None
    status: StatusWord = None
    stop_price: Money = None
    # fills
    avg_fill_price: Money = None
    exec_quantity: Money = None
    last_fill_price: Money = None
    last_fill_quantity: Money = None
    remaining_quantity: Money = None
    # history
    create_date: Stamp = None
    transaction_date: Stamp = None
    reason_description: Text = None
    # reconciliation (by tag) and the legs of an OCO or multileg order
    tag: Text = None
    num_legs: Count = None
    legs: Listed[Order] = Field(default=(), alias="leg")

    @property
    def working(self) -> bool:
        """Still able to fill (open, pending, partially filled)."""
        return isinstance(self.status, OrderStatus) and self.status.working


@_record("order", member="order")
class OrderResult(_Response):
    """Answer to a place/modify/cancel: ``status == "ok"`` only means accepted for routing.

    ``reconciled`` is True when the result was found by tag after an ambiguous placement instead of
    being returned by the placement itself.
    """

    id: Count = None
    status: Text = None
    partner_id: Text = None
    reconciled: bool = False


@_record("order", member="order")
class OrderPreview(_OrderTerms):
    """``preview=true`` answer; ``cost``/``order_cost`` keep Tradier's signs as sent."""

    status: Text = None
    result: Flag = None
    # what it would cost
    commission: Money = None
    cost: Money = None
    fees: Money = None
    order_cost: Money = None
    # what it would hold
    margin_change: Money = None
    option_requirement: Money = None
    day_trades: Count = None
    request_date: Stamp = None


@_record("clock", member="clock")
class Clock(_Response):
    """The market's state now (``/markets/clock``) and when it changes next."""

    state: RequiredText
    date: Day = None
    description: Text = None
    timestamp: Epoch = None
    # what comes next
    next_change: HourMinute = None
    next_state: Text = None


@_record("session")
class SessionHours(_Response):
    """A session's start/end, Eastern wall-clock times as Tradier gives them."""

    start: HourMinute = None
    end: HourMinute = None


@_record("calendar.day")
class CalendarDay(_Response):
    """One day of ``/markets/calendar``: open or closed, and its sessions' hours."""

    date: RequiredDay
    status: Text = None
    description: Text = None
    # sessions
    premarket: Maybe[SessionHours] = None
    open: Maybe[SessionHours] = None
    postmarket: Maybe[SessionHours] = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"
