"""The analysts' DuckDB warehouse as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from spx_pipeline.storage.warehouse import Warehouse

# Every step that writes the warehouse runs in this pool. DuckDB allows one read-write process
# per file, so the instance limits the pool to one step at a time (dagster.yaml `pools`).
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB file; ``None`` means ``SPX_WAREHOUSE_PATH`` or ``data/warehouse.duckdb``."""

    path: str | None = None
    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def warehouse(self) -> Warehouse:
        """The warehouse with every table present (created or migrated, never skipped)."""
        if self._warehouse is None:
            warehouse = Warehouse(self.path)
            warehouse.ensure_schema()
            self._warehouse = warehouse
        return self._warehouse
