"""Small helpers shared by the asset modules: metadata, run identity, table schemas."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from spx_pipeline.resources import WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.warehouse import reads
from spx_pipeline.storage.warehouse.reconcile import RunState
from spx_pipeline.storage.warehouse.schema import table_spec
from spx_pipeline.transformations.quality import Verdict

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


def _table_asset_args(table: str, *, group: str, kinds: set[str], description: str) -> dict[str, Any]:
    """What an asset that is the warehouse table of its name says, as a spec or as a computed asset:
    the team's, in its group, its table's columns from the DDL."""
    return {
        "group_name": group,
        "owners": OWNERS,
        "kinds": kinds,
        "description": description,
        "metadata": table_schema_metadata(table),
    }


def table_asset_specs(
    group: str, tables: Mapping[dg.AssetKey, tuple[set[str], str]]
) -> tuple[dg.AssetSpec, ...]:
    """The specs of assets that are each the warehouse table of its own name (schema shown in the
    UI), from each key's kinds and description. A tuple, not a list: the defs-folder loader would
    take a module-level list of specs for assets of their own."""
    return tuple(
        dg.AssetSpec(key, **_table_asset_args(key.path[-1], group=group, kinds=kinds, description=text))
        for key, (kinds, text) in tables.items()
    )


def table_asset(
    *, group: str, kinds: set[str], description: str, **asset_args: Any
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorator: the asset that writes the warehouse table of its function's name.

    Every such asset is the team's, waits for the warehouse pool (one writer at a time) and shows
    its table's columns from the DDL; those are said here once. ``asset_args`` go to ``dg.asset``.
    """

    def build(compute: Callable[..., Any]) -> dg.AssetsDefinition:
        table = compute.__name__
        return dg.asset(
            name=table,
            pool=WAREHOUSE_POOL,
            **_table_asset_args(table, group=group, kinds=kinds, description=description),
            **asset_args,
        )(compute)

    return build


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
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    key: dg.AssetKey,
    table: str,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """The table's rows (``columns`` of them when given) written by the asset's latest
    materialization (None before the first one)."""
    latest = latest_materialization(context.instance, key)
    if latest is None:
        return None
    return reads.rows_of_run(warehouse.warehouse(), table, latest[0], columns)


@dataclass(frozen=True)
class LatestRun:
    """The asset's latest materialization as a check judges it: its run and metadata values."""

    run_id: str
    metadata: Mapping[str, object]

    def rows(
        self, warehouse: WarehouseResource, table: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The table's rows this run wrote (``columns`` of them when given)."""
        return reads.rows_of_run(warehouse.warehouse(), table, self.run_id, columns)


LatestRunJudge = Callable[[LatestRun, WarehouseResource], dg.AssetCheckResult]


def latest_run_check(
    asset: dg.AssetsDefinition | dg.AssetKey, *, description: str
) -> Callable[[LatestRunJudge], dg.AssetChecksDefinition]:
    """Decorator: a check (named after the function) judging the asset's latest materialization.

    Before the first materialization the check fails with ``not_materialized`` (nothing to vouch
    for), so the judge only ever sees a run that happened.
    """
    key = asset.key if isinstance(asset, dg.AssetsDefinition) else asset

    def build(judge: LatestRunJudge) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=asset, name=judge.__name__, description=description)
        def _check(
            context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
        ) -> dg.AssetCheckResult:
            latest = latest_materialization(context.instance, key)
            return not_materialized() if latest is None else judge(LatestRun(*latest), warehouse)

        return _check

    return build


def unique_key_check(asset: dg.AssetsDefinition | dg.AssetKey, table: str) -> dg.AssetChecksDefinition:
    """No two rows share the table's primary key, as its DDL states it (DuckDB's constraint is the
    first line of defence; the Parquet backend's published files have none)."""
    keys = table_spec(table).primary_key
    key_list = ", ".join(keys)

    @dg.asset_check(
        asset=asset,
        name=f"{table}_unique_keys",
        description=f"No duplicate ({key_list}) in {table}.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        dupes = reads.duplicate_keys(warehouse.warehouse(), table, keys)
        return dg.AssetCheckResult(passed=dupes.empty, metadata={"duplicate_keys": len(dupes)})

    return _check
