"""The analysts' DuckDB warehouse as a Dagster resource, and the guard of its writer pool."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from spx_pipeline.resources.run_guard import WATCH_INTERVAL_SECONDS, RunGuard
from spx_pipeline.settings import SettingError
from spx_pipeline.storage.warehouse.store import Warehouse

# Every step that writes the warehouse runs in this pool. DuckDB allows one read-write process
# per file, so the instance limits the pool to one step at a time (dagster.yaml `pools`); the
# Parquet backend (SPX_WAREHOUSE_BACKEND=parquet) has no shared writable file, so it may be raised.
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB file; None means SPX_WAREHOUSE_PATH or data/warehouse.duckdb.

    Setting it up for a run also starts the run's RunGuard: before any step asks for a
    duckdb_warehouse slot, runs whose worker died are marked failed and their slots freed, and
    the guard keeps doing so while the run executes (see resources.run_guard).
    """

    path: str | None = None
    # The variable ``path`` was declared from (``dg.EnvVar``), so a bad value's message names it.
    setting: str | None = None
    # How often a running run looks for dead runs holding the pool (the bound on how long a run
    # already waiting behind a killed one keeps waiting, plus Dagster's own re-check).
    guard_interval_seconds: float = WATCH_INTERVAL_SECONDS
    _warehouse: Warehouse | None = PrivateAttr(default=None)
    _guard: RunGuard | None = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run
        # The Parquet backend stages a run's writes in a scratch file of that run.
        self._run_id = run.run_id if run is not None else None
        if context.instance is not None and run is not None:
            self._guard = RunGuard(context.instance, run.run_id, interval=self.guard_interval_seconds)
            report = self._guard.start()
            if report and context.log is not None:
                context.log.warning(f"Freed the warehouse pool from dead runs: {report.describe()}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._guard is not None:
            self._guard.stop()
            self._guard = None

    def warehouse(self) -> Warehouse:
        """The warehouse with every table present (created or migrated, never skipped)."""
        if self._warehouse is None:
            try:
                warehouse = Warehouse(self.path, setting=self.setting, run_id=self._run_id)
                warehouse.ensure_schema()
            except SettingError as exc:
                raise dg.Failure(description=str(exc)) from None
            self._warehouse = warehouse
        return self._warehouse
