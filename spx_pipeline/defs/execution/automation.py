"""Reconciliation every 15 minutes in NYSE hours and past the close, behind the sync's gate.

SPXW options trade until 16:15 ET (15 minutes past an early close too), and a fill may be reported
later: 16:20 and 16:35 read what the 16:00 run could not, and on an early-close day the 13:15 and
13:30 ticks of the quarter-hour cron do (the calendar decides; the cron only offers the minutes).
The next session's first run (09:25) still reads the previous session's completed orders.

Placement has no automation on purpose: it sends orders only from a confirmed manual run.
"""

from datetime import timedelta

import dagster as dg

from spx_pipeline.defs.execution.jobs import reconciliation_job
from spx_pipeline.defs.portfolio.automation import gated_schedule
from spx_pipeline.settings import SYNC_FLAG, sync_flag

# 09:25 re-protects positions held overnight before the open (day exits expired at the close).
RECONCILIATION_CRONS = ["25,45 9 * * 1-5", "*/15 10-15 * * 1-5", "0,20,35 16 * * 1-5"]
PRE_OPEN = timedelta(minutes=5)
# The options close 15 minutes after the session (16:15, or 13:15 on a half day), then 20 minutes
# for the last fills to be reported.
AFTER_CLOSE = timedelta(minutes=35)


@dg.definitions
def automation() -> dg.Definitions:
    schedule = gated_schedule(
        name="reconciliation_schedule",
        job=reconciliation_job,
        crons=RECONCILIATION_CRONS,
        gate=sync_flag(),
        description=(
            "Reads positions and orders, follows the trades (protective exits for what filled), measures "
            "fills "
            "and reconciles every 15 minutes during NYSE regular hours, at 09:25 ET before the open, and "
            "at 16:20 and 16:35 ET (13:15 and 13:30 on an early close) for the options' late fills. "
            f"Skips unless {SYNC_FLAG} is on; starts stopped when it is off."
        ),
        run_key_prefix="reconciliation",
        before_open=PRE_OPEN,
        after_close=AFTER_CLOSE,
    )
    return dg.Definitions(schedules=[schedule])
