"""Trades, their orders and events as app-database rows and back (``rows.RowMapping``).

Fields and columns share their names except where a column says more (``session_date`` for
``session``); ``_RENAMES`` lists those. A trade's plan is stored in its row, an order's broker
facts in the order's row (NULL ``broker_status``: nothing reported yet). Enum fields are stored as
their wire text and rebuilt on the way out, so a row read back equals the record written.
"""

from __future__ import annotations

from typing import Any

from spx_pipeline.domain.trades import BrokerFacts, Trade, TradeEvent, TradeOrder, TradePlan
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import trade_events, trade_orders, trades

_RENAMES = {"session": "session_date", "expiration": "expiration_date"}

PLAN = RowMapping(TradePlan, trades, renamed=_RENAMES)
TRADE = RowMapping(Trade, trades, nested={"plan": PLAN})
FACTS = RowMapping(
    BrokerFacts, trade_orders, renamed={"status": "broker_status", "reason": "broker_reason"}, nullable=True
)
ORDER = RowMapping(TradeOrder, trade_orders, renamed=_RENAMES, nested={"broker": FACTS})
EVENT = RowMapping(TradeEvent, trade_events)

plan_values = PLAN.values
trade_values = TRADE.values
trade_from_row = TRADE.read
order_values = ORDER.values
order_from_row = ORDER.read
event_values = EVENT.values
event_from_row = EVENT.read


def facts_values(facts: BrokerFacts) -> dict[str, Any]:
    """The ``trade_orders`` columns a broker report sets."""
    return FACTS.values(facts)
