"""Small helpers shared by the asset modules: metadata, run identity, table schemas."""

import functools
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from spx_pipeline.resources import WarehouseResource
from spx_pipeline.storage.reconcile import RunState
from spx_pipeline.storage.warehouse import ddl_files
from spx_pipeline.transformations.quality import Verdict

OWNERS = ["team:spx-trading"]


@functools.cache
def _ddl_columns() -> dict[str, list[tuple[str, str]]]:
    """Every warehouse table's columns, from the DDL applied to an in-memory database."""
    con = duckdb.connect()
    try:
        for path in ddl_files():
            con.execute(path.read_text(encoding="utf-8"))
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        tables.setdefault(table, []).append((column, type_))
    return tables


def table_schema_metadata(table: str) -> dict[str, object]:
    """Column schema of a warehouse table, read from its DDL, for the asset's UI page."""
    columns = _ddl_columns()[table]
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, type_) for name, type_ in columns]
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


def latest_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey
) -> tuple[str, Mapping[str, object]] | None:
    """Run id and metadata values of the asset's latest materialization (what a check judges)."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    metadata = {name: value.value for name, value in event.asset_materialization.metadata.items()}
    return event.run_id, metadata


def verdict_result(verdict: Verdict, **kwargs: Any) -> dg.AssetCheckResult:
    """A check result from a ``transformations.quality`` verdict (its figures become metadata)."""
    return dg.AssetCheckResult(passed=verdict.passed, metadata=dict(verdict.details), **kwargs)


def not_materialized() -> dg.AssetCheckResult:
    """What a check says before its asset has ever been materialized: nothing to vouch for."""
    return dg.AssetCheckResult(passed=False, metadata={"latest": "not materialized yet"})


def latest_run_rows(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, key: dg.AssetKey, table: str
) -> pd.DataFrame | None:
    """The table's rows written by the asset's latest materialization (None before the first one)."""
    latest = latest_materialization(context.instance, key)
    if latest is None:
        return None
    return warehouse.warehouse().query(f"SELECT * FROM {table} WHERE run_id = ?", [latest[0]])


def unique_key_check(
    asset: dg.AssetsDefinition, table: str, keys: tuple[str, ...]
) -> dg.AssetChecksDefinition:
    """No two rows share a key (the warehouse's primary key is the first line of defence)."""
    key_list = ", ".join(keys)

    @dg.asset_check(
        asset=asset,
        name=f"{table}_unique_keys",
        description=f"No duplicate ({key_list}) in {table}.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        dupes = warehouse.warehouse().query(
            f"SELECT {key_list}, count(*) AS n FROM {table} GROUP BY {key_list} HAVING count(*) > 1 LIMIT 20"
        )
        return dg.AssetCheckResult(passed=dupes.empty, metadata={"duplicate_keys": len(dupes)})

    return _check
