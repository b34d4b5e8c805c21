"""Guarded placement: the one asset that sends orders, only from an explicit, confirmed run config.

Never scheduled: a run started by a schedule or a sensor is refused before anything is read. The
confirmation names the number of orders the run will send (a run without it fails and says the
phrase), and the caps on orders and opening notional are checked before the first POST.
"""

from decimal import Decimal

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.defs.common import OWNERS, table_schema_metadata
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.domain.execution import PlacementLimits, PlacementRecord, PlacementRefused
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.settings import Settings
from spx_pipeline.storage import execution_reads as reads
from spx_pipeline.storage.execution_records import record_placement
from spx_pipeline.transformations.placement import place_tickets

AUTOMATION_TAGS = ("dagster/schedule_name", "dagster/sensor_name")


class PlacementConfig(dg.Config):
    """Which tickets to place (by id, or all of today's unblocked tickets of one account) and the guard."""

    ticket_ids: list[str] = Field(default_factory=list)
    account_id: str | None = None
    confirm: str | None = Field(
        default=None, description="'PLACE <n>' where n is the number of orders this run sends."
    )
    max_orders: int = 10
    max_opening_notional: float = 25_000.0
    dry_run: bool = Field(
        default=False, description="Plan only: report what would be sent and the confirmation phrase."
    )


def _refuse(why: str) -> dg.Failure:
    return dg.Failure(description=f"Nothing placed: {why}")


@dg.asset(
    group_name="execution",
    owners=OWNERS,
    kinds={"tradier", "duckdb", "sqlite"},
    deps=[dg.AssetKey("order_tickets")],
    pool=WAREHOUSE_POOL,
    description=(
        "Places the entry orders of chosen tickets, and their T1/runner exits once the entry has filled. "
        "Idempotent by tag: a leg whose tag the broker already holds is never sent again. Runs only from "
        "an explicit run config with a confirmation, never from a schedule or sensor; sandbox unless "
        "TRADIER_ALLOW_LIVE=true and the credential is live. Each step is recorded in the app database."
    ),
    metadata=table_schema_metadata("order_placements"),
)
def order_placements(
    context: dg.AssetExecutionContext,
    config: PlacementConfig,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    automation = [tag for tag in AUTOMATION_TAGS if tag in context.run.tags]
    if automation:
        raise _refuse(f"placement never runs from a schedule or sensor (run tagged {automation[0]}).")
    if bool(config.ticket_ids) == bool(config.account_id):
        raise _refuse("name the tickets: either ticket_ids or account_id (all of today's unblocked tickets).")
    try:
        limits = PlacementLimits(
            max_orders=config.max_orders, max_opening_notional=Decimal(str(config.max_opening_notional))
        )
    except ValueError as exc:
        raise _refuse(str(exc)) from None
    wh = warehouse.warehouse()
    now = clock.run_time(context)
    if config.ticket_ids:
        tickets = reads.tickets_by_id(wh, config.ticket_ids)
        missing = sorted(set(config.ticket_ids) - set(tickets["ticket_id"]))
        if missing:
            raise _refuse(f"ticket_ids not found among published tickets: {missing}")
    else:
        tickets = reads.tickets_of_account(wh, str(config.account_id), trading_day(now))
        if tickets.empty:
            raise _refuse(f"account {config.account_id} has no unblocked ticket for {trading_day(now)}.")
    credentials = {c.account_id: c for c in app_db.credential_store().active_credentials(verify=False)}
    inactive = sorted(set(tickets["account_id"]) - set(credentials))
    if inactive:
        raise _refuse(f"no active credential for account(s) {inactive}.")
    database = app_db.database()
    run_id = context.run.run_id
    recorded: list[PlacementRecord] = []

    def record(item: PlacementRecord) -> None:
        record_placement(database, run_id, item)  # the system of record, committed step by step
        recorded.append(item)

    def client_for(account: str):
        cred = credentials[account]
        return tradier.client(cred.token, cred.environment)

    try:
        outcome = place_tickets(
            tickets,
            client_for,
            confirm=config.confirm,
            limits=limits,
            allow_live=Settings.from_env().allow_live.enabled,
            live_accounts=frozenset(a for a, c in credentials.items() if c.environment == "live"),
            now=clock.clock().now,
            record=record,
            dry_run=config.dry_run,
        )
    except PlacementRefused as exc:
        raise _refuse(str(exc)) from None
    finally:
        frame = placement_frame(recorded, run_id)
        wh.replace_rows(
            "order_placements",
            frame,
            key_columns=["run_id", "ticket_id", "status"],
            delete_where={"run_id": run_id},
        )
    statuses = pd.Series([r.status for r in outcome], dtype=object).value_counts().to_dict()
    would = sum(r.status == "would_place" for r in outcome)
    for item in outcome:
        if item.status in ("ambiguous", "rejected", "error"):
            context.log.warning(f"{item.ticket_id} ({item.leg}): {item.status}: {item.message}")
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "order_placements", len(frame)),
            **{f"legs_{status}": dg.MetadataValue.int(int(n)) for status, n in statuses.items()},
            **({"confirm_phrase": f"PLACE {would}", "dry_run": True} if config.dry_run else {}),
            "outcome": preview_markdown(
                pd.DataFrame(
                    [(r.ticket_id, r.leg, r.status, r.broker_order_id, r.message) for r in outcome],
                    columns=["ticket_id", "leg", "status", "order_id", "message"],
                )
            ),
        }
    )


def placement_frame(records: list[PlacementRecord], run_id: str) -> pd.DataFrame:
    rows = [
        {
            "run_id": run_id,
            "ticket_id": r.ticket_id,
            "status": r.status,
            "account_id": r.account_id,
            "leg": r.leg,
            "tag": r.tag,
            "action": r.action,
            "broker_order_id": r.broker_order_id,
            "message": r.message,
            "recorded_at": r.at,
        }
        for r in records
    ]
    columns = ["run_id", "ticket_id", "status", "account_id", "leg", "tag", "action", "broker_order_id",
               "message", "recorded_at"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
