"""Guarded placement: an op job (never an asset, never scheduled) that places trades' orders.

A side effect does not belong in "Materialize all": placement runs only from a run config that
names an account, trades or tickets. It is a dry run unless told otherwise, and a real run must
carry the phrase the dry run printed (``PLACE <n>``). Each run records what it did under the
``order_placements`` asset: a materialization for a real run, an observation for a dry run (which
changes nothing). A refusal a person causes is a ``dg.Failure`` with a one-line description and
metadata, never a stack trace.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field, field_validator

from spx_pipeline.defs.common import OWNERS, table_schema_metadata
from spx_pipeline.defs.display import preview_markdown
from spx_pipeline.defs.run_config import CheckedConfig, Finite, to_decimal
from spx_pipeline.domain.execution import PlacementRefused
from spx_pipeline.domain.trades.planning import PlacementCaps
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.settings import Settings
from spx_pipeline.transformations.placement import Choice, execute_placement
from spx_pipeline.transformations.placement_view import plan_frame, plan_summary, plan_text

AUTOMATION_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
ORDER_PLACEMENTS = dg.AssetKey("order_placements")


def order_placements_spec() -> dg.AssetSpec:
    """``order_placements`` as the UI shows it: an asset only ``place_orders`` records, never materializable.

    Built per load of the code location (like the assets the loader decorates), with a code
    reference to the op that writes it.
    """
    source = Path(__file__)
    lines = source.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("@dg.op("))
    return dg.AssetSpec(
        ORDER_PLACEMENTS,
        group_name="execution",
        owners=OWNERS,
        kinds={"tradier", "duckdb"},
        description=(
            "What each placement run did with each order of the trades it was given: placed, rejected, "
            "left at the broker, waiting or skipped, with the reason. Written by place_order_tickets_job "
            "(never by Materialize all): a real run materializes it, a dry run observes it."
        ),
        metadata={
            **table_schema_metadata("order_placements"),
            "dagster/code_references": dg.CodeReferencesMetadataValue(
                code_references=[dg.LocalFileCodeReference(file_path=str(source), line_number=line)]
            ),
        },
    )


class PlacementConfig(CheckedConfig):
    """Which trades to place and the guard: a dry run unless dry_run is false and confirm matches the plan."""

    account_id: str | None = Field(
        default=None,
        description=(
            "Place every live trade of this account: today's planned entries, exits for what filled. "
            "A dry run that names nothing plans every account."
        ),
    )
    trade_ids: list[str] = Field(
        default_factory=list, description="Instead: these trades (spx-pipeline trades list shows their ids)."
    )
    ticket_ids: list[str] = Field(
        default_factory=list,
        description=(
            "Instead: the trades of these order tickets (order_tickets.ticket_id); tickets of another "
            "session or of a blocked trade are refused."
        ),
    )
    confirm: str | None = Field(
        default=None,
        description="PLACE <n>, where n is the number of orders the plan sends (a dry run shows the phrase).",
    )
    dry_run: bool = Field(
        default=True,
        description="Plan only (the default): show what would be sent and the phrase; send nothing.",
    )
    max_orders: int = Field(
        default=10, ge=1, le=1000, description="Cap on opening orders per run; exits never count."
    )
    max_opening_notional: Finite = Field(
        default=25_000.0,
        gt=0,
        le=100_000_000,
        description=(
            "Cap on opening orders' limit x contracts x 100, in dollars, (0, 100000000]; exits never count."
        ),
    )

    @field_validator("account_id", "confirm")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value


def _refuse(why: str, **metadata: object) -> dg.Failure:
    return dg.Failure(description=f"Nothing placed: {why}", metadata=metadata, allow_retries=False)


@dg.op(
    # Named like the asset it records, as the placement asset was: saved run configs keep working
    # (``ops: order_placements: config: ...``).
    name="order_placements",
    pool=WAREHOUSE_POOL,
    out=dg.Out(dg.Nothing),
    tags={"kind": "tradier"},
    description=(
        "Plans and (with a confirmation) places the orders of chosen trades: entries of today's planned "
        "trades, exits for what filled. Idempotent: every order's tag is claimed in the app database "
        "before it is sent, so no run, instance or host sends it twice."
    ),
)
def place_orders(
    context: dg.OpExecutionContext,
    config: PlacementConfig,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
):  # type: ignore[no-untyped-def]
    automation = [tag for tag in AUTOMATION_TAGS if tag in context.run.tags]
    if automation:
        raise _refuse(f"placement never runs from a schedule or sensor (run tagged {automation[0]}).")
    try:
        caps = PlacementCaps(
            max_orders=config.max_orders, max_opening_notional=to_decimal(config.max_opening_notional)
        )
    except ValueError as exc:
        raise _refuse(str(exc)) from None
    credentials = {c.account_id: c for c in app_db.credential_store().active_credentials(verify=False)}
    settings = Settings.from_env()
    wh = warehouse.warehouse()
    try:
        run = execute_placement(
            app_db.database(),
            wh,
            choice=Choice(config.account_id, config.trade_ids, config.ticket_ids),
            client_for=lambda account: tradier.client(
                credentials[account].token, credentials[account].environment
            ),
            live_accounts=frozenset(a for a, c in credentials.items() if c.environment == "live"),
            active_accounts=frozenset(credentials),
            allow_live=settings.allow_live.enabled,
            confirm=config.confirm,
            caps=caps,
            dry_run=config.dry_run,
            run_id=context.run.run_id,
            now=clock.clock().now,
            day_trade_guard=settings.day_trade_guard,
        )
    except PlacementRefused as exc:
        raise _refuse(str(exc)) from None
    frame = plan_frame(run.rows, run.records)
    context.log.info(
        f"Plan ({run.phrase}):\n{plan_text(run.rows, run.records) if len(frame) else '(nothing)'}"
    )
    for record in run.records:
        if record.status in ("ambiguous", "rejected", "void", "lost"):
            context.log.warning(f"{record.tag} ({record.leg}): {record.status}: {record.message}")
    metadata = {
        **plan_summary(run.rows, run.records, dry_run=config.dry_run),
        "confirm_phrase": run.phrase,
        "plan": preview_markdown(frame, money=("price", "stop_price", "opening_notional")),
    }
    if config.dry_run:
        context.log_event(dg.AssetObservation(asset_key=ORDER_PLACEMENTS, metadata=metadata))
    else:
        context.log_event(dg.AssetMaterialization(asset_key=ORDER_PLACEMENTS, metadata=metadata))


@dg.job(
    description=(
        "Places the orders of chosen trades (run config: account_id, trade_ids or ticket_ids; a dry run "
        "by default; confirm: 'PLACE <n>' to send). Never scheduled."
    ),
    tags={"spx/job": "placement"},
)
def place_order_tickets_job() -> None:
    place_orders()


@dg.definitions
def placement() -> dg.Definitions:
    """What this module adds (with a ``@dg.definitions`` function, a module contributes only this)."""
    return dg.Definitions(assets=[order_placements_spec()], jobs=[place_order_tickets_job])
