"""Housekeeping the daemon runs: dead runs marked failed and their warehouse pool slots freed."""

import dagster as dg

from spx_pipeline.resources.run_guard import reap_dead_runs

REAPER_INTERVAL_SECONDS = 30


@dg.sensor(
    name="dead_run_reaper",
    minimum_interval_seconds=REAPER_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 30 s: runs whose worker process died (kill -9, OOM) are marked failed and any pool slot a "
        "finished run still holds is freed, so no later run waits for ever on duckdb_warehouse. Runs also "
        "do this themselves when they start and while they wait; this covers an idle instance."
    ),
)
def dead_run_reaper(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    report = reap_dead_runs(context.instance)
    if report:
        context.log.warning(report.describe())
        return dg.SkipReason(report.describe())
    return dg.SkipReason("No dead run and no stale pool slot.")
