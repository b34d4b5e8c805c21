"""Ticket legs and broker legs for the execution tests, built from a few readable defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from spx_pipeline.domain.execution import BrokerOrderLeg, TicketLeg
from spx_pipeline.domain.tradier.enums import OrderType, Side

SESSION = date(2026, 11, 24)
CREATED = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
SYMBOL = "SPXW261124C06000000"


def ticket_leg(leg: str = "entry", **changes: Any) -> TicketLeg:
    suffix = {"entry": "entry", "t1": "t1", "runner_stop": "stop"}[leg]
    closing = leg != "entry"
    fields: dict[str, Any] = {
        "ticket_id": f"T-{changes.get('account_id', 'VA1')}-{leg}",
        "account_id": "VA1",
        "setup_id": "breakout",
        "leg": leg,
        "option_symbol": SYMBOL,
        "side": Side.SELL_TO_CLOSE if closing else Side.BUY_TO_OPEN,
        "order_type": OrderType.STOP if leg == "runner_stop" else OrderType.LIMIT,
        "quantity": 4,
        "price": None if leg == "runner_stop" else Decimal("2.50"),
        "stop_price": Decimal("1.50") if leg == "runner_stop" else None,
        "tag": f"rec-{changes.get('account_id', 'VA1')}-{suffix}",
        "session": SESSION,
        "created_at": CREATED,
    }
    fields.update(changes)
    return TicketLeg(**fields)


def broker_leg(**changes: Any) -> BrokerOrderLeg:
    fields: dict[str, Any] = {
        "account_id": "VA1",
        "order_id": 100,
        "leg_index": 0,
        "tag": "rec-VA1-entry",
        "option_symbol": SYMBOL,
        "side": Side.BUY_TO_OPEN,
        "order_type": OrderType.LIMIT,
        "status": "filled",
        "quantity": 4,
        "exec_quantity": 4,
        "remaining_quantity": 0,
        "avg_fill_price": Decimal("2.55"),
        "session": SESSION,
        "created_at": CREATED,
        "transaction_at": datetime(2026, 11, 24, 15, 30, 12, tzinfo=UTC),
    }
    fields.update(changes)
    return BrokerOrderLeg(**fields)


@pytest.fixture
def make_ticket():
    return ticket_leg


@pytest.fixture
def make_broker_leg():
    return broker_leg
