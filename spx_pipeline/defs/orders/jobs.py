"""The orders group's job: tickets for today's tradable recommendations (never placed)."""

import dagster as dg

from spx_pipeline.defs.orders.assets import order_tickets

order_tickets_job = dg.define_asset_job(
    "order_tickets_job",
    selection=dg.AssetSelection.assets(order_tickets),
    description="Build (and optionally preview) order tickets for today's unblocked recommendations.",
)
