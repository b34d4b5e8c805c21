"""``order_tickets`` rows built column by column are the rows the per-leg loop built, byte for byte,
and the warehouse's SQL join of a batch makes them too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.domain.trades import Trade, TradeState, ticket_id
from spx_pipeline.domain.trades.birth import planned_tickets
from spx_pipeline.domain.trades.records import TradePlan
from spx_pipeline.domain.trades.ticket_batch import tickets_of_plans
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.ticket_rows import ticket_batch, ticket_rows
from spx_pipeline_tests.domain.strategies import plans

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _scalar_ticket_rows(trades: list[Trade], *, run_id: str, created_at: datetime) -> pd.DataFrame:
    """The rows as the per-leg loop built them (a dict, a JSON dump and a SHA-256 per leg): the reference."""
    rows: list[dict[str, Any]] = []
    for trade in trades:
        plan = trade.plan
        for leg, intent in planned_tickets(plan).legs().items():
            rows.append(
                {
                    "ticket_id": ticket_id(intent.tag, leg),
                    "trade_id": plan.trade_id,
                    "as_of_date": plan.session,
                    "setup_id": plan.setup_id,
                    "account_id": plan.account_id,
                    "risk_fingerprint": plan.risk_fingerprint,
                    "leg": leg,
                    "side": str(intent.side),
                    "order_type": intent.display_type,
                    "option_symbol": plan.option_symbol,
                    "underlying_symbol": intent.form.get("symbol") or intent.form.get("symbol[0]"),
                    "quantity": intent.quantity,
                    "price": _float(intent.price),
                    "stop_price": _float(intent.stop_price),
                    "duration": intent.duration,
                    "tag": intent.tag,
                    "payload_json": intent.payload_json(),
                    "preview_status": "not_requested",
                    "preview_cost": None,
                    "preview_commission": None,
                    "preview_fees": None,
                    "preview_message": None,
                    "created_at": created_at,
                    "run_id": run_id,
                }
            )
    return pd.DataFrame(rows, columns=list(column_names("order_tickets")))


def _placeable(plan: TradePlan) -> bool:
    try:
        planned_tickets(plan)
    except OrderPayloadError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(plans(), max_size=10))
def test_column_built_ticket_rows_equal_the_per_leg_rows(batch: list[TradePlan]) -> None:
    trades = [
        Trade(plan=p, state=TradeState.PLANNED, version=1, created_at=NOW, updated_at=NOW)
        for p in batch + batch[::-1]
        if _placeable(p)
    ]
    got = ticket_rows(trades, run_id="run-1", created_at=NOW)
    expected = _scalar_ticket_rows(trades, run_id="run-1", created_at=NOW)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["payload_json"].tolist() == expected["payload_json"].tolist()
    # Legs planning built are reused only for the very plan they were built for.
    built = {
        t.trade_id: (t.plan, legs)
        for t, legs in zip(trades[::2], tickets_of_plans([t.plan for t in trades[::2]]), strict=True)
    }
    stale = {t.trade_id: (dataclasses.replace(t.plan), []) for t in trades[1::2]}
    reused = ticket_rows(trades, run_id="run-1", created_at=NOW, built={**stale, **built})
    pd.testing.assert_frame_equal(reused, expected, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(plans(), max_size=8))
def test_tickets_joined_in_sql_are_the_rows_made_in_python(batch: list[TradePlan]) -> None:
    """The warehouse makes a batch's rows with ``TICKETS_SQL``; they are ``frame()``'s, column by
    column, including trades built on their own (tags the shape could not vouch for)."""
    trades = [
        Trade(plan=p, state=TradeState.PLANNED, version=1, created_at=NOW, updated_at=NOW)
        for p in batch
        if _placeable(p)
    ]
    # Every other trade's legs as built plan by plan (whole payloads), the rest by their shape.
    whole = tickets_of_plans([t.plan for t in trades[::2]])
    built = {t.trade_id: (t.plan, legs) for t, legs in zip(trades[::2], whole, strict=True)}
    tickets = ticket_batch(trades, run_id="run-1", created_at=NOW, built=built)
    query, frames, params = tickets.sql()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, frame in frames.items():
            con.register(name, frame)
        got = con.execute(f"{query.format_map({n: n for n in frames})} ORDER BY ticket_id", params).df()
    want = tickets.frame().sort_values("ticket_id", kind="stable").reset_index(drop=True)
    assert len(got) == len(want) == len(tickets)
    for column in want.columns:
        mine, theirs = got[column].tolist(), want[column].tolist()
        if column == "as_of_date":
            mine = [value.date() for value in mine]
        elif column == "created_at":
            mine = [value.to_pydatetime() for value in mine]
        assert [None if pd.isna(v) else v for v in mine] == [None if pd.isna(v) else v for v in theirs], (
            column
        )
