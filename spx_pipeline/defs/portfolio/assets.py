"""Portfolio group: credentials → Tradier balances → validated portfolio snapshots."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from spx_pipeline.defs.charts import equity_chart
from spx_pipeline.defs.common import run_state, table_asset
from spx_pipeline.defs.display import money_metadata, money_total, preview_markdown, row_counts
from spx_pipeline.defs.portfolio.balance_steps import (
    BALANCE_READ,
    BALANCES,
    GROUP,
    STAGE,
    SYNC_FAILURES,
)
from spx_pipeline.defs.shards import AccountsConfig, one_step_asset, read_in_one_step
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.storage.app.snapshots import replace_snapshots
from spx_pipeline.storage.warehouse import reads
from spx_pipeline.storage.warehouse.reconcile import reconcile_snapshots
from spx_pipeline.transformations.portfolio import credentials_rows, snapshot_candidates, validated_snapshots

SNAPSHOT_MONEY = ("total_equity", "cash", "option_buying_power", "day_trade_buying_power", "pending_cash")
__all__ = ["BALANCES", "SYNC_FAILURES", "broker_credentials", "portfolio_snapshots", "tradier_balances"]


@table_asset(
    group=GROUP,
    kinds={"sqlite", "duckdb"},
    description=(
        "Broker credentials from the app database, redacted for analysts (account, label, environment, "
        "active flag, token fingerprint, dates; never the token or its ciphertext). Fails closed when "
        "SPX_CREDENTIALS_KEY is missing or does not decrypt the stored tokens, so nothing is synced."
    ),
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
    wh = warehouse.warehouse()
    wh.replace_table("broker_credentials", rows)
    active = int(rows["is_active"].sum()) if len(rows) else 0
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "broker_credentials", len(rows)),
            "active_accounts": dg.MetadataValue.int(active),
            "inactive_accounts": dg.MetadataValue.int(len(rows) - active),
            "preview": preview_markdown(rows.drop(columns=["run_id"])),
        }
    )


FAILURE_STAGES = ("balances", "snapshot_validation")


@one_step_asset(BALANCE_READ)
def tradier_balances(
    context: dg.AssetExecutionContext, config: AccountsConfig
) -> Iterator[dg.MaterializeResult]:
    """Every account in one step (the in-process default); ``balance_steps`` holds both halves."""
    yield from read_in_one_step(BALANCE_READ, context, config)


def _balances_for_run(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> pd.DataFrame:
    """This run's balances; when this run fetched none itself, the newest complete sync's.

    Re-materializing ``portfolio_snapshots`` alone rebuilds the newest published sync, or completes a
    newer one whose run fetched its balances (the step succeeded, so they are whole) and then failed.
    A run that did fetch balances and got none (no active account, all failed) must not re-publish an
    older sync, and balances of a run still in progress, or that died inside the fetch step, are never
    picked up.
    """
    wh = warehouse.warehouse()
    run_id = context.run.run_id
    frame = reads.balances_of_run(wh, run_id)
    latest = context.instance.get_latest_materialization_event(BALANCES)
    fetched_here = latest is not None and latest.run_id == run_id
    if not frame.empty or fetched_here:
        return frame
    for candidate in reads.unpublished_newer_balance_runs(wh):
        if _fetched_whole(context.instance, candidate):
            return reads.balances_of_run(wh, candidate)
    return reads.latest_published_balances(wh)


def _fetched_whole(instance: dg.DagsterInstance, run_id: str) -> bool:
    """The run is over and its ``tradier_balances`` step succeeded (materialized)."""
    run = instance.get_run_by_id(run_id)
    if run is None or not run.is_finished:
        return False
    records = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return any(
        r.event_log_entry.dagster_event is not None and r.event_log_entry.dagster_event.asset_key == BALANCES
        for r in records
    )


@table_asset(
    group=GROUP,
    kinds={"pandas", "duckdb"},
    deps=[BALANCES],
    description=(
        "Portfolio history validated with pandera (types, non-negative buying powers, known account "
        "types, UTC timestamps, unique account x capture time), written to the app database's "
        "portfolio_snapshots (the system of record) and the warehouse, then published: the sync is "
        "visible whole or not at all. Re-running a run replaces its rows, so nothing is duplicated. "
        "Rows that break the contract are not written and are recorded in sync_failures (stage "
        "snapshot_validation). Each run first repairs drift between the two stores left by a crash."
    ),
)
def portfolio_snapshots(
    context: dg.AssetExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    db = app_db.database()
    repair = reconcile_snapshots(
        wh,
        db,
        run_state=run_state(context.instance),
        now=clock.run_time(context),
        repaired_by=context.run.run_id,
    )
    if repair.repaired:
        context.log.warning(f"Repaired drift between the warehouse and the app database: {repair.describe()}")
    balances = _balances_for_run(context, warehouse)
    if balances.empty:
        # Nothing fetched (no active account): the stage is complete with what it has.
        with wh.transaction() as tx:
            tx.publish(context.run.run_id, STAGE)
        return dg.MaterializeResult(
            metadata={
                **row_counts(wh, "portfolio_snapshots", 0),
                "note": "no balances to snapshot",
                "repaired_runs": repair.repaired,
            }
        )
    source_run = str(balances["run_id"].iloc[0])
    frames = validated_snapshots(snapshot_candidates(balances))
    # One warehouse transaction around the app-database commit: the rows and the publication
    # record commit right after the system of record did. A failure before that commit leaves
    # neither store changed; a crash right after it is rolled forward by the next run's repair.
    with wh.transaction() as tx:
        tx.replace_rows(
            "portfolio_snapshots",
            frames.snapshots,
            delete_where={"run_id": source_run},
        )
        tx.replace_rows(
            "sync_failures",
            frames.rejected,
            delete_where={"run_id": source_run, "stage": "snapshot_validation"},
        )
        replace_snapshots(db, frames.snapshots, run_id=source_run)
        tx.publish(source_run, STAGE, published_by=context.run.run_id)
    for row in frames.rejected.itertuples():
        context.log.warning(f"Snapshot of {row.account_id} rejected: {row.message}")
    shown = frames.snapshots.drop(columns=["run_id"])
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "portfolio_snapshots", len(frames.snapshots)),
            "rows_rejected": dg.MetadataValue.int(len(frames.rejected)),
            "source_run_id": source_run,
            "repaired_runs": repair.repaired,
            # Summed exactly; shown as money, and as a number the Plots tab draws over time.
            **money_metadata("total_equity", money_total(frames.snapshots["total_equity"])),
            **money_metadata(
                "total_option_buying_power", money_total(frames.snapshots["option_buying_power"])
            ),
            "preview": preview_markdown(shown, money=SNAPSHOT_MONEY),
            **equity_chart(wh),
        }
    )
