"""Asset checks on what analysts and the recommendations rely on."""

from datetime import timedelta

import dagster as dg
import pandera.errors as pa_errors

from spx_pipeline.defs.common import LatestRun, latest_run_check, unique_key_check, verdict_result
from spx_pipeline.defs.portfolio.assets import (
    BALANCES,
    FAILURE_STAGES,
    SYNC_FAILURES,
    broker_credentials,
    portfolio_snapshots,
)
from spx_pipeline.domain.market_calendar import is_open_at
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.storage.warehouse import reads
from spx_pipeline.transformations.quality import balances_accounted_for, failures_have_reasons
from spx_pipeline.transformations.schemas import validate_snapshots

# Twice the schedule's interval plus slack: one missed tick is tolerated, two are not.
FRESHNESS_LIMIT = timedelta(minutes=12)


@dg.asset_check(
    asset=portfolio_snapshots,
    blocking=True,
    description="The latest published run's snapshot rows, read back from the warehouse, pass pandera.",
)
def portfolio_snapshots_schema(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows = reads.latest_published_snapshot_run(warehouse.warehouse())
    if len(rows):
        rows["captured_at"] = rows["captured_at"].dt.as_unit("ns")  # DuckDB returns microseconds
    try:
        validate_snapshots(rows)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases[["column", "check", "failure_case"]].astype(str).head(20)
        return dg.AssetCheckResult(
            passed=False,
            metadata={"failures": dg.MetadataValue.md(cases.to_markdown(index=False))},
        )
    return dg.AssetCheckResult(passed=True, metadata={"rows_checked": len(rows)})


@dg.asset_check(
    asset=portfolio_snapshots,
    description=(
        f"During NYSE regular hours the newest snapshot is younger than {FRESHNESS_LIMIT}; outside them "
        "the check passes and says the market is closed."
    ),
)
def portfolio_snapshots_fresh(warehouse: WarehouseResource, clock: ClockResource) -> dg.AssetCheckResult:
    now = clock.clock().now()
    latest = reads.newest_snapshot_time(warehouse.warehouse())
    newest = latest["latest"].iloc[0]
    if not is_open_at(now):
        return dg.AssetCheckResult(passed=True, metadata={"market": "closed", "latest": str(newest)})
    if newest is None or str(newest) == "NaT":
        return dg.AssetCheckResult(passed=False, metadata={"latest": "no snapshot yet"})
    age = now - newest.to_pydatetime()
    return dg.AssetCheckResult(
        passed=age <= FRESHNESS_LIMIT,
        metadata={"latest": str(newest), "age_minutes": round(age.total_seconds() / 60, 1)},
    )


@dg.asset_check(
    asset=portfolio_snapshots,
    description=(
        "Every active credential has a snapshot no older than the freshness limit before the newest one "
        "(warns and lists the missing). A sensor sync of one rotated account does not make the others "
        "look missing."
    ),
)
def every_active_account_synced(
    app_db: AppDatabaseResource, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    active = set(app_db.credential_listing().active_account_ids())
    latest = reads.newest_snapshot_time_per_account(warehouse.warehouse())
    newest = latest["latest"].max() if len(latest) else None
    recent = (
        set(latest.loc[latest["latest"] >= newest - FRESHNESS_LIMIT, "account_id"])
        if newest is not None
        else set()
    )
    missing = sorted(active - recent)
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"active": len(active), "synced": len(active & recent), "missing": ", ".join(missing)},
    )


portfolio_snapshots_unique_keys = unique_key_check(portfolio_snapshots, "portfolio_snapshots")


@dg.asset_check(
    asset=broker_credentials,
    description=(
        "The warehouse's redacted copy lists exactly the credentials of the app database (no account "
        "lost or left over), so analysts count the same accounts the sync does."
    ),
)
def broker_credentials_match_app_database(
    app_db: AppDatabaseResource, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    stored = {c.account_id for c in app_db.credential_listing().list()}
    copied = set(reads.credential_accounts(warehouse.warehouse())["account_id"])
    return dg.AssetCheckResult(
        passed=stored == copied,
        metadata={
            "app_database": len(stored),
            "warehouse": len(copied),
            "missing": ", ".join(sorted(stored - copied)) or "none",
            "left_over": ", ".join(sorted(copied - stored)) or "none",
        },
    )


@latest_run_check(
    BALANCES,
    description=(
        "Every account the latest sync requested either has balances or a sync_failures row with a "
        "reason (never both, none lost)."
    ),
)
def tradier_balances_accounts_accounted_for(
    run: LatestRun, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    wh = warehouse.warehouse()
    synced = reads.balance_accounts_of_run(wh, run.run_id)
    failed = reads.balance_failures_of_run(wh, run.run_id)
    requested = int(run.metadata.get("accounts_requested", 0))  # type: ignore[call-overload]
    return verdict_result(balances_accounted_for(requested, synced, failed))


@latest_run_check(
    SYNC_FAILURES,
    description="Each failure of the latest sync names a known stage, its error class and a message.",
)
def sync_failures_have_reasons(run: LatestRun, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return verdict_result(failures_have_reasons(run.rows(warehouse, "sync_failures"), FAILURE_STAGES))
