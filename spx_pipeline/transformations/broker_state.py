"""The broker's positions and orders as rows: what it holds and what it did with our orders.

Each account's answer is kept apart from its failure: a positions fetch that failed becomes a
``sync_failures`` row and never an empty position list, because "we could not ask" and "the account
is flat" lead to opposite decisions in reconciliation. Option symbols are parsed by the domain's
OCC module; an OCO or multileg order becomes one row per leg, carrying its parent's id and tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.broker.tradier import AccountResult, Order, Position
from spx_pipeline.domain.market_calendar import NEW_YORK, previous_session
from spx_pipeline.domain.occ import OptionSymbolError, parse_option_symbol
from spx_pipeline.domain.tradier.enums import WORKING_STATUSES
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.portfolio import failure_row

POSITION_COLUMNS = column_names("tradier_positions")
ORDER_COLUMNS = column_names("tradier_orders")


@dataclass(frozen=True)
class BrokerFrames:
    rows: pd.DataFrame
    failures: pd.DataFrame
    reported: frozenset[str]  # accounts whose answer arrived (possibly empty: flat / no orders)


def _failures(
    results: Sequence[AccountResult[Any]], stage: str, run_id: str, captured_at: datetime
) -> tuple[list[dict[str, Any]], frozenset[str]]:
    failures, reported = [], set()
    for result in results:
        if result.ok and result.value is not None:
            reported.add(result.account_id)
        else:
            error = result.error or RuntimeError(f"no {stage} returned")
            failures.append(
                failure_row(
                    run_id=run_id,
                    account_id=result.account_id,
                    stage=stage,
                    captured_at=captured_at,
                    error=error,
                )
            )
    return failures, frozenset(reported)


def _answered(result: AccountResult[list[Any]]) -> list[Any]:
    return list(result.value or ()) if result.ok else []


def position_frames(
    results: Sequence[AccountResult[list[Position]]], *, run_id: str, captured_at: datetime
) -> BrokerFrames:
    """One row per position of every account that answered; equities keep empty option fields."""
    failures, reported = _failures(results, "positions", run_id, captured_at)
    rows = []
    for result in results:
        for position in _answered(result):
            row: dict[str, Any] = {
                "run_id": run_id,
                "account_id": result.account_id,
                "captured_at": captured_at,
                "position_id": position.id,
                "symbol": position.symbol,
                "root": None,
                "expiration": None,
                "option_right": None,
                "strike": None,
                "quantity": position.quantity,
                "cost_basis": position.cost_basis,
                "date_acquired": position.date_acquired,
            }
            try:
                contract = parse_option_symbol(position.symbol)
            except OptionSymbolError:
                pass  # an equity or index position: no option fields
            else:
                row.update(
                    root=contract.root,
                    expiration=contract.expiration,
                    option_right=contract.right,
                    strike=contract.strike,
                )
            rows.append(row)
    return BrokerFrames(
        pd.DataFrame(rows, columns=list(POSITION_COLUMNS)),
        pd.DataFrame(failures, columns=list(column_names("sync_failures"))),
        reported,
    )


def order_session(order: Order, session: date) -> date | None:
    """The session an order is read for, or None when the read leaves it out.

    Created on ``session``'s New York date, or still working from an earlier one: ``session``.
    Completed and created on the session before: that session. SPXW trades until 16:15 ET and a
    fill may be reported later still, after the last read of its day; the next session's reads
    (from the 09:25 one on) record it with its fills under its own session, so it reaches the trades.
    """
    if order.status in WORKING_STATUSES:
        return session
    created = order.create_date
    if created is None:
        return None
    day = created.astimezone(NEW_YORK).date()
    if day == session:
        return session
    return day if day == previous_session(session) else None


def order_frames(
    results: Sequence[AccountResult[list[Order]]], *, session: date, run_id: str, captured_at: datetime
) -> BrokerFrames:
    """One row per order leg of the session (and the previous session's completed orders, under
    their own session: see ``order_session``); a single-leg order is its own leg 0."""
    failures, reported = _failures(results, "orders", run_id, captured_at)
    rows = []
    for result in results:
        for order in _answered(result):
            own = order_session(order, session)
            if own is None:
                continue
            legs = list(order.legs) or [order]
            for index, leg in enumerate(legs):
                rows.append(
                    _order_row(
                        result.account_id,
                        order,
                        leg,
                        index,
                        session=own,
                        run_id=run_id,
                        captured_at=captured_at,
                    )
                )
    return BrokerFrames(
        pd.DataFrame(rows, columns=list(ORDER_COLUMNS)),
        pd.DataFrame(failures, columns=list(column_names("sync_failures"))),
        reported,
    )


def _order_row(
    account_id: str,
    parent: Order,
    leg: Order,
    index: int,
    *,
    session: date,
    run_id: str,
    captured_at: datetime,
) -> dict[str, Any]:
    def whole(value: Decimal | None) -> int | None:
        return None if value is None else int(value)

    return {
        "run_id": run_id,
        "account_id": account_id,
        "captured_at": captured_at,
        "session_date": session,
        "order_id": parent.id,
        "leg_index": index,
        "leg_order_id": leg.id,
        "order_class": parent.order_class,
        "tag": parent.tag or leg.tag,
        "option_symbol": leg.option_symbol or leg.symbol,
        "side": leg.side,
        "order_type": leg.type,
        "status": leg.status,
        "quantity": whole(leg.quantity),
        "price": leg.price,
        "stop_price": leg.stop_price,
        "avg_fill_price": leg.avg_fill_price,
        "exec_quantity": whole(leg.exec_quantity) or 0,
        "remaining_quantity": whole(leg.remaining_quantity) or 0,
        "last_fill_price": leg.last_fill_price,
        "create_date": leg.create_date or parent.create_date,
        "transaction_date": leg.transaction_date or parent.transaction_date,
        "reason_description": leg.reason_description,
    }
