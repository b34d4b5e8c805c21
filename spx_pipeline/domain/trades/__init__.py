"""Trades: one durable lifecycle per account x setup x session, as pure rules.

A trade is born ``planned`` from a recommendation, frozen once its entry is claimed, and moved
only by the broker's reports (``lifecycle``) along the table of ``states``. Its exits come from
what filled (``exits``), its risk counts against the account's budgets in every later run
(``risk``), and its orders carry deterministic, unique tags (``ids``). The app database stores it;
nothing here knows Dagster, HTTP or SQL.
"""

from spx_pipeline.domain.trades.exits import DayTradeGuard, ExitDecision, day_trades_used, exits_needed
from spx_pipeline.domain.trades.ids import base_of, order_tag, ticket_id, trade_id, trade_tag
from spx_pipeline.domain.trades.intents import OrderIntent, entry_intent
from spx_pipeline.domain.trades.lifecycle import PositionReport, Verdict, judge, next_state, progress
from spx_pipeline.domain.trades.records import (
    BrokerFacts,
    Leg,
    LocalStatus,
    Progress,
    Trade,
    TradeEvent,
    TradeOrder,
    TradePlan,
)
from spx_pipeline.domain.trades.risk import AccountCommitment, commitments, contracts_at_risk, risk_committed
from spx_pipeline.domain.trades.states import (
    FROZEN,
    HOLDING,
    TERMINAL,
    TRANSITIONS,
    CloseReason,
    TradeState,
    TradeTransitionError,
    check_transition,
)

__all__ = [
    "FROZEN",
    "HOLDING",
    "TERMINAL",
    "TRANSITIONS",
    "AccountCommitment",
    "BrokerFacts",
    "CloseReason",
    "DayTradeGuard",
    "ExitDecision",
    "Leg",
    "LocalStatus",
    "OrderIntent",
    "PositionReport",
    "Progress",
    "Trade",
    "TradeEvent",
    "TradeOrder",
    "TradePlan",
    "TradeState",
    "TradeTransitionError",
    "Verdict",
    "base_of",
    "check_transition",
    "commitments",
    "contracts_at_risk",
    "day_trades_used",
    "entry_intent",
    "exits_needed",
    "judge",
    "next_state",
    "order_tag",
    "progress",
    "risk_committed",
    "ticket_id",
    "trade_id",
    "trade_tag",
]
