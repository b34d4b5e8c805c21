"""Portfolio group: credentials → Tradier balances → validated portfolio snapshots."""

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.broker.tradier import AccountCredential
from spx_pipeline.defs.common import OWNERS, preview_markdown, table_schema_metadata
from spx_pipeline.pipeline.portfolio import (
    balance_frames,
    credentials_rows,
    snapshot_candidates,
    validated_snapshots,
)
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.snapshots import replace_snapshots

GROUP = "portfolio"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sqlite", "duckdb"},
    pool=WAREHOUSE_POOL,
    description=(
        "Broker credentials from the app database, redacted for analysts (account, label, environment, "
        "active flag, token fingerprint, dates; never the token or its ciphertext). Fails closed when "
        "SPX_CREDENTIALS_KEY is missing or does not decrypt the stored tokens, so nothing is synced."
    ),
    metadata=table_schema_metadata("broker_credentials"),
)
def broker_credentials(
    context: dg.AssetExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    store = app_db.credential_store()  # verifies the key against every active token
    infos = store.list()
    rows = credentials_rows(infos, run_id=context.run.run_id, captured_at=clock.run_time(context))
    warehouse.warehouse().replace_table("broker_credentials", rows)
    active = int(rows["is_active"].sum()) if len(rows) else 0
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "active_accounts": active,
            "inactive_accounts": len(rows) - active,
            "preview": preview_markdown(rows.drop(columns=["run_id"])),
        }
    )


class BalancesConfig(dg.Config):
    """Limit a sync to some accounts (the credentials sensor does this); empty = every active one."""

    account_ids: list[str] = Field(default_factory=list)


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"tradier", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[broker_credentials],
    description=(
        "Balances of every active account fetched from Tradier concurrently (per-token rate limits, one "
        "/user/balances call when a token holds several accounts), normalized whatever the account type "
        "(margin, cash, pdt) with the raw JSON alongside. Per-account failures go to sync_failures and "
        "never stop the other accounts."
    ),
    metadata=table_schema_metadata("tradier_balances"),
)
def tradier_balances(
    context: dg.AssetExecutionContext,
    config: BalancesConfig,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    store = app_db.credential_store()
    stored = store.active_credentials(verify=False)  # verified when the store was opened
    if config.account_ids:
        wanted = set(config.account_ids)
        unknown = wanted - {c.account_id for c in stored}
        if unknown:
            context.log.warning(f"Not active or unknown, skipped: {sorted(unknown)}")
        stored = [c for c in stored if c.account_id in wanted]
    credentials = [AccountCredential(c.account_id, c.token, c.environment) for c in stored]
    captured_at = clock.run_time(context)
    results = tradier.fetch_balances(credentials)
    frames = balance_frames(
        results,
        environments={c.account_id: c.environment for c in stored},
        run_id=context.run.run_id,
        captured_at=captured_at,
    )
    wh = warehouse.warehouse()
    wh.replace_rows(
        "tradier_balances",
        frames.balances,
        key_columns=["run_id", "account_id"],
        delete_where={"run_id": context.run.run_id},
    )
    wh.replace_rows(
        "sync_failures",
        frames.failures,
        key_columns=["run_id", "account_id", "stage"],
        delete_where={"run_id": context.run.run_id, "stage": "balances"},
    )
    failed = frames.failures
    for row in failed.itertuples():
        context.log.warning(f"Account {row.account_id} not synced: {row.error_class}: {row.message}")
    metadata: dict[str, Any] = {
        "dagster/row_count": len(frames.balances),
        "accounts_requested": len(credentials),
        "accounts_synced": len(frames.balances),
        "accounts_failed": len(failed),
        "failures": preview_markdown(failed[["account_id", "error_class", "http_status", "message"]]),
        "fetch_seconds_max": max((r.elapsed_s for r in results), default=0.0),
    }
    if credentials and frames.balances.empty:
        raise dg.Failure(
            description=f"No account synced: all {len(credentials)} failed (see sync_failures).",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


def _balances_for_run(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> pd.DataFrame:
    """This run's balances; the latest run's only when this run did not fetch any itself.

    Re-materializing ``portfolio_snapshots`` alone rebuilds the newest sync. A run that did fetch
    balances and got none (no active account, all failed) must not re-publish an older sync.
    """
    wh = warehouse.warehouse()
    run_id = context.run.run_id
    frame = wh.query("SELECT * FROM tradier_balances WHERE run_id = ?", [run_id])
    latest = context.instance.get_latest_materialization_event(tradier_balances.key)
    fetched_here = latest is not None and latest.run_id == run_id
    if frame.empty and not fetched_here:
        frame = wh.query(
            "SELECT * FROM tradier_balances WHERE run_id = "
            "(SELECT run_id FROM tradier_balances ORDER BY captured_at DESC, run_id DESC LIMIT 1)"
        )
    return frame


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[tradier_balances],
    description=(
        "Portfolio history validated with pandera (types, non-negative buying powers, known account "
        "types, UTC timestamps, unique account x capture time), written to the warehouse and to the app "
        "database's portfolio_snapshots. Re-running a run replaces its rows, so "
        "nothing is duplicated; a failed write leaves no rows. Rows that break the contract are not "
        "written and are recorded in sync_failures (stage snapshot_validation)."
    ),
    metadata=table_schema_metadata("portfolio_snapshots"),
)
def portfolio_snapshots(
    context: dg.AssetExecutionContext, app_db: AppDatabaseResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    balances = _balances_for_run(context, warehouse)
    if balances.empty:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": "no balances to snapshot"})
    source_run = str(balances["run_id"].iloc[0])
    frames = validated_snapshots(snapshot_candidates(balances))
    wh = warehouse.warehouse()
    wh.replace_rows(
        "portfolio_snapshots",
        frames.snapshots,
        key_columns=["account_id", "captured_at"],
        delete_where={"run_id": source_run},
    )
    wh.replace_rows(
        "sync_failures",
        frames.rejected,
        key_columns=["run_id", "account_id", "stage"],
        delete_where={"run_id": source_run, "stage": "snapshot_validation"},
    )
    # The app's system of record gets the same rows (the seed's worker wrote them there). Two
    # stores cannot share a transaction: if this second write fails, the warehouse rows of the run
    # are taken back out so neither store holds a snapshot the other lacks.
    try:
        replace_snapshots(app_db.database(), frames.snapshots, run_id=source_run)
    except Exception:
        wh.replace_rows(
            "portfolio_snapshots",
            frames.snapshots.iloc[0:0],
            key_columns=["account_id", "captured_at"],
            delete_where={"run_id": source_run},
        )
        raise
    for row in frames.rejected.itertuples():
        context.log.warning(f"Snapshot of {row.account_id} rejected: {row.message}")
    shown = frames.snapshots.drop(columns=["run_id"])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frames.snapshots),
            "rows_rejected": len(frames.rejected),
            "source_run_id": source_run,
            "total_option_buying_power": float(frames.snapshots["option_buying_power"].sum()),
            "preview": preview_markdown(shown),
        }
    )
