"""The setups the pipeline sized, as warehouse rows: analysts read stop, T1 and priority beside
the recommendations without opening the app database (its ``spx_setup_instances`` stays the
system of record)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from spx_pipeline.storage.app.setups import SetupRecord
from spx_pipeline.storage.warehouse.schema import column_names


def setup_rows(records: Iterable[SetupRecord], *, run_id: str, captured_at: datetime) -> pd.DataFrame:
    """One ``spx_setups`` row per stored setup (every status: a paused setup is still described)."""
    rows = [
        {
            "run_id": run_id,
            "captured_at": captured_at,
            "setup_id": r.id,
            "label": r.label,
            "symbol": r.symbol,
            "direction": r.direction,
            "target_delta": float(r.target_delta),
            "stop_premium": r.stop_premium,
            "t1_gain_pct": r.t1_gain_pct,
            "t1_fraction": r.t1_fraction,
            "runner_stop_limit_offset": r.runner_stop_limit_offset,
            "priority": int(r.priority),
            "status": r.status,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=list(column_names("spx_setups")))
