"""Tradier's vocabulary as string enums: one definition each, shared by every layer.

``StrEnum`` members are ``str``, so they compare equal to the wire's spelling
(``Side.BUY_TO_OPEN == "buy_to_open"``), format as it and go into forms, JSON and SQL unchanged.
``parse`` turns wire text into a member; callers that must tolerate spellings Tradier may add later
(statuses in responses) use ``known`` instead, which keeps unknown text as plain ``str``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class _WireEnum(StrEnum):
    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, value: object) -> Self | None:
        """The member spelled ``value``, or None."""
        try:
            return cls(value)
        except ValueError:
            return None

    @classmethod
    def known(cls, value: str) -> Self | str:
        """The member spelled ``value``; text outside the vocabulary is kept as it came."""
        member = cls.parse(value)
        return value if member is None else member


class Side(_WireEnum):
    BUY_TO_OPEN = "buy_to_open"
    BUY_TO_CLOSE = "buy_to_close"
    SELL_TO_OPEN = "sell_to_open"
    SELL_TO_CLOSE = "sell_to_close"

    @property
    def buying(self) -> bool:
        return self in (Side.BUY_TO_OPEN, Side.BUY_TO_CLOSE)

    @property
    def closing(self) -> bool:
        return self in (Side.BUY_TO_CLOSE, Side.SELL_TO_CLOSE)


class OrderType(_WireEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"

    @property
    def uses_price(self) -> bool:
        """A limit price goes with limit and stop_limit orders, and only with them."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def uses_stop(self) -> bool:
        """A stop (trigger) price goes with stop and stop_limit orders, and only with them."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)


class Duration(_WireEnum):
    DAY = "day"
    GTC = "gtc"
    PRE = "pre"
    POST = "post"

    @property
    def extended_session(self) -> bool:
        return self in (Duration.PRE, Duration.POST)


class OrderClass(_WireEnum):
    """Every class Tradier reports; requests are built for ``option``, ``oco``, ``oto`` and ``otoco``."""

    EQUITY = "equity"
    OPTION = "option"
    MULTILEG = "multileg"
    COMBO = "combo"
    OTO = "oto"
    OCO = "oco"
    OTOCO = "otoco"


class AccountType(_WireEnum):
    MARGIN = "margin"
    CASH = "cash"
    PDT = "pdt"


class Environment(_WireEnum):
    """Which Tradier host a credential belongs to: the sandbox (paper) or the live brokerage."""

    SANDBOX = "sandbox"
    LIVE = "live"


class OrderStatus(_WireEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    EXPIRED = "expired"
    CANCELED = "canceled"
    PENDING = "pending"
    REJECTED = "rejected"
    ERROR = "error"

    @property
    def working(self) -> bool:
        """Still able to fill: open, pending or partially filled."""
        return self in WORKING_STATUSES


WORKING_STATUSES = frozenset({OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED})
ACCOUNT_TYPES: tuple[str, ...] = AccountType.values()
ENVIRONMENTS: tuple[str, ...] = Environment.values()
