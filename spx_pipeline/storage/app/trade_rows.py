"""Trades, their orders and events as app-database rows and back: one mapping, by field name.

Fields and columns share their names except where a column says more (``session_date`` for
``session``); ``_RENAMES`` lists those. Enum fields are stored as their wire text and rebuilt on
the way out, so a row read back equals the record written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from spx_pipeline.domain.trades import (
    BrokerFacts,
    CloseReason,
    Leg,
    LocalStatus,
    Trade,
    TradeEvent,
    TradeOrder,
    TradePlan,
    TradeState,
)
from spx_pipeline.domain.tradier.enums import OrderType, Side

_RENAMES = {"session": "session_date", "expiration": "expiration_date"}
_BROKER_RENAMES = {"status": "broker_status", "reason": "broker_reason"}


def _column(name: str) -> str:
    return _RENAMES.get(name, name)


# (field, column) pairs read once: a run maps thousands of trades, and ``dataclasses.fields`` is slow.
_PLAN_COLUMNS = tuple((f.name, _column(f.name)) for f in dataclasses.fields(TradePlan))
_TRADE_FIELDS = tuple(f.name for f in dataclasses.fields(Trade) if f.name != "plan")


def plan_values(plan: TradePlan) -> dict[str, Any]:
    return {column: getattr(plan, name) for name, column in _PLAN_COLUMNS}


def trade_values(trade: Trade) -> dict[str, Any]:
    """Every column of ``trades`` for ``trade``."""
    values = plan_values(trade.plan)
    for name in _TRADE_FIELDS:
        value = getattr(trade, name)
        values[name] = str(value) if isinstance(value, TradeState | CloseReason) else value
    return values


def trade_from_row(row: Mapping[str, Any]) -> Trade:
    plan = TradePlan(**{f.name: row[_column(f.name)] for f in dataclasses.fields(TradePlan)})
    fields = {f.name: row[f.name] for f in dataclasses.fields(Trade) if f.name != "plan"}
    fields["state"] = TradeState(fields["state"])
    fields["close_reason"] = CloseReason(fields["close_reason"]) if fields["close_reason"] else None
    return Trade(plan=plan, **fields)


def facts_values(facts: BrokerFacts | None) -> dict[str, Any]:
    if facts is None:
        return {}
    return {_BROKER_RENAMES.get(f.name, f.name): getattr(facts, f.name) for f in dataclasses.fields(facts)}


def order_values(order: TradeOrder) -> dict[str, Any]:
    """Every column of ``trade_orders`` for ``order`` (broker facts flattened, ids as text)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(order):
        if f.name == "broker":
            continue
        value = getattr(order, f.name)
        values[_column(f.name)] = (
            str(value) if isinstance(value, Leg | LocalStatus | Side | OrderType) else value
        )
    values["broker_order_id"] = None if order.broker_order_id is None else str(order.broker_order_id)
    values["version"] = values.get("version", 1)
    values.update(facts_values(order.broker) or _NO_FACTS)
    return values


_NO_FACTS: dict[str, Any] = {
    "broker_status": None, "open_filled": 0, "open_avg": None, "target_filled": 0, "target_avg": None,
    "stop_filled": 0, "stop_avg": None, "working_open": 0, "working_target": 0, "working_stop": 0,
    "broker_reason": None, "reported_at": None,
}  # fmt: skip


def order_from_row(row: Mapping[str, Any]) -> TradeOrder:
    broker = None
    if row["broker_status"] is not None:
        broker = BrokerFacts(
            **{f.name: row[_BROKER_RENAMES.get(f.name, f.name)] for f in dataclasses.fields(BrokerFacts)}
        )
    fields = {
        f.name: row[_column(f.name)] for f in dataclasses.fields(TradeOrder) if f.name not in ("broker",)
    }
    fields.update(
        leg=Leg(fields["leg"]),
        local_status=LocalStatus(fields["local_status"]),
        side=Side(fields["side"]),
        order_type=OrderType(fields["order_type"]),
        broker_order_id=None if row["broker_order_id"] is None else int(row["broker_order_id"]),
        broker=broker,
    )
    return TradeOrder(**fields)


def event_values(event: TradeEvent) -> dict[str, Any]:
    values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    values["from_state"] = None if event.from_state is None else str(event.from_state)
    values["to_state"] = str(event.to_state)
    return values


def event_from_row(row: Mapping[str, Any]) -> TradeEvent:
    fields = {f.name: row[f.name] for f in dataclasses.fields(TradeEvent)}
    fields["from_state"] = TradeState(fields["from_state"]) if fields["from_state"] else None
    fields["to_state"] = TradeState(fields["to_state"])
    return TradeEvent(**fields)
