"""Tickets and broker legs in, fidelity, reconciliation and guardrail rows out.

The frames come from the warehouse (tickets, our fill history) and from ``broker_state`` (this
run's positions and orders); the rules are the domain's (``domain.execution``). Prices that come
back from the warehouse as floats are rebuilt as Decimal at four places before any comparison.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.domain.execution import (
    BrokerOrderLeg,
    FidelityRow,
    FilledQuantity,
    Guardrail,
    GuardrailPolicy,
    ReconciliationRow,
    SlippageSample,
    TicketLeg,
    guardrails,
    implied_positions,
    reconcile_account,
    slippage_stats,
)
from spx_pipeline.domain.field_copy import copy_fields
from spx_pipeline.domain.money import to_money
from spx_pipeline.domain.occ import OptionSymbolError, parse_option_symbol
from spx_pipeline.domain.trades import TradeOrder, ticket_id
from spx_pipeline.domain.trades.reports import normalized_symbol
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.storage.app.placements import SetupFidelity


def money(value: object, field: str, *, signed: bool = False) -> Decimal | None:
    """A warehouse figure as Decimal (4 places), None for SQL NULL / NaN; negative only if ``signed``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if signed and isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value < 0:
        amount = to_money(-value, field)
        return None if amount is None else -amount.quantize(Decimal("0.0001"))
    amount = to_money(value, field)
    return None if amount is None else amount.quantize(Decimal("0.0001"))


def _stamp(value: object) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.to_pydatetime()


def _day(value: object) -> date:
    return pd.Timestamp(value).date()


def ticket_legs(tickets: pd.DataFrame) -> list[TicketLeg]:
    """``order_tickets`` rows as domain ticket legs (the OCO class read from the stored payload)."""
    legs = []
    for row in tickets.to_dict("records"):
        payload = json.loads(row["payload_json"]) if isinstance(row.get("payload_json"), str) else {}
        created = _stamp(row["created_at"])
        if created is None:
            raise ValueError(f"order ticket {row['ticket_id']} has no created_at")
        legs.append(
            TicketLeg(
                ticket_id=row["ticket_id"],
                account_id=row["account_id"],
                setup_id=row["setup_id"],
                leg=row["leg"],
                option_symbol=row["option_symbol"],
                side=Side(row["side"]),
                # An OCO ticket row summarizes its limit (target) leg; the stop leg is priced from stop_price.
                order_type=OrderType.parse(row["order_type"]) or OrderType.LIMIT,
                quantity=int(row["quantity"]),
                price=money(row.get("price"), "price"),
                stop_price=money(row.get("stop_price"), "stop_price"),
                tag=row["tag"],
                session=_day(row["as_of_date"]),
                created_at=created,
                order_class="oco" if row["order_type"] == "oco" else str(payload.get("class", "option")),
            )
        )
    return legs


def trade_order_legs(orders: Sequence[TradeOrder], setups: Mapping[str, str]) -> list[TicketLeg]:
    """The orders our trades sent, as the ticket legs fidelity measures fills against.

    ``setups`` maps trade id to setup id. Each order is priced by its own prices (an exit placed
    for a later fill carries the same stop as the plan), so a re-sized ticket can never be the
    yardstick of an order sent before it. What the order and the leg share by name (account, side,
    type, quantity, prices, tag, session, class) is copied as it is.
    """
    return [
        copy_fields(
            order,
            TicketLeg,
            ticket_id=ticket_id(order.tag, str(order.leg)),
            setup_id=setups.get(order.trade_id, ""),
            leg=str(order.leg),
            option_symbol=_contract_of(order),
            created_at=order.claimed_at,
        )
        for order in orders
    ]


def _contract_of(order: TradeOrder) -> str:
    form = json.loads(order.payload_json) if order.payload_json else {}
    return str(form.get("option_symbol") or form.get("option_symbol[0]") or "")


def fidelity_tickets(trade_orders: list[TicketLeg], tickets: pd.DataFrame) -> list[TicketLeg]:
    """Trade orders, plus planned tickets no order was sent for (a hand-placed order may match them)."""
    sent = {leg.tag for leg in trade_orders}
    planned = tickets[~tickets["tag"].isin(sent)] if len(tickets) else tickets
    return [*trade_orders, *ticket_legs(planned)]


def broker_legs(orders: pd.DataFrame) -> list[BrokerOrderLeg]:
    """``tradier_orders`` rows as domain broker legs; legs outside our vocabulary are left out."""
    legs = []
    for row in orders.to_dict("records"):
        side, order_type = Side.parse(row["side"]), OrderType.parse(row["order_type"])
        if side is None or order_type is None or not isinstance(row["option_symbol"], str):
            continue  # an equity or unknown order kind: nothing of ours
        tag = row.get("tag")
        legs.append(
            BrokerOrderLeg(
                account_id=row["account_id"],
                order_id=int(row["order_id"]),
                leg_index=int(row["leg_index"]),
                tag=tag if isinstance(tag, str) and tag else None,
                option_symbol=row["option_symbol"],
                side=side,
                order_type=order_type,
                status=str(row["status"]),
                quantity=int(row["quantity"] or 0),
                exec_quantity=int(row["exec_quantity"] or 0),
                remaining_quantity=int(row["remaining_quantity"] or 0),
                avg_fill_price=money(row.get("avg_fill_price"), "avg_fill_price"),
                session=_day(row["session_date"]),
                created_at=_stamp(row.get("create_date")),
                transaction_at=_stamp(row.get("transaction_date")),
                reason=_text(row.get("reason_description")),
            )
        )
    return legs


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def fidelity_frame(rows: Iterable[FidelityRow], *, run_id: str, captured_at: datetime) -> pd.DataFrame:
    records = [{**asdict(row), "run_id": run_id, "captured_at": captured_at} for row in rows]
    frame = pd.DataFrame(records, columns=[*FidelityRow.__dataclass_fields__, "run_id", "captured_at"])
    return frame.astype({"side": "object", "match": "object"})


def filled_quantities(fidelity: pd.DataFrame, *, session: date) -> list[FilledQuantity]:
    """Our fills that still make a position on ``session``: contracts that expired before it are gone."""
    fills = []
    for row in fidelity.to_dict("records"):
        quantity = int(row["filled_quantity"] or 0)
        if quantity <= 0:
            continue
        try:
            expired = parse_option_symbol(row["option_symbol"]).expiration < session
        except OptionSymbolError:
            expired = False
        if not expired:
            fills.append(FilledQuantity(row["account_id"], row["option_symbol"], Side(row["side"]), quantity))
    return fills


def reconciliation_rows(
    accounts: Sequence[str],
    fills: Iterable[FilledQuantity],
    positions: pd.DataFrame,
    reported: frozenset[str],
    errors: dict[str, str],
    *,
    tolerance: int = 0,
    acknowledged: Mapping[str, Mapping[str, int]] | None = None,
) -> list[ReconciliationRow]:
    """Every active account's option positions reconciled; one that did not report is ``unknown``.

    ``errors`` names accounts whose positions *or orders* could not be read: without the orders our
    own fills are not known either, so their positions are unknown, never "unexpected". Equity
    positions (no OCC root) are outside what the pipeline trades and are not reconciled.
    """
    # One spelling for both sides: a padded OSI report equals the Tradier symbol we sent.
    expected = implied_positions(
        dataclasses.replace(fill, option_symbol=normalized_symbol(fill.option_symbol)) for fill in fills
    )
    held: dict[str, dict[str, Decimal]] = {}
    for row in positions[positions["root"].notna()].to_dict("records"):
        quantity = Decimal(str(row["quantity"]))
        account = held.setdefault(row["account_id"], {})
        symbol = normalized_symbol(row["symbol"])
        account[symbol] = account.get(symbol, Decimal(0)) + quantity
    rows: list[ReconciliationRow] = []
    for account_id in sorted(set(accounts) | set(expected)):
        broker = held.get(account_id, {}) if account_id in reported and account_id not in errors else None
        rows += reconcile_account(
            account_id,
            expected.get(account_id, {}),
            broker,
            tolerance=tolerance,
            broker_error=errors.get(account_id),
            acknowledged=(acknowledged or {}).get(account_id),
        )
    return rows


def reconciliation_frame(
    rows: Iterable[ReconciliationRow], *, session: date, run_id: str, captured_at: datetime
) -> pd.DataFrame:
    records = [
        {
            **asdict(row),
            "status": str(row.status),
            "session_date": session,
            "run_id": run_id,
            "captured_at": captured_at,
        }
        for row in rows
    ]
    columns = [*ReconciliationRow.__dataclass_fields__, "session_date", "run_id", "captured_at"]
    return pd.DataFrame(records, columns=columns)


def slippage_samples(fidelity: pd.DataFrame) -> list[SlippageSample]:
    """Every filled leg with a measured slippage: what the guardrails learn from.

    Exits count as much as entries: a limit entry never fills worse than its limit, but a stop that
    fills below its trigger is exactly the slippage that breaks a risk budget.
    """
    samples = []
    for row in fidelity.to_dict("records"):
        ticks = money(row.get("slippage_ticks"), "slippage_ticks", signed=True)
        dollars = money(row.get("slippage_per_contract"), "slippage_per_contract", signed=True)
        if ticks is None or dollars is None or not row["filled_quantity"]:
            continue
        samples.append(
            SlippageSample(row["setup_id"], row["account_id"], _day(row["session_date"]), ticks, dollars)
        )
    return samples


def guardrail_frame(
    samples: Sequence[SlippageSample], policy: GuardrailPolicy, *, run_id: str, captured_at: datetime
) -> pd.DataFrame:
    """Statistics per setup (and per account with enough fills), with what sizing will do about them."""
    stats = slippage_stats(samples, policy)
    rails = {(rail.setup_id, rail.account_id): rail for rail in guardrails(stats, policy)}
    records: list[dict[str, Any]] = []
    for stat in stats:
        rail = rails.get((stat.setup_id, stat.account_id))
        records.append(
            {
                **asdict(stat),
                "expected_slippage_per_contract": None
                if rail is None
                else rail.expected_slippage_per_contract,
                "blocked_reason": None if rail is None else rail.blocked_reason,
                "window_sessions": policy.window_sessions,
                "min_fills": policy.min_fills,
                "max_p90_ticks": policy.max_p90_ticks,
                "run_id": run_id,
                "captured_at": captured_at,
            }
        )
    columns = [
        "setup_id", "account_id", "fills", "median_ticks", "p90_ticks", "median_dollars", "p90_dollars",
        "expected_slippage_per_contract", "blocked_reason", "window_sessions", "min_fills", "max_p90_ticks",
        "run_id", "captured_at",
    ]  # fmt: skip
    return pd.DataFrame(records, columns=columns)


def setup_fidelity(fidelity: pd.DataFrame) -> list[SetupFidelity]:
    """Each setup's latest session of filled entries, summed over accounts (contract-weighted prices)."""
    if fidelity.empty:
        return []
    filled = fidelity[fidelity["filled_quantity"] > 0]
    out = []
    for setup_id, rows in filled.groupby("setup_id"):
        session = rows["session_date"].max()
        day = rows[rows["session_date"] == session]
        entries = day[day["leg"] == "entry"]
        if entries.empty:
            continue
        contracts = int(entries["filled_quantity"].sum())

        def weighted(frame: pd.DataFrame, column: str) -> Decimal | None:
            priced = [
                (money(value, column, signed=True), int(qty))
                for value, qty in zip(frame[column], frame["filled_quantity"], strict=True)
            ]
            priced = [(p, q) for p, q in priced if p is not None and q > 0]
            total = sum(q for _, q in priced)
            if not total:
                return None
            return (sum((p * q for p, q in priced), Decimal(0)) / total).quantize(Decimal("0.0001"))

        latest = entries.sort_values(["filled_at", "order_id"]).iloc[-1]
        fill, intended = weighted(entries, "fill_price"), weighted(entries, "intended_price")
        if fill is None or intended is None:
            continue
        t1 = day[(day["leg"] == "t1") & (day["broker_leg"] == 0)]
        runner = day[day["leg"] == "runner_stop"]
        executed = _stamp(latest["filled_at"]) or _stamp(latest["captured_at"])
        out.append(
            SetupFidelity(
                setup_id=str(setup_id),
                broker_order_id=str(int(latest["order_id"])),
                entry_order_tag=str(latest["tag"]),
                intended_entry_price=intended,
                entry_fill_price=fill,
                entry_slippage=(weighted(entries, "slippage_per_contract") or Decimal(0)) / 100,
                t1_fill_price=weighted(t1, "fill_price"),
                runner_exit_price=weighted(runner, "fill_price"),
                filled_contracts=contracts,
                executed_at=executed if executed is not None else datetime.min,
            )
        )
    return out


def guardrails_from_rows(rows: pd.DataFrame) -> list[Guardrail]:
    """``execution_guardrails`` rows back as the domain's guardrails (rows below min_fills left out)."""
    rails = []
    for row in rows.to_dict("records"):
        expected = money(row.get("expected_slippage_per_contract"), "expected_slippage_per_contract")
        if expected is None:
            continue
        reason = row.get("blocked_reason")
        rails.append(
            Guardrail(
                setup_id=row["setup_id"],
                account_id=row["account_id"] or "",
                fills=int(row["fills"]),
                expected_slippage_per_contract=expected,
                blocked_reason=reason if isinstance(reason, str) and reason else None,
            )
        )
    return rails
