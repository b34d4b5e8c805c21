"""``spx_setups``: the app database's setups copied into the warehouse by every pipeline run.

Recommendations name a setup by id only; an analyst asking "what stop did this trade plan on?"
reads the copy the same run made (every run's copy is kept, keyed by run), never the app
database, which only operators touch.
"""

import dagster as dg

from spx_pipeline.defs.common import table_asset, unique_key_check
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.resources import AppDatabaseResource, ClockResource, WarehouseResource
from spx_pipeline.transformations.setups import setup_rows

SETUP_MONEY = ("stop_premium", "runner_stop_limit_offset")
SETUP_PERCENT = ("t1_gain_pct", "t1_fraction")


@table_asset(
    group="recommendations",
    kinds={"sqlite", "duckdb"},
    description=(
        "The trade setups (direction, target delta, stop premium, T1 gain and share, runner "
        "stop-limit offset, priority, status) as the app database held them when the run read them; "
        "every run's copy is kept, so each recommendation can be read with the setup it was sized for."
    ),
)
def spx_setups(
    context: dg.AssetExecutionContext,
    app_db: AppDatabaseResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    records = app_db.setup_store().list()
    rows = setup_rows(records, run_id=context.run.run_id, captured_at=clock.run_time(context))
    wh = warehouse.warehouse()
    wh.replace_rows("spx_setups", rows)
    shown = rows[
        ["setup_id", "direction", "target_delta", "stop_premium", "t1_gain_pct", "priority", "status"]
    ]
    active = int((rows["status"] == "active").sum()) if len(rows) else 0
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "spx_setups", len(rows)),
            "active_setups": dg.MetadataValue.int(active),
            "preview": preview_markdown(shown, money=SETUP_MONEY, percent=SETUP_PERCENT),
        }
    )


spx_setups_unique_keys = unique_key_check(spx_setups, "spx_setups")
