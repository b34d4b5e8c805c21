"""A trade's plan from one tradable recommendation, and the tickets that plan shows a trader.

The plan keeps what sizing counted (cost and risk per contract, fee and expected slippage
included), so the account's budgets can be charged for it in every later run, and the prices the
exits will use. A plan whose orders cannot be built (a stop-limit offset that leaves no price...)
is kept but blocked with the reason, never placed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

import numpy as np
import pandas as pd

from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.domain.orders import OrderPayloadError, protective_stop, t1_limit_price, t1_quantity_for
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.sizing import MULTIPLIER
from spx_pipeline.domain.trades.ids import trade_id, trade_tag
from spx_pipeline.domain.trades.intents import OrderIntent, entry_intent, runner_stop_intent, t1_intent
from spx_pipeline.domain.trades.records import TradePlan
from spx_pipeline.domain.tradier.order_rules import tick_price

FOUR = Decimal("0.0001")


def _day(value: object) -> date:
    if type(value) is pd.Timestamp and value.tzinfo is None:  # a DATE column's rows: few distinct days
        return _naive_day(value)
    return (
        value
        if isinstance(value, date) and not isinstance(value, pd.Timestamp)
        else pd.Timestamp(value).date()
    )


@functools.lru_cache(maxsize=64)
def _naive_day(value: pd.Timestamp) -> date:
    return value.date()


def plan_from_recommendation(rec: Mapping[str, Any], setup: Setup, *, run_id: str) -> TradePlan:
    """The plan for a tradable recommendation row (``contract_recommendations`` columns)."""
    session = _day(rec["as_of_date"])
    contracts = int(rec["suggested_contracts"])
    if contracts < 1:
        raise OrderPayloadError("suggested_contracts", contracts, "a trade needs at least one contract")
    symbol = rec["symbol"]
    if not isinstance(symbol, str) or not symbol:
        raise OrderPayloadError("symbol", symbol, "the recommendation has no contract to trade")
    limit, stop, t1_price = _exit_prices(rec["limit_price"], setup)
    option_symbol, expiration = _contract(symbol)
    cost_each, risk_each = _per_contract(rec["suggested_cost"], contracts, setup.stop_premium)
    return TradePlan(
        trade_id=trade_id(session, rec["account_id"], setup.setup_id),
        account_id=rec["account_id"],
        setup_id=setup.setup_id,
        session=session,
        tag=trade_tag(session, rec["account_id"], setup.setup_id),
        option_symbol=option_symbol,
        expiration=expiration,
        planned_quantity=contracts,
        limit_price=limit,
        stop_price=stop,
        t1_price=t1_price,
        t1_fraction=Decimal(setup.t1_fraction),
        runner_stop_limit_offset=setup.runner_stop_limit_offset,
        risk_per_contract=risk_each,
        cost_per_contract=cost_each,
        pdt_qualified=_flag(rec.get("pdt_qualified")),
        risk_fingerprint=str(rec["risk_fingerprint"]),
        recommendation_run_id=run_id,
    )


def _per_contract(cost: object, contracts: int, stop_premium: Decimal | None) -> tuple[Decimal, Decimal]:
    """(cost, risk) of one contract. Thousands of accounts share a few costs, so a positive float or
    whole-number cost is worked out once per (cost, contracts, stop premium); equal ones of a type
    spell the same text (-0.0 and 0.0 do not: they and other types take the uncached way)."""
    if type(cost) in _POSITIVE_CACHEABLE and cost > 0:  # -0.0 == 0.0 spells another Decimal
        return _cached_per_contract(cost, contracts, stop_premium)
    return _cached_per_contract.__wrapped__(cost, contracts, stop_premium)


@functools.lru_cache(maxsize=4096, typed=True)
def _cached_per_contract(
    cost: object, contracts: int, stop_premium: Decimal | None
) -> tuple[Decimal, Decimal]:
    cost_each = (Decimal(str(cost)) / contracts).quantize(FOUR, rounding=ROUND_CEILING)
    risk_each = cost_each if stop_premium is None else cost_each - stop_premium * MULTIPLIER
    return cost_each, risk_each.quantize(FOUR)


# Thousands of accounts trade the same few contracts at the same few limits: the tick checks, the
# exits' prices and the symbol parse are computed once per (limit, setup) and per symbol.
_CACHEABLE = frozenset({float, int, str, Decimal, np.float64})
_POSITIVE_CACHEABLE = frozenset({float, int, np.float64})  # equal ones (> 0) spell the same text


def _exit_prices(limit_price: object, setup: Setup) -> tuple[Decimal, Decimal | None, Decimal]:
    """(entry limit, protective stop, T1 target) of a row's limit under the setup's exits."""
    if type(limit_price) in _CACHEABLE:
        return _cached_exit_prices(limit_price, setup)
    return _cached_exit_prices.__wrapped__(limit_price, setup)


@functools.lru_cache(maxsize=4096, typed=True)
def _cached_exit_prices(limit_price: object, setup: Setup) -> tuple[Decimal, Decimal | None, Decimal]:
    limit = tick_price(limit_price, "limit_price")
    stop = None if setup.stop_premium is None else protective_stop(setup.stop_premium, limit)
    return limit, stop, t1_limit_price(limit, Decimal(setup.t1_gain_pct))


@functools.lru_cache(maxsize=4096)
def _contract(symbol: str) -> tuple[str, date]:
    contract = parse_option_symbol(symbol)
    return contract.tradier, contract.expiration


def _flag(value: object) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value)


@dataclass(frozen=True, slots=True)
class Tickets:
    """The orders a plan sends if its entry fills completely: what ``order_tickets`` shows."""

    entry: OrderIntent
    t1: OrderIntent | None
    runner_stop: OrderIntent | None

    def legs(self) -> dict[str, OrderIntent]:
        found = {"entry": self.entry, "t1": self.t1, "runner_stop": self.runner_stop}
        return {leg: intent for leg, intent in found.items() if intent is not None}


def planned_tickets(plan: TradePlan) -> Tickets:
    """Entry, and the exits a complete fill gets; raises ``OrderPayloadError`` if one cannot be built.

    A 1-lot with a stop plan carries its stop in the entry (an OTO); a 1-lot without one has no exit.
    """
    entry = entry_intent(plan)
    quantity = plan.planned_quantity
    if quantity == 1:
        return Tickets(entry, None, None)
    t1_qty = t1_quantity_for(quantity, plan.t1_fraction)
    t1 = t1_intent(plan, 1, t1_qty, reason=f"T1 slice of {t1_qty} once the entry fills")
    trigger = plan.stop_price if plan.stop_price is not None else plan.limit_price
    runner = runner_stop_intent(
        plan,
        1,
        quantity - t1_qty,
        trigger,
        reason=f"runner stop for {quantity - t1_qty} once the entry fills",
    )
    return Tickets(entry, t1, runner)
