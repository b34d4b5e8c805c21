"""Tradier option order forms for the legs of a ticket: entry, T1 (plain or OCO) and runner stop.

Every form passes the wire rules of ``domain.tradier.order_requests``, the ones the broker client
and the local server apply too, because a rejected order in a fast 0DTE market costs more than a
refused form. The policies here are ours, not Tradier's: with a stop premium T1 is an OCO, so every
contract stays covered by the stop sizing assumed; stops round up to the tick (an earlier trigger
loses less than sized) and targets round down; a breakeven stop waits for the T1 fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from spx_pipeline.domain.ticks import round_to_tick, tick_size
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.domain.tradier.order_requests import (
    ModifyOrderRequest,
    OcoOrderRequest,
    OptionLeg,
    OptionOrderRequest,
)
from spx_pipeline.domain.tradier.order_rules import (
    OrderPayloadError,  # raised by every builder; imported from here by callers
    fixed,
    tick_price,
    whole_contracts,
)

if TYPE_CHECKING:
    from spx_pipeline.domain.setups import Setup


def option_order(
    option_symbol: str,
    side: str,
    quantity: int,
    order_type: str,
    *,
    duration: str = "day",
    price: object = None,
    stop: object = None,
    tag: str | None = None,
    preview: bool = False,
) -> dict[str, str]:
    """Any single-leg option order; the named builders below fix side and type for each leg.

    The wire rules are ``OptionOrderRequest``'s; on top of them a sell stop-limit's limit may not
    be above its stop (it would sell below the trigger only by accident of the grid).
    """
    leg = OptionLeg.build(
        option_symbol, side, quantity, order_type, price=price, stop=stop, duration=duration
    )
    request = OptionOrderRequest.build(leg, duration=duration, tag=tag, preview=preview)
    if leg.type is OrderType.STOP_LIMIT and not leg.buying:
        assert leg.price is not None and leg.stop is not None
        if leg.price > leg.stop:
            raise OrderPayloadError(
                "price", price, f"a sell stop-limit's limit must not be above its stop {fixed(leg.stop)}"
            )
    return request.to_form()


def order_changes(
    *,
    order_type: object = None,
    duration: object = None,
    price: object = None,
    stop: object = None,
) -> dict[str, str]:
    """The form of a replace (``PUT /orders/{id}``), checked by the same field rules as a new order.

    A replace is an order too: an off-tick, negative or unreadable price, or a stop off the grid,
    is refused here before anything is sent. When ``order_type`` is given its prices must match it as
    for a new order (a limit needs ``price`` and takes no ``stop``...). ``market`` is refused: turning
    a working SPX option order into a market order drops the price the ticket was sized at, and a
    market order in a fast 0DTE market can fill far from it; cancel and place a new order instead.
    """
    if order_type == "market":
        raise OrderPayloadError(
            "type",
            order_type,
            "a replace must not turn an order into a market order (cancel and re-place)",
        )
    changes = ModifyOrderRequest.build(order_type=order_type, duration=duration, price=price, stop=stop)
    changes.check_against()
    return changes.to_form()


def entry_order(
    option_symbol: str,
    quantity: int,
    limit_price: object,
    *,
    duration: str = "day",
    tag: str | None = None,
    preview: bool = False,
) -> dict[str, str]:
    """Open the long position: ``buy_to_open`` limit."""
    return option_order(
        option_symbol,
        "buy_to_open",
        quantity,
        "limit",
        duration=duration,
        price=limit_price,
        tag=tag,
        preview=preview,
    )


def t1_request(
    option_symbol: object,
    quantity: object,
    target: object,
    stop: object = None,
    *,
    duration: object = "day",
    tag: object = None,
    preview: object = False,
) -> OptionOrderRequest | OcoOrderRequest:
    """The T1 slice as one order: a ``sell_to_close`` limit at the target, with a protective stop an OCO.

    A plain T1 limit leaves the T1 contracts without a stop until the target fills, so a position
    sized on ``entry - stop`` could lose the whole premium on that slice. As an OCO both exits work
    at once and whichever fills cancels the other. Tradier's ``class=oco`` indexes every per-order
    key from 0 (``side[0]``, ``price[0]``, ``stop[1]``...) with a global ``duration``; the legs must
    differ in type and share the option symbol. Leg 0 is the ``limit`` at the target, leg 1 the
    ``stop`` at the protective trigger, which must be below the target. Without a stop (no stop
    plan: the runner's stop goes to breakeven after the T1 fill) the target limit goes alone.
    """
    limit = OptionLeg.build(
        option_symbol, Side.SELL_TO_CLOSE, quantity, OrderType.LIMIT, price=target, duration=duration
    )
    if stop is None:
        return OptionOrderRequest.build(limit, duration=duration, tag=tag, preview=preview)
    guard = OptionLeg.build(
        option_symbol, Side.SELL_TO_CLOSE, quantity, OrderType.STOP, stop=stop, duration=duration
    )
    assert guard.stop is not None and limit.price is not None
    if guard.stop >= limit.price:
        raise OrderPayloadError("stop", stop, f"the OCO stop must be below its target {fixed(limit.price)}")
    return OcoOrderRequest.build(limit, guard, duration=duration, tag=tag, preview=preview)


def t1_order(
    option_symbol: str,
    position_quantity: int,
    t1_quantity: int,
    limit_price: object,
    stop_price: object = None,
    *,
    duration: str = "day",
    tag: str | None = None,
    preview: bool = False,
) -> dict[str, str]:
    """Take the first target on part of the position, leaving a runner: ``t1_request``'s form."""
    position = whole_contracts(position_quantity, "position_quantity")
    if position < 2:
        raise OrderPayloadError(
            "position_quantity", position_quantity, "a 1-contract position cannot scale out and keep a runner"
        )
    t1 = whole_contracts(t1_quantity, "t1_quantity")
    if t1 >= position:
        raise OrderPayloadError(
            "t1_quantity", t1_quantity, f"must be below the position of {position} so a runner remains"
        )
    request = t1_request(
        option_symbol, t1, limit_price, stop_price, duration=duration, tag=tag, preview=preview
    )
    return request.to_form()


def payload_summary(payload: Mapping[str, str]) -> dict[str, str | None]:
    """One row's worth of fields from a single-leg or OCO payload, for ticket tables.

    An OCO has no top-level ``side``/``type``/``price``/``stop``; its summary reports
    ``order_type="oco"``, the side, symbols and quantity of leg 0 (both legs share them), ``price``
    from the limit leg (``price[0]``) and ``stop`` from the stop leg (``stop[1]``).
    """
    oco = payload.get("class") == "oco"

    def key(name: str, leg: int = 0) -> str:
        return f"{name}[{leg}]" if oco else name

    return {
        **{name: payload[key(name)] for name in ("side", "option_symbol", "symbol", "quantity")},
        "order_type": "oco" if oco else payload["type"],
        "price": payload.get(key("price")),
        "stop": payload.get(key("stop", 1)),
        "duration": payload["duration"],
        "tag": payload.get("tag"),
    }


def runner_stop_order(
    option_symbol: str,
    quantity: int,
    stop_price: object,
    *,
    limit_price: object = None,
    duration: str = "day",
    tag: str | None = None,
    preview: bool = False,
) -> dict[str, str]:
    """Protect the runner: ``sell_to_close`` stop, or stop-limit when a limit is given."""
    order_type = "stop" if limit_price is None else "stop_limit"
    return option_order(
        option_symbol,
        "sell_to_close",
        quantity,
        order_type,
        duration=duration,
        price=limit_price,
        stop=stop_price,
        tag=tag,
        preview=preview,
    )


def _field(recommendation: object, name: str) -> Any:
    if isinstance(recommendation, Mapping):
        if name not in recommendation:
            raise OrderPayloadError(name, None, "is missing from the recommendation")
        return recommendation[name]
    return getattr(recommendation, name)


def _sell_tick(value: Decimal, field: str) -> Decimal:
    try:
        return round_to_tick(value, "sell")
    except ValueError as exc:
        raise OrderPayloadError(field, value, "does not round down to a positive SPX tick") from exc


def protective_stop(stop_premium: object, entry: Decimal) -> Decimal:
    """The sell-stop trigger for a setup's ``stop_premium``, rounded UP to the tick.

    Sizing budgets the loss at ``entry - stop_premium``; a higher sell stop triggers earlier and so
    loses less, while rounding down would lose more than was sized. The trigger must stay strictly
    below the entry limit, or the stop would fire as soon as the position is opened.
    """
    try:
        stop = Decimal(str(stop_premium)) if not isinstance(stop_premium, Decimal) else stop_premium
        trigger = round_to_tick(stop, "buy")
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise OrderPayloadError("stop_premium", stop_premium, "must be a positive price") from exc
    if trigger >= entry:
        raise OrderPayloadError(
            "stop_premium",
            stop_premium,
            f"rounds up to the tick {fixed(trigger)}, which is not below the entry {fixed(entry)}",
        )
    return trigger


def t1_limit_price(entry: Decimal, gain_pct: Decimal) -> Decimal:
    """``entry × (1 + gain_pct)`` rounded down to a tick, but at least one tick above the entry.

    Rounding down can land on the entry itself for cheap contracts (0.10 × 1.4 = 0.14 → 0.10), and a
    "target" at the entry price is a scratch exit, not a profit target.
    """
    target = _sell_tick(entry * (1 + gain_pct), "t1_price")
    return max(target, round_to_tick(entry + tick_size(entry), "buy"))


def t1_quantity_for(position: int, fraction: Decimal) -> int:
    """``floor(position × fraction)``, at least 1 and at most position − 1 (a runner remains)."""
    wanted = int((Decimal(position) * fraction).to_integral_value(ROUND_FLOOR))
    return min(max(wanted, 1), position - 1)


def build_ticket_legs(
    recommendation: object,
    setup: Setup,
    *,
    tag: str | None = None,
    duration: str = "day",
    preview: bool = False,
) -> dict[str, dict[str, str]]:
    """Entry, T1 and runner-stop payloads for a recommendation (a ``Recommendation`` or a row mapping).

    Keys are the ``order_tickets.leg`` values ``entry``, ``t1`` (absent for 1 contract) and
    ``runner_stop``. Without a ``stop_premium`` the runner stop sits at breakeven (the entry), which
    would trigger at once if it were working alongside the entry: it is to be sent after the T1 fill,
    and a 1-contract position (no T1) gets no ``runner_stop`` leg at all.

    With ``tag`` each leg is tagged ``{tag}-entry`` / ``-t1`` / ``-stop`` so the tag stays a
    per-order idempotency key.
    """
    symbol = _field(recommendation, "symbol")
    if symbol is None:
        raise OrderPayloadError("symbol", symbol, "the recommendation has no contract to trade")
    position = whole_contracts(_field(recommendation, "suggested_contracts"), "suggested_contracts")
    entry = tick_price(_field(recommendation, "limit_price"), "limit_price")

    def leg_tag(suffix: str) -> str | None:
        return None if tag is None else f"{tag}-{suffix}"

    legs = {
        "entry": entry_order(
            symbol, position, entry, duration=duration, tag=leg_tag("entry"), preview=preview
        )
    }
    if setup.stop_premium is None and position < 2:
        return legs
    stop = entry if setup.stop_premium is None else protective_stop(setup.stop_premium, entry)
    runner = position
    if position >= 2:
        t1_qty = t1_quantity_for(position, Decimal(setup.t1_fraction))
        t1_price = t1_limit_price(entry, Decimal(setup.t1_gain_pct))
        legs["t1"] = t1_order(
            symbol, position, t1_qty, t1_price, None if setup.stop_premium is None else stop,
            duration=duration, tag=leg_tag("t1"), preview=preview,
        )  # fmt: skip
        runner = position - t1_qty
    limit = None
    if setup.runner_stop_limit_offset is not None:
        limit = _sell_tick(stop - Decimal(setup.runner_stop_limit_offset), "runner_stop_limit_price")
    legs["runner_stop"] = runner_stop_order(
        symbol, runner, stop, limit_price=limit, duration=duration, tag=leg_tag("stop"), preview=preview
    )
    return legs
