"""Typed, frozen records of Tradier responses, each keeping the raw JSON in ``.raw``.

Money is ``Decimal`` (Tradier sends 20+ digit tails), every field is optional unless Tradier cannot
omit it, and parsing goes through ``normalize`` so the collapse/"null" quirks are handled once. The
raw dict is kept beside the typed view because downstream storage snapshots it verbatim and because
Tradier adds fields without notice; it is excluded from repr/eq/hash so records stay comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from spx_pipeline.broker.tradier import normalize as n
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.domain.accounts import pdt_qualified as pdt_rule

AccountType = Literal["margin", "cash", "pdt"]
ACCOUNT_TYPES: tuple[AccountType, ...] = ("margin", "cash", "pdt")

_Raw = Mapping[str, Any]


def _decimal_fields(cls: type, data: _Raw, prefix: str) -> dict[str, Decimal | None]:
    """Every field of a sub-balance dataclass, read as an optional Decimal from ``data``."""
    return {f.name: n.opt_decimal(data.get(f.name), field=f"{prefix}.{f.name}") for f in fields(cls)}


@dataclass(frozen=True, slots=True)
class MarginBalances:
    fed_call: Decimal | None = None
    maintenance_call: Decimal | None = None
    option_buying_power: Decimal | None = None
    stock_buying_power: Decimal | None = None
    stock_short_value: Decimal | None = None
    sweep: Decimal | None = None

    @classmethod
    def from_json(cls, data: _Raw, *, prefix: str = "margin") -> MarginBalances:
        return cls(**_decimal_fields(cls, data, prefix))


@dataclass(frozen=True, slots=True)
class PdtBalances:
    fed_call: Decimal | None = None
    maintenance_call: Decimal | None = None
    option_buying_power: Decimal | None = None
    stock_buying_power: Decimal | None = None
    stock_short_value: Decimal | None = None
    day_trade_buying_power: Decimal | None = None

    @classmethod
    def from_json(cls, data: _Raw) -> PdtBalances:
        return cls(**_decimal_fields(cls, data, "pdt"))


@dataclass(frozen=True, slots=True)
class CashBalances:
    cash_available: Decimal | None = None
    unsettled_funds: Decimal | None = None
    sweep: Decimal | None = None

    @classmethod
    def from_json(cls, data: _Raw) -> CashBalances:
        return cls(**_decimal_fields(cls, data, "cash"))


_TOP_DECIMALS = (
    "total_equity",
    "total_cash",
    "market_value",
    "long_market_value",
    "short_market_value",
    "stock_long_value",
    "option_long_value",
    "option_short_value",
    "open_pl",
    "close_pl",
    "equity",
    "current_requirement",
    "option_requirement",
    "pending_cash",
    "uncleared_funds",
    "dividend_balance",
    "net_value",
    "unsettled_funds",
    "cash_available",
)


@dataclass(frozen=True, slots=True)
class Balances:
    """One account's balances, whatever ``account_type`` Tradier chose.

    Tradier sends exactly one of the ``margin``/``cash``/``pdt`` sub-objects, picked by
    ``account_type``; paper accounts have been seen as ``pdt`` where bots expected ``margin``. All
    three are parsed when present, and the derived figures probe the others when the one named by
    ``account_type`` is missing, so a disagreeing response still yields the buying power it carries.
    """

    account_number: str
    account_type: AccountType
    total_equity: Decimal | None = None
    total_cash: Decimal | None = None
    market_value: Decimal | None = None
    long_market_value: Decimal | None = None
    short_market_value: Decimal | None = None
    stock_long_value: Decimal | None = None
    option_long_value: Decimal | None = None
    option_short_value: Decimal | None = None
    open_pl: Decimal | None = None
    close_pl: Decimal | None = None
    equity: Decimal | None = None
    current_requirement: Decimal | None = None
    option_requirement: Decimal | None = None
    pending_orders_count: int | None = None
    pending_cash: Decimal | None = None
    uncleared_funds: Decimal | None = None
    dividend_balance: Decimal | None = None
    net_value: Decimal | None = None
    unsettled_funds: Decimal | None = None
    cash_available: Decimal | None = None
    margin: MarginBalances | None = None
    cash: CashBalances | None = None
    pdt: PdtBalances | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: _Raw, *, account_number: str | None = None) -> Balances:
        """Parse a ``balances`` object; ``account_number`` fills in when the body omits it."""
        if not isinstance(data, Mapping):
            raise TradierMalformedResponseError(f"balances is {type(data).__name__}, not an object")
        number = n.opt_str(data.get("account_number"), field="balances.account_number") or account_number
        if number is None:
            raise TradierMalformedResponseError("balances.account_number is missing")
        subs = {name: data[name] for name in ACCOUNT_TYPES if name in data and not n.is_empty(data[name])}
        for name, sub in subs.items():
            if not isinstance(sub, Mapping):
                raise TradierMalformedResponseError(f"balances.{name} is {type(sub).__name__}, not an object")
        declared = n.opt_str(data.get("account_type"), field="balances.account_type")
        if declared is None:
            if len(subs) != 1:
                raise TradierMalformedResponseError(
                    f"balances.account_type is missing and sub-objects {sorted(subs)} do not tell it"
                )
            declared = next(iter(subs))
        account_type = declared.strip().lower()
        if account_type not in ACCOUNT_TYPES:
            raise TradierMalformedResponseError(
                f"balances.account_type is {declared!r} for account {number}; expected margin, cash or pdt"
            )
        values: dict[str, Any] = {
            name: n.opt_decimal(data.get(name), field=f"balances.{name}") for name in _TOP_DECIMALS
        }
        return cls(
            account_number=number,
            account_type=account_type,  # type: ignore[arg-type]
            pending_orders_count=n.opt_int(
                data.get("pending_orders_count"), field="balances.pending_orders_count"
            ),
            margin=MarginBalances.from_json(subs["margin"]) if "margin" in subs else None,
            cash=CashBalances.from_json(subs["cash"]) if "cash" in subs else None,
            pdt=PdtBalances.from_json(subs["pdt"]) if "pdt" in subs else None,
            raw=data,
            **values,
        )

    @property
    def option_buying_power(self) -> Decimal | None:
        """``option_buying_power`` from the sub-object of ``account_type``, else whichever has it."""
        order = (self.pdt, self.margin) if self.account_type == "pdt" else (self.margin, self.pdt)
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
        if self.account_type == "cash":
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


@dataclass(frozen=True, slots=True)
class Account:
    account_number: str
    classification: str | None = None
    date_created: datetime | None = None
    day_trader: bool | None = None
    option_level: int | None = None
    status: str | None = None
    type: str | None = None
    last_update_date: datetime | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: _Raw) -> Account:
        number = n.opt_str(data.get("account_number"), field="account.account_number")
        if number is None:
            raise TradierMalformedResponseError("profile.account.account_number is missing")
        return cls(
            account_number=number,
            classification=n.opt_str(data.get("classification"), field="account.classification"),
            date_created=n.opt_datetime(data.get("date_created"), field="account.date_created"),
            day_trader=n.opt_bool(data.get("day_trader"), field="account.day_trader"),
            option_level=n.opt_int(data.get("option_level"), field="account.option_level"),
            status=n.opt_str(data.get("status"), field="account.status"),
            type=n.opt_str(data.get("type"), field="account.type"),
            last_update_date=n.opt_datetime(data.get("last_update_date"), field="account.last_update_date"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Profile:
    id: str | None
    name: str | None
    accounts: tuple[Account, ...]
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, body: _Raw) -> Profile:
        profile = n.member(body, "profile")
        accounts = n.collection(body, "profile", "account")
        return cls(
            id=n.opt_str(profile.get("id"), field="profile.id"),
            name=n.opt_str(profile.get("name"), field="profile.name"),
            accounts=tuple(Account.from_json(_obj(item, "profile.account")) for item in accounts),
            raw=profile,
        )


@dataclass(frozen=True, slots=True)
class Position:
    id: int | None
    symbol: str
    quantity: Decimal
    cost_basis: Decimal | None = None
    date_acquired: datetime | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: _Raw) -> Position:
        symbol = n.opt_str(data.get("symbol"), field="position.symbol")
        quantity = n.opt_decimal(data.get("quantity"), field="position.quantity")
        if symbol is None or quantity is None:
            raise TradierMalformedResponseError(f"position lacks symbol or quantity: {dict(data)!r:.120}")
        return cls(
            id=n.opt_int(data.get("id"), field="position.id"),
            symbol=symbol,
            quantity=quantity,
            cost_basis=n.opt_decimal(data.get("cost_basis"), field="position.cost_basis"),
            date_acquired=n.opt_datetime(data.get("date_acquired"), field="position.date_acquired"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order (or a multileg leg). ``order_class`` is Tradier's ``class`` key."""

    id: int | None
    status: str | None
    symbol: str | None = None
    side: str | None = None
    type: str | None = None
    duration: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    avg_fill_price: Decimal | None = None
    exec_quantity: Decimal | None = None
    last_fill_price: Decimal | None = None
    last_fill_quantity: Decimal | None = None
    remaining_quantity: Decimal | None = None
    create_date: datetime | None = None
    transaction_date: datetime | None = None
    order_class: str | None = None
    strategy: str | None = None
    option_symbol: str | None = None
    num_legs: int | None = None
    legs: tuple[Order, ...] = ()
    reason_description: str | None = None
    tag: str | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: _Raw) -> Order:
        def dec(name: str) -> Decimal | None:
            return n.opt_decimal(data.get(name), field=f"order.{name}")

        def text(name: str) -> str | None:
            return n.opt_str(data.get(name), field=f"order.{name}")

        legs = tuple(
            Order.from_json(_obj(leg, "order.leg")) for leg in n.as_list(data.get("leg"), field="leg")
        )
        return cls(
            id=n.opt_int(data.get("id"), field="order.id"),
            status=text("status"),
            symbol=text("symbol"),
            side=text("side"),
            type=text("type"),
            duration=text("duration"),
            quantity=dec("quantity"),
            price=dec("price"),
            stop_price=dec("stop_price"),
            avg_fill_price=dec("avg_fill_price"),
            exec_quantity=dec("exec_quantity"),
            last_fill_price=dec("last_fill_price"),
            last_fill_quantity=dec("last_fill_quantity"),
            remaining_quantity=dec("remaining_quantity"),
            create_date=n.opt_datetime(data.get("create_date"), field="order.create_date"),
            transaction_date=n.opt_datetime(data.get("transaction_date"), field="order.transaction_date"),
            order_class=text("class"),
            strategy=text("strategy"),
            option_symbol=text("option_symbol"),
            num_legs=n.opt_int(data.get("num_legs"), field="order.num_legs"),
            legs=legs,
            reason_description=text("reason_description"),
            tag=text("tag"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class OrderResult:
    """Answer to a place/modify/cancel: ``status == "ok"`` only means accepted for routing.

    ``reconciled`` is True when the result was found by tag after an ambiguous placement instead of
    being returned by the placement itself.
    """

    id: int | None
    status: str | None
    partner_id: str | None = None
    reconciled: bool = False
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, body: _Raw) -> OrderResult:
        order = n.member(body, "order")
        return cls(
            id=n.opt_int(order.get("id"), field="order.id"),
            status=n.opt_str(order.get("status"), field="order.status"),
            partner_id=n.opt_str(order.get("partner_id"), field="order.partner_id"),
            raw=order,
        )


@dataclass(frozen=True, slots=True)
class OrderPreview:
    """``preview=true`` answer; sign conventions of ``cost``/``order_cost`` are Tradier's (see reference)."""

    status: str | None
    result: bool | None = None
    commission: Decimal | None = None
    cost: Decimal | None = None
    fees: Decimal | None = None
    order_cost: Decimal | None = None
    margin_change: Decimal | None = None
    option_requirement: Decimal | None = None
    symbol: str | None = None
    option_symbol: str | None = None
    quantity: Decimal | None = None
    side: str | None = None
    type: str | None = None
    duration: str | None = None
    price: Decimal | None = None
    order_class: str | None = None
    strategy: str | None = None
    day_trades: int | None = None
    request_date: datetime | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, body: _Raw) -> OrderPreview:
        order = n.member(body, "order")

        def dec(name: str) -> Decimal | None:
            return n.opt_decimal(order.get(name), field=f"order.{name}")

        def text(name: str) -> str | None:
            return n.opt_str(order.get(name), field=f"order.{name}")

        return cls(
            status=text("status"),
            result=n.opt_bool(order.get("result"), field="order.result"),
            commission=dec("commission"),
            cost=dec("cost"),
            fees=dec("fees"),
            order_cost=dec("order_cost"),
            margin_change=dec("margin_change"),
            option_requirement=dec("option_requirement"),
            symbol=text("symbol"),
            option_symbol=text("option_symbol"),
            quantity=dec("quantity"),
            side=text("side"),
            type=text("type"),
            duration=text("duration"),
            price=dec("price"),
            order_class=text("class"),
            strategy=text("strategy"),
            day_trades=n.opt_int(order.get("day_trades"), field="order.day_trades"),
            request_date=n.opt_datetime(order.get("request_date"), field="order.request_date"),
            raw=order,
        )


@dataclass(frozen=True, slots=True)
class Clock:
    date: date | None
    description: str | None
    state: str
    timestamp: datetime | None
    next_change: time | None
    next_state: str | None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, body: _Raw) -> Clock:
        clock = n.member(body, "clock")
        state = n.opt_str(clock.get("state"), field="clock.state")
        if state is None:
            raise TradierMalformedResponseError("clock.state is missing")
        return cls(
            date=n.opt_date(clock.get("date"), field="clock.date"),
            description=n.opt_str(clock.get("description"), field="clock.description"),
            state=state,
            timestamp=n.opt_epoch(clock.get("timestamp"), field="clock.timestamp"),
            next_change=n.opt_hhmm(clock.get("next_change"), field="clock.next_change"),
            next_state=n.opt_str(clock.get("next_state"), field="clock.next_state"),
            raw=clock,
        )


@dataclass(frozen=True, slots=True)
class SessionHours:
    """A session's start/end, Eastern wall-clock times as Tradier gives them."""

    start: time | None
    end: time | None


@dataclass(frozen=True, slots=True)
class CalendarDay:
    date: date
    status: str | None
    description: str | None = None
    premarket: SessionHours | None = None
    open: SessionHours | None = None
    postmarket: SessionHours | None = None
    raw: _Raw = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_json(cls, data: _Raw) -> CalendarDay:
        day = n.opt_date(data.get("date"), field="calendar.day.date")
        if day is None:
            raise TradierMalformedResponseError("calendar.days.day.date is missing")

        def session(name: str) -> SessionHours | None:
            value = data.get(name)
            if n.is_empty(value):
                return None
            value = _obj(value, f"calendar.day.{name}")
            return SessionHours(
                start=n.opt_hhmm(value.get("start"), field=f"{name}.start"),
                end=n.opt_hhmm(value.get("end"), field=f"{name}.end"),
            )

        return cls(
            date=day,
            status=n.opt_str(data.get("status"), field="calendar.day.status"),
            description=n.opt_str(data.get("description"), field="calendar.day.description"),
            premarket=session("premarket"),
            open=session("open"),
            postmarket=session("postmarket"),
            raw=data,
        )


def _obj(item: object, where: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise TradierMalformedResponseError(f"{where} is {type(item).__name__} {item!r:.60}, not an object")
    return item
