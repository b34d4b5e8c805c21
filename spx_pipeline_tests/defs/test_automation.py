"""Schedule and sensor: gated by TRADIER_PORTFOLIO_SYNC_ENABLED, read at every tick."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from spx_pipeline.definitions import build_definitions
from spx_pipeline.resources import AppDatabaseResource, TradierResource, WarehouseResource
from spx_pipeline.storage.app.credentials import CredentialStore
from spx_pipeline.storage.app.database import AppDatabase

NY = ZoneInfo("America/New_York")
FLAG = "TRADIER_PORTFOLIO_SYNC_ENABLED"
OPEN = datetime(2026, 11, 24, 10, 30, tzinfo=NY)  # a Tuesday, regular hours


def _schedule_result(when: datetime) -> dg.RunRequest | dg.SkipReason:
    with dg.DagsterInstance.ephemeral() as instance:
        # Resolve inside the instance context: Definitions load state from the current instance.
        schedule = build_definitions().resolve_schedule_def("portfolio_sync_schedule")
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context:
            data = schedule.evaluate_tick(context)
    if data.run_requests:
        assert len(data.run_requests) == 1
        return data.run_requests[0]
    return dg.SkipReason(data.skip_message)


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", "off", "maybe"])
def test_schedule_skips_with_a_reason_naming_the_flag_unless_on(
    value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(FLAG, raising=False)
    else:
        monkeypatch.setenv(FLAG, value)
    result = _schedule_result(OPEN)
    assert isinstance(result, dg.SkipReason)
    assert FLAG in (result.skip_message or "")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " On "])
def test_schedule_requests_a_sync_in_regular_hours_when_on(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FLAG, value)
    result = _schedule_result(OPEN)
    assert isinstance(result, dg.RunRequest)
    assert result.run_key == "portfolio-sync-2026-11-24T10:30"


@pytest.mark.parametrize(
    ("when", "why"),
    [
        (datetime(2026, 11, 26, 11, 0, tzinfo=NY), "Thanksgiving"),
        (datetime(2026, 11, 27, 13, 30, tzinfo=NY), "after the 13:00 early close"),
        (datetime(2026, 11, 28, 11, 0, tzinfo=NY), "Saturday"),
        (datetime(2026, 11, 24, 9, 15, tzinfo=NY), "before the open"),
    ],
)
def test_schedule_skips_outside_nyse_regular_hours(
    when: datetime, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FLAG, "true")
    result = _schedule_result(when)
    assert isinstance(result, dg.SkipReason), why
    assert "NYSE" in (result.skip_message or "")


def test_schedule_runs_on_an_early_close_day_before_13_00(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FLAG, "true")
    assert isinstance(_schedule_result(datetime(2026, 11, 27, 12, 55, tzinfo=NY)), dg.RunRequest)


def test_schedule_is_every_five_minutes_in_new_york_time() -> None:
    with dg.DagsterInstance.ephemeral():
        schedule = build_definitions().resolve_schedule_def("portfolio_sync_schedule")
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.cron_schedule == ["30-55/5 9 * * 1-5", "*/5 10-15 * * 1-5"]


@pytest.fixture
def sensor_setup(tmp_path, credentials_key):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    db = AppDatabase(url)
    db.upgrade()
    store = CredentialStore(db, key=credentials_key)
    defs = build_definitions(
        {
            "app_db": AppDatabaseResource(url=url),
            "warehouse": WarehouseResource(path=str(tmp_path / "wh.duckdb")),
            "tradier": TradierResource(),
        }
    )
    return defs, store


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):  # type: ignore[no-untyped-def]
    sensor = defs.resolve_sensor_def("broker_credentials_sensor")
    # The warehouse resource has a run lifecycle (its run guard), so its context is entered.
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources) as context:
        return sensor.evaluate_tick(context)


def test_sensor_skips_while_the_flag_is_off_and_keeps_its_cursor(sensor_setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    defs, store = sensor_setup
    monkeypatch.delenv(FLAG, raising=False)
    store.add("ACC1", "tok-one-0000000000")
    with dg.DagsterInstance.ephemeral() as instance:
        data = _tick(defs, instance, None)
    assert not data.run_requests
    assert FLAG in (data.skip_message or "")
    assert data.cursor is None


def test_sensor_requests_a_sync_for_new_and_rotated_credentials_only(sensor_setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    defs, store = sensor_setup
    monkeypatch.setenv(FLAG, "yes")
    store.add("ACC1", "tok-one-0000000000")
    store.add("ACC2", "tok-two-0000000000")
    with dg.DagsterInstance.ephemeral() as instance:
        first = _tick(defs, instance, None)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        accounts = request.run_config["ops"]["tradier_balances"]["config"]["account_ids"]
        assert accounts == ["ACC1", "ACC2"]
        # Nothing changed: no new run.
        idle = _tick(defs, instance, first.cursor)
        assert not idle.run_requests
        store.rotate("ACC2", "tok-two-rotated-000000")
        store.deactivate("ACC1")
        rotated = _tick(defs, instance, idle.cursor or first.cursor)
        assert len(rotated.run_requests) == 1
        assert rotated.run_requests[0].run_config["ops"]["tradier_balances"]["config"]["account_ids"] == [
            "ACC2"
        ]
        assert int(rotated.cursor) > int(first.cursor)
        store.deactivate("ACC2")
        only_deactivated = _tick(defs, instance, rotated.cursor)
        assert not only_deactivated.run_requests
        assert int(only_deactivated.cursor) > int(rotated.cursor)


@pytest.mark.parametrize(
    ("value", "status", "interval"),
    [(None, dg.DefaultScheduleStatus.STOPPED, 900), ("true", dg.DefaultScheduleStatus.RUNNING, 60)],
)
def test_a_gate_off_at_load_stops_the_schedule_and_slows_the_sensor(
    value: str | None, status: dg.DefaultScheduleStatus, interval: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(FLAG, raising=False)
    else:
        monkeypatch.setenv(FLAG, value)
    with dg.DagsterInstance.ephemeral():
        defs = build_definitions()
        schedule = defs.resolve_schedule_def("portfolio_sync_schedule")
        sensor = defs.resolve_sensor_def("broker_credentials_sensor")
    assert schedule.default_status == status
    assert sensor.minimum_interval_seconds == interval
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING  # its skip reason stays in the history
    state = "off" if value is None else "on"
    for description in (schedule.description, sensor.description):
        assert f"Gate when the code location loaded: {state} ({FLAG}" in (description or "")
