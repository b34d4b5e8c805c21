"""``broker_state`` in parts: read some accounts' positions and orders, then write every part at once.

The one-step asset (``assets.broker_state``, the in-process default) reads every account as one
part; the sharded asset (``definitions.sharded_reads`` builds it when ``SPX_SYNC_SHARDS`` asks for more
than one shard) reads one part per shard step and joins them in its write step. Both publish the
same rows the same way: positions, orders and their failures in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from spx_pipeline.defs.common import table_asset_specs
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.defs.shards import (
    ShardedRead,
    ShardFailure,
    ShardInputs,
    Written,
    joined_rows,
)
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.broker_state import order_frames, position_frames

GROUP = "execution"
POSITIONS = dg.AssetKey("tradier_positions")
ORDERS = dg.AssetKey("tradier_orders")

BROKER_STATE_SPECS = table_asset_specs(
    GROUP,
    {
        POSITIONS: (
            {"tradier", "duckdb"},
            (
                "Every active account's positions as Tradier reports them, option symbols parsed by the "
                "domain OCC module (root, expiration, right, strike). An account whose fetch failed has a "
                "sync_failures row (stage positions) and is never read as flat."
            ),
        ),
        ORDERS: (
            {"tradier", "duckdb"},
            (
                "The session's orders of every active account with their tags (includeTags=true), an OCO "
                "or multileg order flattened to one row per leg, with status, fills and times."
            ),
        ),
    },
)


@dataclass(frozen=True)
class BrokerStatePart:
    """Positions, orders and failures of some accounts (a shard, or all), every token taken out."""

    positions: pd.DataFrame
    orders: pd.DataFrame
    failures: pd.DataFrame
    reported: frozenset[str]  # accounts whose positions arrived (possibly flat)
    position_failures: int
    order_failures: int
    requested: tuple[str, ...]
    session: date


def fetch_broker_state(inputs: ShardInputs) -> BrokerStatePart:
    """Positions and the session's orders of ``inputs``' accounts; failures are rows."""
    credentials = inputs.account_credentials()
    run_id, captured_at = inputs.run_id, inputs.captured_at
    session = trading_day(captured_at)
    tradier = inputs.tradier
    redact = inputs.redactor()  # built once: both reads take it (``redactor=``), then the failures
    positions = position_frames(
        tradier.fetch_each(
            credentials, lambda client, account: client.get_positions(account), redactor=redact
        ),
        run_id=run_id,
        captured_at=captured_at,
    )
    orders = order_frames(
        tradier.fetch_each(
            credentials,
            lambda client, account: client.list_all_orders(account, include_tags=True),
            redactor=redact,
        ),
        session=session,
        run_id=run_id,
        captured_at=captured_at,
    )
    failures = joined_rows([positions.failures, orders.failures], "sync_failures")
    return BrokerStatePart(
        positions=positions.rows,
        orders=orders.rows,
        failures=failures.assign(message=failures["message"].map(redact)),
        reported=positions.reported,
        position_failures=len(positions.failures),
        order_failures=len(orders.failures),
        requested=tuple(c.account_id for c in credentials),
        session=session,
    )


def broker_state_shard_failed(failure: ShardFailure) -> BrokerStatePart:
    """Every account of a shard whose step raised, as a positions and an orders failure row."""
    rows = failure.rows(("positions", "orders"))
    count = len(failure.shard.account_ids)
    return BrokerStatePart(
        positions=pd.DataFrame(columns=list(column_names("tradier_positions"))),
        orders=pd.DataFrame(columns=list(column_names("tradier_orders"))),
        failures=rows,
        reported=frozenset(),
        position_failures=count,
        order_failures=count,
        requested=failure.shard.account_ids,
        session=trading_day(failure.captured_at),
    )


def write_broker_state(
    context: dg.OpExecutionContext, wh: Warehouse, parts: list[BrokerStatePart]
) -> Written:
    """Publish every part's rows in one transaction; yields (asset, metadata) for positions, orders."""
    run_id = context.run.run_id
    positions = joined_rows([p.positions for p in parts], "tradier_positions")
    orders = joined_rows([p.orders for p in parts], "tradier_orders")
    failures = joined_rows([p.failures for p in parts], "sync_failures")
    with wh.transaction() as tx:
        tx.replace_rows("tradier_positions", positions, delete_where={"run_id": run_id})
        tx.replace_rows("tradier_orders", orders, delete_where={"run_id": run_id})
        tx.replace_rows("sync_failures", failures, delete_where={"run_id": run_id})
        tx.publish(run_id, "broker_state")
    for row in failures.itertuples():
        context.log.warning(f"Account {row.account_id}: {row.stage} not read: {row.message}")
    requested = sorted(a for p in parts for a in p.requested)
    reported = sorted(a for p in parts for a in p.reported)
    session = parts[0].session  # one part at least: a sharded read plans one shard even for no account
    position_meta: dict[str, Any] = {
        **row_counts(wh, "tradier_positions", len(positions)),
        "accounts_requested": dg.MetadataValue.int(len(requested)),
        "accounts_reported": dg.MetadataValue.int(len(reported)),
        "accounts_failed": dg.MetadataValue.int(sum(p.position_failures for p in parts)),
        # What position_reconciliation may read as "the broker answered" (never the failures).
        "reported_accounts": dg.MetadataValue.json(reported),
        "requested_accounts": dg.MetadataValue.json(requested),
        "preview": preview_markdown(positions.drop(columns=["run_id", "captured_at"]).head(20)),
    }
    if len(parts) > 1:
        position_meta["shards"] = dg.MetadataValue.int(len(parts))
    yield POSITIONS.to_python_identifier(), position_meta
    yield (
        ORDERS.to_python_identifier(),
        {
            **row_counts(wh, "tradier_orders", len(orders)),
            "session": session.isoformat(),
            "accounts_failed": dg.MetadataValue.int(sum(p.order_failures for p in parts)),
            "tagged_legs": dg.MetadataValue.int(int(orders["tag"].notna().sum()) if len(orders) else 0),
        },
    )


BROKER_STATE_READ = ShardedRead(
    name="broker_state",
    noun="broker_state",
    specs=BROKER_STATE_SPECS,
    upstream=(),
    fetch=fetch_broker_state,
    failed=broker_state_shard_failed,
    write=write_broker_state,
)
