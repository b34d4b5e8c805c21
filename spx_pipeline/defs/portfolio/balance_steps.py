"""``tradier_balances`` in parts: fetch some accounts' balances, then write every part at once.

The one-step asset (``assets.tradier_balances``, the in-process default) fetches every account
as one part; the sharded asset (``definitions.sharded_reads`` builds it when ``SPX_SYNC_SHARDS`` asks
for more than one shard) fetches one part per shard step and joins them in its write step. Both
write the same rows the same way, in one warehouse transaction with their failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from spx_pipeline.defs.common import table_asset_specs
from spx_pipeline.defs.display import preview_markdown, row_counts, seconds
from spx_pipeline.defs.shards import (
    ShardedRead,
    ShardFailure,
    ShardInputs,
    Written,
    joined_rows,
)
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.collector import collector_paused
from spx_pipeline.transformations.portfolio import balance_frames

GROUP = "portfolio"
STAGE = "portfolio_sync"
BALANCES = dg.AssetKey("tradier_balances")
SYNC_FAILURES = dg.AssetKey("sync_failures")
CREDENTIALS = dg.AssetKey("broker_credentials")

BALANCE_SPECS = table_asset_specs(
    GROUP,
    {
        BALANCES: (
            {"tradier", "duckdb"},
            (
                "Balances of every active account fetched from Tradier concurrently (per-token rate "
                "limits, one /user/balances call when a token holds several accounts), normalized "
                "whatever the account type (margin, cash, pdt) with the raw JSON alongside. Per-account "
                "failures go to sync_failures and never stop the other accounts."
            ),
        ),
        SYNC_FAILURES: (
            {"duckdb"},
            (
                "Why an account was not synced: one row per run x account x stage (balances: the broker "
                "call failed; snapshot_validation: the balances broke the snapshot contract, written by "
                "portfolio_snapshots), with the error class, HTTP status and a message with every token "
                "taken out. Written in the same transaction as the balances, so an account of a run is "
                "either in tradier_balances or here."
            ),
        ),
    },
)


@dataclass(frozen=True)
class BalancePart:
    """The balances and failures of some accounts (a shard, or all), every token taken out."""

    balances: pd.DataFrame
    failures: pd.DataFrame
    requested: tuple[str, ...]
    fetch_seconds_max: float


def fetch_balances(inputs: ShardInputs) -> BalancePart:
    """Ask Tradier for the balances of ``inputs``' accounts; per-account failures are rows.

    The cyclic collector is paused meanwhile (``collector_paused``): the step holds tens of
    thousands of young objects per 10,000 accounts, each generation-0 overflow then led to full
    collections over the whole run's heap (~1 s at 10,000 accounts), and it frees nothing here.
    """
    stored = inputs.credentials
    credentials = inputs.account_credentials()
    # Broker bodies and error texts are stored and logged only with every token of this run taken
    # out (the transport already redacted them before parsing, with this same redactor; this is
    # the last gate).
    redact = inputs.redactor()
    with collector_paused():
        results = inputs.tradier.fetch_balances(credentials, redactor=redact)
        frames = balance_frames(
            results,
            environments={c.account_id: c.environment for c in stored},
            run_id=inputs.run_id,
            captured_at=inputs.captured_at,
        )
    return BalancePart(
        balances=frames.balances.assign(raw_json=frames.balances["raw_json"].map(redact)),
        failures=frames.failures.assign(message=frames.failures["message"].map(redact)),
        requested=tuple(c.account_id for c in credentials),
        fetch_seconds_max=max((r.elapsed_s for r in results), default=0.0),
    )


def balance_shard_failed(failure: ShardFailure) -> BalancePart:
    """Every account of a shard whose step raised, as a ``balances`` failure row."""
    rows = failure.rows(("balances",))
    empty = pd.DataFrame(columns=list(column_names("tradier_balances")))
    return BalancePart(empty, rows, failure.shard.account_ids, 0.0)


def write_balances(context: dg.OpExecutionContext, wh: Warehouse, parts: list[BalancePart]) -> Written:
    """Write every part's rows in one transaction; yields (asset, metadata) for sync_failures,
    then for tradier_balances, unless every account failed: then the stage is published (its
    failures are what the recommendations must see) and the step fails after the failures."""
    run_id = context.run.run_id
    balances = joined_rows([p.balances for p in parts], "tradier_balances")
    failed = joined_rows([p.failures for p in parts], "sync_failures")
    requested = sum(len(p.requested) for p in parts)
    all_failed = bool(requested) and balances.empty
    with wh.transaction() as tx:
        tx.replace_rows(
            "tradier_balances",
            balances,
            delete_where={"run_id": run_id},
        )
        tx.replace_rows(
            "sync_failures",
            failed,
            delete_where={"run_id": run_id, "stage": "balances"},
        )
        if all_failed:
            # The stage ends here (nothing to snapshot): its failures are published, so the
            # recommendations see that every account's latest sync failed.
            tx.publish(run_id, STAGE)
    for row in failed.itertuples():
        context.log.warning(f"Account {row.account_id} not synced: {row.error_class}: {row.message}")
    failures = preview_markdown(failed[["account_id", "error_class", "http_status", "message"]])
    metadata: dict[str, Any] = {
        **row_counts(wh, "tradier_balances", len(balances)),
        "accounts_requested": dg.MetadataValue.int(requested),
        "accounts_synced": dg.MetadataValue.int(len(balances)),
        "accounts_failed": dg.MetadataValue.int(len(failed)),
        "failures": failures,
        "fetch_seconds_max": seconds(max((p.fetch_seconds_max for p in parts), default=0.0)),
    }
    if len(parts) > 1:
        metadata["shards"] = dg.MetadataValue.int(len(parts))
    # The failures are recorded (and shown) even when every account failed and the step fails.
    yield (
        SYNC_FAILURES.to_python_identifier(),
        {
            **row_counts(wh, "sync_failures", len(failed)),
            "accounts_failed": dg.MetadataValue.int(len(failed)),
            "failures": failures,
        },
    )
    if all_failed:
        raise dg.Failure(
            description=f"No account synced: all {requested} failed (see sync_failures).",
            metadata=metadata,
        )
    yield BALANCES.to_python_identifier(), metadata


BALANCE_READ = ShardedRead(
    name="tradier_balances",
    noun="balance",
    specs=BALANCE_SPECS,
    upstream=(CREDENTIALS,),
    fetch=fetch_balances,
    failed=balance_shard_failed,
    write=write_balances,
)
