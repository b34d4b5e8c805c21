"""A placement run's records as ``order_placements`` rows (the warehouse's copy of the audit)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from spx_pipeline.domain.execution import PlacementRecord

COLUMNS = ["run_id", "ticket_id", "status", "account_id", "leg", "tag", "action", "broker_order_id",
           "message", "recorded_at"]  # fmt: skip


def placement_frame(records: Sequence[PlacementRecord], run_id: str) -> pd.DataFrame:
    rows = [
        {
            "run_id": run_id,
            "ticket_id": r.ticket_id,
            "status": r.status,
            "account_id": r.account_id,
            "leg": r.leg,
            "tag": r.tag,
            "action": r.action,
            "broker_order_id": r.broker_order_id,
            "message": r.message,
            "recorded_at": r.at,
        }
        for r in records
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"broker_order_id": "Int64"})
