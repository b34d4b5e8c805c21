"""Dagster resources: thin, typed handles on the stores and the broker client.

They hold configuration only (paths, URLs, limits); secrets stay in the credential store and
the environment, so nothing sensitive ends up in run config or the UI.
"""

from spx_pipeline.resources.app_db import AppDatabaseResource
from spx_pipeline.resources.clock import ClockResource
from spx_pipeline.resources.tradier import TradierResource
from spx_pipeline.resources.warehouse import WarehouseResource

__all__ = ["AppDatabaseResource", "ClockResource", "TradierResource", "WarehouseResource"]
