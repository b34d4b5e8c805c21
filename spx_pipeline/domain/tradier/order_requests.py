"""Option, OCO, OTO/OTOCO and modify requests as typed values, with the one set of rules Tradier's wire obeys.

The ticket builders (``domain.orders``), the broker client and the local Tradier server all build
or read requests here, so a form one of them accepts the others accept too. A refusal is one
``OrderPayloadError`` naming the wire field (``price``, ``stop[1]``...) and the value. Policies
that are ours rather than Tradier's belong to the builders. Frozen dataclasses rather than
pydantic models: every rule is a cross-field check that must raise the domain's own error with the
wire's field name, and the local server reads forms with them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, Final, Self

from spx_pipeline.domain.occ import OptionContract
from spx_pipeline.domain.tradier.enums import Duration, OrderClass, OrderType, Side
from spx_pipeline.domain.tradier.order_rules import (
    OrderPayloadError,
    check_preview,
    check_prices,
    check_tag,
    choice,
    fixed,
    option_contract,
    tick_price,
    whole_contracts,
)

# Per-order keys of an OCO form, indexed from 0 (``side[0]``, ``stop[1]``), in Tradier's order.
OCO_LEG_KEYS: Final = ("symbol", "quantity", "type", "option_symbol", "side", "price", "stop")


# -- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionLeg:
    """One single-leg option order: the whole of ``class=option``, one half of ``class=oco``.

    ``symbol`` is the underlying (SPX for an SPXW contract; the root is accepted when read from a
    form) and ``option_symbol`` the unpadded Tradier spelling.
    """

    symbol: str
    option_symbol: str
    side: Side
    quantity: int
    type: OrderType
    price: Decimal | None = None
    stop: Decimal | None = None
    contract: OptionContract | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        option_symbol: object,
        side: object,
        quantity: object,
        order_type: object,
        *,
        price: object = None,
        stop: object = None,
        symbol: str | None = None,
        duration: object = None,
        suffix: str = "",
    ) -> OptionLeg:
        """Check every field (``duration``, when given, in the order a single-leg form lists it)."""
        contract = option_contract(option_symbol, f"option_symbol{suffix}")
        if symbol is not None and symbol.strip().upper() not in (contract.underlying, contract.root):
            raise OrderPayloadError(
                f"symbol{suffix}", symbol, f"does not match option_symbol {option_symbol!r}"
            )
        checked_side = choice(Side, f"side{suffix}", side)
        kind = choice(OrderType, f"type{suffix}", order_type)
        if duration is not None:
            choice(Duration, "duration", duration)
        qty = whole_contracts(quantity, f"quantity{suffix}")
        check_prices(kind, price, stop, suffix=suffix)
        return cls(
            symbol=contract.underlying if symbol is None else symbol.strip().upper(),
            option_symbol=contract.tradier,
            side=checked_side,
            quantity=qty,
            type=kind,
            price=tick_price(price, f"price{suffix}") if kind.uses_price else None,
            stop=tick_price(stop, f"stop{suffix}") if kind.uses_stop else None,
            contract=contract,
        )

    @property
    def buying(self) -> bool:
        return self.side.buying

    def form_fields(self, suffix: str = "") -> dict[str, str]:
        fields = {
            "symbol": self.symbol,
            "quantity": str(self.quantity),
            "type": self.type.value,
            "option_symbol": self.option_symbol,
            "side": self.side.value,
        }
        if self.price is not None:
            fields["price"] = fixed(self.price)
        if self.stop is not None:
            fields["stop"] = fixed(self.stop)
        return {f"{key}{suffix}": value for key, value in fields.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlacementRequest(ABC):
    """What every placement has besides its legs: a duration, an optional tag, a preview flag."""

    legs: tuple[OptionLeg, ...]
    duration: Duration = Duration.DAY
    tag: str | None = None
    preview: bool = False

    order_class: ClassVar[OrderClass]
    leg_count: ClassVar[int]

    def __post_init__(self) -> None:
        if len(self.legs) != self.leg_count:
            raise OrderPayloadError(
                "legs",
                len(self.legs),
                f"a class={self.order_class} order has exactly {self.leg_count} leg(s)",
            )

    @classmethod
    def build(
        cls, *legs: OptionLeg, duration: object = "day", tag: object = None, preview: object = False
    ) -> Self:
        """The request for built ``legs`` (``OptionLeg.build``), checking the order-level fields."""
        return cls(
            legs=legs,
            duration=choice(Duration, "duration", duration),
            tag=None if tag is None else check_tag(tag),
            preview=check_preview(preview),
        )

    def to_form(self) -> dict[str, str]:
        """``class``, the legs' keys as the class lays them out, then ``tag`` and ``preview``."""
        form = {"class": self.order_class.value, **self._body()}
        if self.tag is not None:
            form["tag"] = self.tag
        if self.preview:
            form["preview"] = "true"
        return form

    @abstractmethod
    def _body(self) -> dict[str, str]:
        """The class's own keys (legs, prices), laid out as Tradier reads them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionOrderRequest(_PlacementRequest):
    """``class=option``: one leg."""

    order_class: ClassVar[OrderClass] = OrderClass.OPTION
    leg_count: ClassVar[int] = 1

    @property
    def leg(self) -> OptionLeg:
        return self.legs[0]

    def _body(self) -> dict[str, str]:
        """Tradier's documented order: symbol, option_symbol, side, quantity, type, duration, price, stop."""
        leg = self.leg.form_fields()
        body = {key: leg[key] for key in ("symbol", "option_symbol", "side", "quantity", "type")}
        body["duration"] = self.duration.value
        body.update({key: leg[key] for key in ("price", "stop") if key in leg})
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class OcoOrderRequest(_PlacementRequest):
    """``class=oco``: two legs on one contract that differ in type; whichever fills cancels the other."""

    order_class: ClassVar[OrderClass] = OrderClass.OCO
    leg_count: ClassVar[int] = 2

    def __post_init__(self) -> None:
        super(OcoOrderRequest, self).__post_init__()  # slots: the zero-argument form cannot find the class
        _one_cancels_other(*self.legs, 1)

    def _body(self) -> dict[str, str]:
        """``duration``, then each leg's keys indexed from 0 (``side[0]``, ``stop[1]``)."""
        return _indexed_body(self)


def _indexed_body(request: _PlacementRequest) -> dict[str, str]:
    """``duration``, then each leg's keys indexed from 0, the layout of every multi-order class."""
    body = {"duration": request.duration.value}
    for index, leg in enumerate(request.legs):
        fields = leg.form_fields()
        body.update({f"{key}[{index}]": fields[key] for key in OCO_LEG_KEYS if key in fields})
    return body


def _one_cancels_other(first: OptionLeg, second: OptionLeg, index: int) -> None:
    """The two orders of a one-cancels-other pair: the same contract, different types."""
    if first.type == second.type:
        raise OrderPayloadError(
            f"type[{index}]", second.type.value, f"OCO legs must differ in type, both are {first.type}"
        )
    if first.option_symbol != second.option_symbol:
        raise OrderPayloadError(
            f"option_symbol[{index}]",
            second.option_symbol,
            f"OCO legs must share option_symbol, the other leg has {first.option_symbol!r}",
        )


def _not_market_first(first: OptionLeg) -> None:
    if first.type == OrderType.MARKET:
        raise OrderPayloadError(
            "type[0]", first.type.value, "the first order of an OTO/OTOCO cannot be market"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OtoOrderRequest(_PlacementRequest):
    """``class=oto``: one-triggers-other. The second order goes to market when the first fills.

    An entry with its protective stop: the stop works from the moment the entry fills, without
    waiting for anyone to notice the fill.
    """

    order_class: ClassVar[OrderClass] = OrderClass.OTO
    leg_count: ClassVar[int] = 2

    def __post_init__(self) -> None:
        super(OtoOrderRequest, self).__post_init__()
        _not_market_first(self.legs[0])

    def _body(self) -> dict[str, str]:
        return _indexed_body(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class OtocoOrderRequest(_PlacementRequest):
    """``class=otoco``: the first order triggers a one-cancels-other pair (a bracket)."""

    order_class: ClassVar[OrderClass] = OrderClass.OTOCO
    leg_count: ClassVar[int] = 3

    def __post_init__(self) -> None:
        super(OtocoOrderRequest, self).__post_init__()
        _not_market_first(self.legs[0])
        _one_cancels_other(self.legs[1], self.legs[2], 2)

    def _body(self) -> dict[str, str]:
        return _indexed_body(self)


OrderRequest = OptionOrderRequest | OcoOrderRequest | OtoOrderRequest | OtocoOrderRequest
_MULTI_CLASSES: Final = {
    OrderClass.OCO: (OcoOrderRequest, 2),
    OrderClass.OTO: (OtoOrderRequest, 2),
    OrderClass.OTOCO: (OtocoOrderRequest, 3),
}


@dataclass(frozen=True, slots=True)
class ModifyOrderRequest:
    """``PUT .../orders/{id}``: only what changes (None keeps the order's value)."""

    type: OrderType | None = None
    duration: Duration | None = None
    price: Decimal | None = None
    stop: Decimal | None = None

    @classmethod
    def build(
        cls, *, order_type: object = None, duration: object = None, price: object = None, stop: object = None
    ) -> ModifyOrderRequest:
        """Check each change by the rules of a new order; at least one change is required."""
        if order_type is None and duration is None and price is None and stop is None:
            raise OrderPayloadError("changes", None, "name at least one of type, duration, price, stop")
        return cls(
            None if order_type is None else choice(OrderType, "type", order_type),
            None if duration is None else choice(Duration, "duration", duration),
            None if price is None else tick_price(price, "price"),
            None if stop is None else tick_price(stop, "stop"),
        )

    def check_against(
        self,
        *,
        current_type: object = None,
        current_price: Decimal | None = None,
        current_stop: Decimal | None = None,
        current_duration: object = None,
    ) -> None:
        """The order this change leaves must have the prices its new type needs.

        With a new type, a price or stop it does not use may not be sent, and the ones it needs
        must be sent or already on the order (``current_*``). The client, which does not know the
        order, passes nothing, so it sends every price a new type needs; the local server passes
        the stored order. The session of a pre/post order cannot be changed, nor can an order be
        moved into one (checked where the current duration is known).
        """
        if self.duration is not None and current_duration is not None:
            current = Duration.parse(current_duration)
            if self.duration.extended_session or (current is not None and current.extended_session):
                raise OrderPayloadError(
                    "duration", self.duration.value, "the session of a pre/post order cannot be changed"
                )
        if self.type is None:
            return
        kind = self.type
        price = self.price if self.price is not None else (current_price if kind.uses_price else None)
        stop = self.stop if self.stop is not None else (current_stop if kind.uses_stop else None)
        check_prices(kind, price, stop, changing=True)

    def to_form(self) -> dict[str, str]:
        form: dict[str, str] = {}
        if self.type is not None:
            form["type"] = self.type.value
        if self.duration is not None:
            form["duration"] = self.duration.value
        if self.price is not None:
            form["price"] = fixed(self.price)
        if self.stop is not None:
            form["stop"] = fixed(self.stop)
        return form


# -- reading forms as Tradier receives them -----------------------------------------------------


def read_order_form(form: Mapping[str, str]) -> OrderRequest:
    """A placement form (``class`` option, oco, oto or otoco), checked by the rules above.

    Values are text as sent; surrounding blanks are ignored and an empty value counts as absent.
    ``preview`` is ``true`` or ``false`` (any case).
    """
    values = {key: value.strip() for key, value in form.items() if isinstance(value, str) and value.strip()}
    klass = _required(values, "class")
    order_class = OrderClass.parse(klass)
    if order_class is not OrderClass.OPTION and order_class not in _MULTI_CLASSES:
        raise OrderPayloadError("class", klass, "must be option, oco, oto or otoco")
    preview = values.get("preview", "false").lower()
    if preview not in ("true", "false"):
        raise OrderPayloadError("preview", values["preview"], "must be true or false")
    duration = _required(values, "duration")
    if order_class is OrderClass.OPTION:
        option = _read_leg(values, "", duration=duration)
        return OptionOrderRequest.build(
            option, duration=duration, tag=values.get("tag"), preview=preview == "true"
        )
    choice(Duration, "duration", duration)
    if "tag" in values:
        check_tag(values["tag"])
    request_class, count = _MULTI_CLASSES[order_class]
    legs = tuple(_read_leg(values, f"[{index}]") for index in range(count))
    return request_class.build(*legs, duration=duration, tag=values.get("tag"), preview=preview == "true")


def read_modify_form(form: Mapping[str, str]) -> ModifyOrderRequest:
    """What a modify form changes; the quantity cannot be changed (cancel and place a new order)."""
    values = {key: value.strip() for key, value in form.items() if isinstance(value, str) and value.strip()}
    if "quantity" in values:
        raise OrderPayloadError(
            "quantity", values["quantity"], "cannot be modified; cancel and place a new order"
        )
    return ModifyOrderRequest.build(
        order_type=values.get("type"),
        duration=values.get("duration"),
        price=values.get("price"),
        stop=values.get("stop"),
    )


def _required(values: Mapping[str, str], name: str) -> str:
    if name not in values:
        raise OrderPayloadError(name, None, "is required")
    return values[name]


def _read_leg(values: Mapping[str, str], suffix: str, *, duration: str | None = None) -> OptionLeg:
    symbol = _required(values, f"symbol{suffix}")
    option_symbol = _required(values, f"option_symbol{suffix}")
    side = _required(values, f"side{suffix}")
    raw_qty = _required(values, f"quantity{suffix}")
    order_type = _required(values, f"type{suffix}")
    if not raw_qty.isdigit():
        raise OrderPayloadError(f"quantity{suffix}", raw_qty, "must be a positive whole number")
    return OptionLeg.build(
        option_symbol,
        side,
        int(raw_qty),
        order_type,
        price=values.get(f"price{suffix}"),
        stop=values.get(f"stop{suffix}"),
        symbol=symbol,
        duration=duration,
        suffix=suffix,
    )
