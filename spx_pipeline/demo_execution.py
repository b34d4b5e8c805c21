"""``spx-pipeline demo --execute``: place the demo's tickets on the local server, let them fill, reconcile.

The local server runs its simulated market on a clock the demo moves forward (from now in regular
hours, else from the next session's morning, so the demo behaves the same on any day); every
Dagster run is pinned to the same instant through ``SPX_NOW``. Placement goes through the guarded
job exactly as an operator would run it: a dry run says the confirmation phrase, the real run
carries it. Everything lands in the same ``data/`` stores as the plain demo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from spx_pipeline.clock import NOW_VAR, FixedClock, clock_from_env
from spx_pipeline.domain.execution import quantile
from spx_pipeline.domain.market_calendar import NEW_YORK, is_open_at, sessions_between, trading_day
from spx_pipeline.emulator import EmulatorConfig, SimulationConfig
from spx_pipeline.storage.warehouse.execution_reads import (
    accounts_with_tickets,
    latest_fills,
    latest_reconciliation_counts,
)
from spx_pipeline.storage.warehouse.store import Warehouse

DEMO_SEED = 7
# The demo is a sandbox: generous caps so every demo ticket can go out; real runs keep the defaults.
DEMO_LIMITS = {"max_orders": 50, "max_opening_notional": 500_000.0}
FILL_WAIT = timedelta(minutes=20)
EXIT_WAIT = timedelta(hours=2)


@dataclass(frozen=True)
class ExecutionSummary:
    session: str
    orders_placed: int
    legs_filled: int
    median_slippage_ticks: Decimal | None
    p90_slippage_ticks: Decimal | None
    reconciliation: dict[str, int]
    success: bool


def demo_morning(now: datetime) -> datetime:
    """``now`` during regular hours, else 10:00 New York time of the latest session begun by ``now``.

    Never later than ``now``: one clock means no store holds a time later than the moment it was
    written, so outside the session the demo replays the latest session's morning (its runs read
    the stores as of that instant) instead of writing the next session's times ahead of the clock.
    """
    if is_open_at(now):
        return now
    local = now.astimezone(NEW_YORK).date()
    for day in reversed(sessions_between(local - timedelta(days=14), local)):
        morning = datetime.combine(day, time(10, 0), tzinfo=NEW_YORK)
        if morning <= now:
            return morning
    raise ValueError(f"no NYSE session began in the two weeks before {now.isoformat()}")


def execution_emulator_config(base: EmulatorConfig) -> EmulatorConfig:
    """The plain demo's accounts on a moving, filling market (seeded: the same fills every time)."""
    return EmulatorConfig(accounts=base.accounts, simulation=SimulationConfig(seed=DEMO_SEED))


def _run(job: str, run_config: dict[str, Any], log_level: str) -> tuple[bool, dict[str, Any]]:
    import dagster as dg

    from spx_pipeline.definitions import execute_in_code_location
    from spx_pipeline.resources.run_guard import worker_tags

    with dg.DagsterInstance.get() as instance:
        result = execute_in_code_location(
            job,
            instance=instance,
            run_config={**run_config, "loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={"spx/trigger": "demo --execute", **worker_tags()},
        )
        metadata: dict[str, Any] = {}
        for event in result.all_events:
            if event.is_step_materialization or event.event_type_value == "ASSET_OBSERVATION":
                data = event.event_specific_data
                record = getattr(data, "materialization", None) or getattr(data, "asset_observation", None)
                if record is not None:
                    metadata.update({k: v.value for k, v in record.metadata.items()})
        return result.success, metadata


def _place_all(accounts: list[str], log_level: str) -> tuple[int, bool]:
    """For each account with tickets: a dry run for the phrase, then the confirmed run."""
    placed, ok = 0, True
    for account in accounts:
        config = {"account_id": account, **DEMO_LIMITS}
        dry_ok, plan = _run(
            "place_order_tickets_job",
            {"ops": {"order_placements": {"config": {**config, "dry_run": True}}}},
            log_level,
        )
        phrase = plan.get("confirm_phrase")
        if not dry_ok or phrase is None:
            ok = ok and dry_ok
            continue
        if phrase == "PLACE 0":
            continue
        sent_ok, sent = _run(
            "place_order_tickets_job",
            {"ops": {"order_placements": {"config": {**config, "dry_run": False, "confirm": phrase}}}},
            log_level,
        )
        ok = ok and sent_ok
        placed += int(sent.get("legs_placed", 0))
    return placed, ok


def _advance(clock: FixedClock, by: timedelta) -> None:
    clock.advance(by)
    os.environ[NOW_VAR] = clock.now().isoformat()


def run_execution(clock: FixedClock, *, log_level: str = "INFO") -> ExecutionSummary:
    """After the plain demo's pipeline run (at ``clock``): place, fill, place exits, reconcile."""
    warehouse = Warehouse()
    day = trading_day(clock.now())
    accounts = accounts_with_tickets(warehouse, day)
    entries, ok = _place_all(accounts, log_level)
    _advance(clock, FILL_WAIT)
    exits, exits_ok = _place_all(accounts, log_level)  # the exits of what filled
    _advance(clock, EXIT_WAIT)
    reconciled, _ = _run("reconciliation_job", {}, log_level)
    fills = latest_fills(warehouse)
    ticks = [Decimal(str(v)) for v in fills["slippage_ticks"].dropna()]
    return ExecutionSummary(
        session=day.isoformat(),
        orders_placed=entries + exits,
        legs_filled=len(fills),
        median_slippage_ticks=quantile(ticks, Decimal("0.5")) if ticks else None,
        p90_slippage_ticks=quantile(ticks, Decimal("0.9")) if ticks else None,
        reconciliation=latest_reconciliation_counts(warehouse),
        success=ok and exits_ok and reconciled,
    )


def execution_clock() -> FixedClock:
    """The demo's clock: ``SPX_NOW`` when set (it must fall in a session), else ``demo_morning``."""
    pinned = os.environ.get(NOW_VAR)
    start = clock_from_env().now() if pinned else demo_morning(clock_from_env().now())
    clock = FixedClock(start)
    os.environ[NOW_VAR] = clock.now().isoformat()
    return clock
