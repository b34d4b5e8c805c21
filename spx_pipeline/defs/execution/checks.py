"""Checks on what execution tells the trader: nothing unexplained, every account reconciled."""

import dagster as dg
import pandas as pd

from spx_pipeline.defs.execution.assets import position_reconciliation
from spx_pipeline.resources import AppDatabaseResource, WarehouseResource
from spx_pipeline.storage.warehouse.execution_reads import reconciliation_of_run

UNEXPLAINED = ("missing_at_broker", "unexpected_at_broker", "quantity_mismatch")


def _latest(
    warehouse: WarehouseResource, context: dg.AssetCheckExecutionContext
) -> tuple[str, pd.DataFrame] | None:
    event = context.instance.get_latest_materialization_event(position_reconciliation.key)
    if event is None:
        return None
    return event.run_id, reconciliation_of_run(warehouse.warehouse(), event.run_id)


@dg.asset_check(
    asset=position_reconciliation,
    description="No difference our fills do not explain: nothing missing, unexpected or mismatched.",
)
def no_unexplained_difference(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    latest = _latest(warehouse, context)
    if latest is None:
        return dg.AssetCheckResult(passed=False, metadata={"latest": "not materialized yet"})
    run_id, rows = latest
    bad = rows[rows["status"].isin(UNEXPLAINED)]
    return dg.AssetCheckResult(
        passed=bad.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "run_id": run_id,
            "differences": dg.MetadataValue.int(len(bad)),
            "examples": "; ".join(
                f"{r.account_id} {r.option_symbol}: {r.status}" for r in bad.head(5).itertuples()
            ),
        },
    )


@dg.asset_check(
    asset=position_reconciliation,
    description="Every active account was reconciled against a broker report (none left unknown).",
)
def every_account_reconciled(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, app_db: AppDatabaseResource
) -> dg.AssetCheckResult:
    latest = _latest(warehouse, context)
    if latest is None:
        return dg.AssetCheckResult(passed=False, metadata={"latest": "not materialized yet"})
    run_id, rows = latest
    unknown = sorted(set(rows.loc[rows["status"] == "unknown", "account_id"]))
    active = app_db.credential_listing().active_account_ids()
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "run_id": run_id,
            "active_accounts": dg.MetadataValue.int(len(active)),
            "unknown_accounts": ", ".join(unknown) or "none",
        },
    )
