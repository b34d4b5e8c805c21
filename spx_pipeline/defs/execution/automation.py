"""Reconciliation every 15 minutes in NYSE hours, behind the same gate as the portfolio sync.

Placement has no automation on purpose: it sends orders only from a confirmed manual run.
"""

from datetime import timedelta

import dagster as dg

from spx_pipeline.defs.execution.jobs import reconciliation_job
from spx_pipeline.defs.portfolio.automation import SCHEDULE_TIMEZONE, schedule_tick
from spx_pipeline.settings import SYNC_FLAG, sync_flag

# 09:25 re-protects positions held overnight before the open (day exits expired at the close).
RECONCILIATION_CRONS = ["25,45 9 * * 1-5", "*/15 10-15 * * 1-5", "0 16 * * 1-5"]
PRE_OPEN = timedelta(minutes=5)


@dg.definitions
def automation() -> dg.Definitions:
    gate = sync_flag()

    @dg.schedule(
        name="reconciliation_schedule",
        job=reconciliation_job,
        cron_schedule=RECONCILIATION_CRONS,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING if gate.enabled else dg.DefaultScheduleStatus.STOPPED,
        description=(
            "Reads positions and orders, follows the trades (protective exits for what filled), measures "
            "fills "
            "and reconciles every 15 minutes during NYSE regular hours, and at 09:25 ET before the open. "
            f"Skips unless {SYNC_FLAG} is on; starts stopped when it is off."
        ),
    )
    def reconciliation_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return schedule_tick(
            context.scheduled_execution_time, run_key_prefix="reconciliation", before_open=PRE_OPEN
        )

    return dg.Definitions(schedules=[reconciliation_schedule])
