"""Small helpers shared by the asset modules: metadata, run identity, table schemas."""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from spx_pipeline.storage.reconcile import RunState
from spx_pipeline.storage.warehouse_schema import table_spec

OWNERS = ["team:spx-trading"]


def table_schema_metadata(table: str) -> dict[str, object]:
    """Column schema of a warehouse table, types and descriptions read from its DDL, for the UI."""
    spec = table_spec(table)
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in spec.columns]
        ),
        "dagster/table_name": table,
    }


def run_state(instance: dg.DagsterInstance) -> Callable[[str], RunState]:
    """Whether a run is over, as this Dagster instance knows it (for repairing crashed runs)."""

    def state(run_id: str) -> RunState:
        run = instance.get_run_by_id(run_id)
        if run is None:
            return "unknown"
        return "finished" if run.is_finished else "in_progress"

    return state


def preview_markdown(frame: pd.DataFrame, limit: int = 20) -> dg.MarkdownMetadataValue:
    """A short markdown table for the UI (never includes anything secret: callers pass safe frames)."""
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    return dg.MetadataValue.md(frame.head(limit).to_markdown(index=False))
