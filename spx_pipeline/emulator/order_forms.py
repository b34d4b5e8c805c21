"""Reading order forms the way Tradier checks them: the domain's request models, refusals as 400s.

The rules are ``domain.tradier.order_requests``', the same the ticket builders and the broker
client apply; this module only turns a request's parameters into a form for them and a refusal
into Tradier's answer, a 400 naming the field and the value.
"""

from __future__ import annotations

from decimal import Decimal

from spx_pipeline.domain.tradier.order_requests import (
    ModifyOrderRequest,
    OrderRequest,
    read_modify_form,
    read_order_form,
)
from spx_pipeline.domain.tradier.order_rules import OrderPayloadError
from spx_pipeline.emulator.routing import ApiError, Call


def parse_order(call: Call) -> OrderRequest:
    """A placement form, ``class`` option, oco, oto or otoco; anything else is a 400."""
    fields = call.fields()
    try:
        return read_order_form(fields)
    except OrderPayloadError as exc:
        klass = fields.get("class", "").strip()
        known = klass if klass in ("option", "oco", "oto", "otoco") else None
        raise ApiError(400, refusal(exc, known)) from None


def parse_modify(
    call: Call,
    *,
    current_type: str,
    current_price: Decimal | None,
    current_stop: Decimal | None,
    current_duration: str,
) -> ModifyOrderRequest:
    """What a modify form changes, checked against the order it changes."""
    try:
        changes = read_modify_form(call.fields())
        changes.check_against(
            current_type=current_type,
            current_price=current_price,
            current_stop=current_stop,
            current_duration=current_duration,
        )
    except OrderPayloadError as exc:
        raise ApiError(400, refusal(exc, None)) from None
    return changes


def refusal(exc: OrderPayloadError, klass: str | None) -> str:
    """Tradier-style text: ``type is invalid for class option: 'credit' (must be one of ...)``."""
    if exc.value is None:
        return f"{exc.field} {exc.problem}"
    where = f" for class {klass}" if klass else ""
    return f"{exc.field} is invalid{where}: {exc.value!r} ({exc.problem})"
