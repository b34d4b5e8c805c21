"""Schedule and sensor behind ``TRADIER_PORTFOLIO_SYNC_ENABLED``.

Both read the flag at every evaluation; while it is off a tick is
skipped with a reason that names the flag, shown in the tick history and the tick's log.
A variable reaches the daemon and the code server only when they (re)load the code location, so
the definitions also take the gate's state at load: while it is off the schedule starts STOPPED
(it would only skip) and the sensor ticks every 15 minutes instead of every minute, so a quiet
deployment's daemon log is not a wall of skips. Each description says what the gate was at load.
"""

from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from spx_pipeline.defs.portfolio.jobs import portfolio_sync_job
from spx_pipeline.domain.market_calendar import NEW_YORK, is_open_at, is_session, session
from spx_pipeline.resources.app_db import AppDatabaseResource
from spx_pipeline.settings import SYNC_FLAG, FlagState, sync_flag

SCHEDULE_TIMEZONE = "America/New_York"
# Every 5 minutes from 09:30 to 15:55 ET on weekdays; the NYSE calendar then drops holidays and
# the minutes after an early close (13:00 ET).
SCHEDULE_CRONS = ["30-55/5 9 * * 1-5", "*/5 10-15 * * 1-5"]
SENSOR_INTERVAL_SECONDS = 60
# While the gate is off the sensor only says so: once per 15 minutes is enough (4 ticks an hour).
GATED_OFF_SENSOR_INTERVAL_SECONDS = 900


def _gate_at_load(gate: FlagState) -> str:
    state = "on" if gate.enabled else "off"
    return f" Gate when the code location loaded: {state} ({gate.reason})."


def _disabled_reason() -> str | None:
    flag = sync_flag()
    if flag.enabled:
        return None
    return f"Portfolio sync is disabled: {flag.reason}. Set {SYNC_FLAG}=true to enable it."


def schedule_tick(
    scheduled_at: datetime,
    *,
    run_key_prefix: str = "portfolio-sync",
    before_open: timedelta = timedelta(0),
    after_close: timedelta = timedelta(0),
) -> dg.RunRequest | dg.SkipReason:
    """What a gated market-hours schedule does at ``scheduled_at`` (pure, so tests can drive any date).

    The portfolio sync and the reconciliation share it: both run only while the gate is on and NYSE
    is in regular hours (the reconciliation also ``before_open`` a session's open: day orders placed
    then work from the open, so positions held overnight are protected from the first minute; and
    up to ``after_close`` past its close, early or not: SPXW options trade 15 minutes longer).
    """
    reason = _disabled_reason()
    if reason:
        return dg.SkipReason(reason)
    if not (
        is_open_at(scheduled_at)
        or _before_open(scheduled_at, before_open)
        or _after_close(scheduled_at, after_close)
    ):
        local = scheduled_at.astimezone(NEW_YORK)
        return dg.SkipReason(
            f"NYSE is not in regular hours at {local:%Y-%m-%d %H:%M} ET (weekend, holiday or early close)."
        )
    stamp = scheduled_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")
    return dg.RunRequest(
        run_key=f"{run_key_prefix}-{stamp}",
        tags={"spx/trigger": "schedule", "spx/scheduled_at": stamp},
    )


def _before_open(moment: datetime, window: timedelta) -> bool:
    day = moment.astimezone(NEW_YORK).date()
    if window <= timedelta(0) or not is_session(day):
        return False
    opens = session(day).open_utc
    return opens - window <= moment < opens


def _after_close(moment: datetime, window: timedelta) -> bool:
    day = moment.astimezone(NEW_YORK).date()
    if window <= timedelta(0) or not is_session(day):
        return False
    closes = session(day).close_utc
    return closes <= moment <= closes + window


def gated_schedule(
    *,
    name: str,
    job: dg.JobDefinition | Any,
    crons: list[str],
    gate: FlagState,
    description: str,
    run_key_prefix: str = "portfolio-sync",
    before_open: timedelta = timedelta(0),
    after_close: timedelta = timedelta(0),
) -> dg.ScheduleDefinition:
    """A market-hours schedule behind the sync flag: cron in New York time, STOPPED at load while
    the flag is off (it would only skip), and every tick decided by ``schedule_tick``."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=crons,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING if gate.enabled else dg.DefaultScheduleStatus.STOPPED,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return schedule_tick(
            context.scheduled_execution_time,
            run_key_prefix=run_key_prefix,
            before_open=before_open,
            after_close=after_close,
        )

    return _schedule


def build_portfolio_sync_schedule(
    job: dg.JobDefinition | Any, gate: FlagState | None = None
) -> dg.ScheduleDefinition:
    gate = gate or sync_flag()
    return gated_schedule(
        name="portfolio_sync_schedule",
        job=job,
        crons=SCHEDULE_CRONS,
        gate=gate,
        description=(
            "Portfolio snapshot sync every 5 minutes during NYSE regular hours (holidays and early "
            f"closes from exchange-calendars). Skips unless {SYNC_FLAG} is on; starts stopped when it "
            "is off." + _gate_at_load(gate)
        ),
    )


def build_broker_credentials_sensor(
    job: dg.JobDefinition | Any, gate: FlagState | None = None
) -> dg.SensorDefinition:
    """Request a sync for credentials newly activated or rotated since the last evaluation."""
    gate = gate or sync_flag()
    interval = SENSOR_INTERVAL_SECONDS if gate.enabled else GATED_OFF_SENSOR_INTERVAL_SECONDS

    @dg.sensor(
        name="broker_credentials_sensor",
        job=job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Syncs balances for broker credentials that were newly activated or rotated (tracked by "
            f"the credential store's change sequence). Skips unless {SYNC_FLAG} is on, every minute "
            "while it is on and every 15 minutes while it is off." + _gate_at_load(gate)
        ),
    )
    def broker_credentials_sensor(
        context: dg.SensorEvaluationContext, app_db: AppDatabaseResource
    ) -> dg.SensorResult | dg.SkipReason:
        reason = _disabled_reason()
        if reason:
            # The cursor stays put: changes made while the flag is off are synced once it is on.
            context.log.info(reason)
            return dg.SkipReason(reason)
        cursor = int(context.cursor) if context.cursor else 0
        changes = app_db.credential_listing().changes_since(cursor)
        if not changes:
            return dg.SkipReason(f"No credential activated or rotated since change {cursor}.")
        new_cursor = max(change.change_seq for change in changes)
        to_sync = sorted({c.account_id for c in changes if c.is_active})
        if not to_sync:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("Only deactivations since the last evaluation."),
                cursor=str(new_cursor),
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"credentials-change-{new_cursor}",
                    run_config=sync_run_config(to_sync),
                    tags={
                        "spx/trigger": "broker_credentials_sensor",
                        "spx/accounts": ",".join(to_sync)[:200],
                    },
                )
            ],
            cursor=str(new_cursor),
        )

    return broker_credentials_sensor


def sync_run_config(account_ids: list[str]) -> dict[str, object]:
    """Run config limiting a portfolio sync to some accounts."""
    return {"ops": {"tradier_balances": {"config": {"account_ids": account_ids}}}}


@dg.definitions
def automation() -> dg.Definitions:
    """Built whenever the code location loads, so both take the gate's state of that moment."""
    gate = sync_flag()
    return dg.Definitions(
        schedules=[build_portfolio_sync_schedule(portfolio_sync_job, gate)],
        sensors=[build_broker_credentials_sensor(portfolio_sync_job, gate)],
    )
