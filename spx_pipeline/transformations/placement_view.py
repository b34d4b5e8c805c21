"""A placement plan as a trader reads it: one row per order, and the totals that matter."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.domain.execution import PlacementRecord
from spx_pipeline.domain.trades.planning import Action, PlanRow

PLAN_COLUMNS = [
    "trade_id", "leg", "option_symbol", "side", "quantity", "order_type", "price", "stop_price",
    "opening_notional", "action", "reason",
]  # fmt: skip


def plan_rows(
    rows: Sequence[PlanRow], records: Sequence[PlacementRecord] | None = None
) -> list[dict[str, Any]]:
    """The plan as plain records (money as Decimal), with each order's status when it was sent."""
    status = {} if records is None else {(r.trade_id, r.tag): r for r in records}
    out = []
    for row in rows:
        item: dict[str, Any] = {name: getattr(row, name) for name in PLAN_COLUMNS}
        item["action"] = str(row.action)
        record = status.get((row.trade_id, row.tag or f"{row.trade_id}-{row.leg}"))
        if record is not None:
            item["status"] = record.status
            item["broker_order_id"] = record.broker_order_id or row.broker_order_id
            if record.status not in ("would_place", "waiting", "skipped", "already_at_broker"):
                item["reason"] = record.message
        out.append(item)
    return out


def plan_frame(rows: Sequence[PlanRow], records: Sequence[PlacementRecord] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(plan_rows(rows, records))
    if frame.empty:
        return pd.DataFrame(columns=[*PLAN_COLUMNS, "status"])
    if "broker_order_id" in frame:
        frame["broker_order_id"] = frame["broker_order_id"].astype("Int64")
    return frame


def plan_summary(
    rows: Sequence[PlanRow], records: Sequence[PlacementRecord], *, dry_run: bool
) -> dict[str, object]:
    """Counts per action and status, and the opening notional of what is (or would be) sent."""
    opening = sum((r.opening_notional for r in rows if r.action == Action.PLACE), Decimal(0))
    out: dict[str, object] = {
        "dry_run": dry_run,
        "orders_to_place": sum(r.action == Action.PLACE for r in rows),
        "opening_notional": f"${opening:,.2f}",
    }
    for action in Action:
        out[f"orders_{action.value}"] = sum(r.action == action for r in rows)
    for status in sorted({r.status for r in records}):
        out[f"legs_{status}"] = sum(r.status == status for r in records)
    return out
