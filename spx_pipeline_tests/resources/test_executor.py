"""SPX_EXECUTOR chooses how runs execute their steps; SPX_IO_DIR where steps hand over outputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
import pytest

from spx_pipeline.definitions import build_definitions
from spx_pipeline.resources.executor import (
    executor_from_settings,
    io_manager_from_settings,
    reconstructable_job,
)
from spx_pipeline.resources.run_guard import WORKER_TAG, worker_identity
from spx_pipeline.settings import SettingError, Settings
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.runs import local_instance_home


def test_unset_or_blank_is_in_process_as_before() -> None:
    for env in ({}, {"SPX_EXECUTOR": ""}, {"SPX_EXECUTOR": "In-Process"}):
        assert executor_from_settings(Settings.from_env(env)) is dg.in_process_executor
    job = build_definitions().resolve_job_def("full_pipeline_job")
    assert job.executor_def is dg.in_process_executor


@pytest.mark.parametrize("kind", ["multiprocess", "celery"])
def test_step_isolating_executors_are_chosen_by_name(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPX_EXECUTOR", kind)
    job = build_definitions().resolve_job_def("portfolio_sync_job")
    assert job.executor_def.name == kind
    assert job.executor_def is not dg.in_process_executor


def test_celery_broker_comes_from_the_environment_never_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "redis://:s3cret@broker.internal:6379/2"
    settings = Settings.from_env({"SPX_EXECUTOR": "celery", "SPX_CELERY_BROKER_URL": secret})
    assert "s3cret" not in repr(settings)
    assert settings.celery_urls() == (secret, secret)
    # The configured executor names the variable; Dagster resolves it where the run executes.
    configured = executor_from_settings(settings).config_schema
    config = configured._config_fn({})  # type: ignore[attr-defined]
    assert config == {"broker": {"env": "SPX_CELERY_BROKER_URL"}, "backend": {"env": "SPX_CELERY_BROKER_URL"}}
    assert Settings.from_env({}).celery_urls() == ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0")


def test_a_bad_value_is_one_line_naming_the_setting() -> None:
    expected = r"^SPX_EXECUTOR='threads' is not one of in_process, multiprocess, celery$"
    with pytest.raises(SettingError, match=expected):
        executor_from_settings(Settings.from_env({"SPX_EXECUTOR": "threads"}))


def test_celery_without_the_extra_names_the_setting_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dagster_celery", None)  # import fails as if not installed
    with pytest.raises(SettingError) as caught:
        executor_from_settings(Settings.from_env({"SPX_EXECUTOR": "celery"}))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("SPX_EXECUTOR='celery' needs dagster-celery")
    assert "spx-pipeline[celery]" in message


def test_io_dir_moves_the_io_manager_and_unset_keeps_dagsters_default(tmp_path: Path) -> None:
    assert io_manager_from_settings(Settings.from_env({})) == {}
    [(name, manager)] = io_manager_from_settings(Settings.from_env({"SPX_IO_DIR": str(tmp_path)})).items()
    assert name == "io_manager" and isinstance(manager, dg.FilesystemIOManager)


# A process per step: with the distributed suite (make test-distributed), not the default run.
@pytest.mark.slow
@pytest.mark.distributed
def test_multiprocess_run_hands_outputs_over_in_io_dir_and_keeps_its_orchestrator_as_worker(
    pipeline_env: PipelineEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = local_instance_home(tmp_path / "home")
    io_dir = tmp_path / "shared_io"
    for name, value in {
        "SPX_EXECUTOR": "multiprocess",
        "SPX_IO_DIR": str(io_dir),
        "SPX_APP_DB_URL": pipeline_env.app_db_url,
        "SPX_WAREHOUSE_PATH": str(pipeline_env.warehouse_path),
        "TRADIER_BASE_URL": pipeline_env.emulator.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # The ticket ops hand values to each other (the assets before them write the warehouse);
        # forkserver starts each step's process from one that already imported the code location.
        result = dg.execute_job(
            reconstructable_job("full_pipeline_job"),
            instance,
            asset_selection=[dg.AssetKey("order_tickets")],
            run_config={"execution": {"config": {"start_method": {"forkserver": {}}}}},
            raise_on_error=False,
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        starts = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.STEP_START)
        pids = {r.event_log_entry.dagster_event.pid for r in starts.records}  # type: ignore[union-attr]
    assert run is not None and run.tags[WORKER_TAG] == worker_identity()  # this process orchestrated
    assert pids and os.getpid() not in pids  # steps ran in processes of their own
    handed = {p.parent.name for p in (io_dir / result.run_id).glob("*/result")}
    assert "order_tickets.build_order_payloads" in handed, handed  # outputs went to SPX_IO_DIR


@pytest.mark.parametrize("io_dir", ["/proc/nope", "/proc/nope/deeper", "/dev/null"])
def test_an_io_dir_that_cannot_be_written_is_refused_when_the_definitions_load(io_dir: str) -> None:
    with pytest.raises(SettingError, match=rf"^SPX_IO_DIR='{io_dir}' cannot be used: [^\n]+$"):
        io_manager_from_settings(Settings.from_env({"SPX_IO_DIR": io_dir}))


def test_a_dead_celery_broker_is_one_line_naming_the_setting_without_its_password() -> None:
    from spx_pipeline.local_cluster import free_port
    from spx_pipeline.resources.executor import check_celery_broker, check_run_settings

    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = Settings.from_env({"SPX_EXECUTOR": "celery", "SPX_CELERY_BROKER_URL": url})
    with pytest.raises(
        SettingError, match=r"^SPX_CELERY_BROKER_URL='redis://:\*\*\*@127\.0\.0\.1:\d+/0' cannot"
    ) as caught:
        check_celery_broker(settings, timeout=1.0)
    assert "\n" not in str(caught.value) and "s3cret" not in str(caught.value)
    check_run_settings(Settings.from_env({}))  # in process: nothing to reach, nothing refused
