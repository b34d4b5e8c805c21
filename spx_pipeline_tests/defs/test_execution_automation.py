"""Reconciliation runs on a gated market-hours schedule; placement has no automation at all."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from spx_pipeline.definitions import build_definitions

NY = ZoneInfo("America/New_York")
FLAG = "TRADIER_PORTFOLIO_SYNC_ENABLED"


def _tick(when: datetime) -> dg.RunRequest | dg.SkipReason:
    with dg.DagsterInstance.ephemeral() as instance:
        schedule = build_definitions().resolve_schedule_def("reconciliation_schedule")
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context:
            data = schedule.evaluate_tick(context)
    return data.run_requests[0] if data.run_requests else dg.SkipReason(data.skip_message)


def test_reconciliation_is_gated_like_the_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FLAG, raising=False)
    skipped = _tick(datetime(2026, 11, 24, 10, 30, tzinfo=NY))
    assert isinstance(skipped, dg.SkipReason) and FLAG in (skipped.skip_message or "")
    monkeypatch.setenv(FLAG, "true")
    requested = _tick(datetime(2026, 11, 24, 10, 30, tzinfo=NY))
    assert isinstance(requested, dg.RunRequest) and requested.run_key == "reconciliation-2026-11-24T10:30"
    closed = _tick(datetime(2026, 11, 26, 11, 0, tzinfo=NY))  # Thanksgiving
    assert isinstance(closed, dg.SkipReason) and "not in regular hours" in (closed.skip_message or "")


def test_the_reconciliation_schedule_targets_reconciliation_and_nothing_targets_placement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(FLAG, raising=False)
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("reconciliation_schedule")
    assert schedule.job_name == "reconciliation_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # gate off at load
    targets = {s.job_name for s in defs.schedules} | {
        job.name for sensor in defs.sensors if sensor.has_jobs for job in sensor.jobs
    }
    assert "place_order_tickets_job" not in targets


def test_reconciliation_runs_before_the_open_to_protect_positions_held_overnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FLAG, "true")
    preopen = _tick(datetime(2026, 11, 25, 9, 25, tzinfo=NY))
    assert isinstance(preopen, dg.RunRequest) and preopen.run_key == "reconciliation-2026-11-25T09:25"
    early = _tick(datetime(2026, 11, 25, 9, 20, tzinfo=NY))  # more than 5 minutes before the open
    assert isinstance(early, dg.SkipReason)
    holiday = _tick(datetime(2026, 11, 26, 9, 25, tzinfo=NY))  # Thanksgiving: no open to protect for
    assert isinstance(holiday, dg.SkipReason)
    schedule = build_definitions().resolve_schedule_def("reconciliation_schedule")
    assert "25,45 9 * * 1-5" in schedule.cron_schedule


@pytest.mark.parametrize(
    ("when", "runs"),
    [
        (datetime(2026, 11, 24, 16, 0, tzinfo=NY), True),  # the equity close
        (datetime(2026, 11, 24, 16, 20, tzinfo=NY), True),  # SPXW trades until 16:15
        (datetime(2026, 11, 24, 16, 35, tzinfo=NY), True),  # fills reported late
        (datetime(2026, 11, 24, 16, 45, tzinfo=NY), False),
        (datetime(2026, 11, 27, 13, 15, tzinfo=NY), True),  # early close (13:00): options until 13:15
        (datetime(2026, 11, 27, 13, 30, tzinfo=NY), True),
        (datetime(2026, 11, 27, 13, 45, tzinfo=NY), False),
        (datetime(2026, 11, 26, 16, 20, tzinfo=NY), False),  # Thanksgiving: no session to finish
    ],
)
def test_reconciliation_covers_the_options_session_to_its_real_close(
    monkeypatch: pytest.MonkeyPatch, when: datetime, runs: bool
) -> None:
    monkeypatch.setenv(FLAG, "true")
    tick = _tick(when)
    assert isinstance(tick, dg.RunRequest) is runs, tick
    # The cron must offer the minute at all (16:20, 16:35; 13:15 and 13:30 are quarter hours).
    schedule = build_definitions().resolve_schedule_def("reconciliation_schedule")
    assert "0,20,35 16 * * 1-5" in schedule.cron_schedule
