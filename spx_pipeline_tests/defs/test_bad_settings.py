"""A wrong store setting inside a run fails the first step with one message naming the setting."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spx_pipeline.definitions import build_definitions
from spx_pipeline.resources import AppDatabaseResource, WarehouseResource
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv


def failure_of(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return str(failure.step_key), str(failure.event_specific_data.error)


@pytest.mark.parametrize("broken", ["app_db", "warehouse"])
def test_a_broken_store_setting_fails_the_run_naming_it_and_touches_nothing(
    pipeline_env: PipelineEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    victim = tmp_path / "not-a-database.txt"
    victim.write_text("keep me\n")
    resources = pipeline_env.resources()
    if broken == "app_db":
        monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{victim}")
        resources["app_db"] = AppDatabaseResource()
        expected = f"SPX_APP_DB_URL='sqlite:///{victim}': {victim} is not a SQLite database"
    else:
        monkeypatch.setenv("SPX_WAREHOUSE_PATH", str(victim / "warehouse.duckdb"))
        resources["warehouse"] = WarehouseResource()
        expected = f"SPX_WAREHOUSE_PATH='{victim / 'warehouse.duckdb'}' cannot be used: {victim} is a file"
    defs = build_definitions(resources)
    result = pipeline_env.execute(defs, "portfolio_sync_job", raise_on_error=False)
    assert not result.success
    step, error = failure_of(result)
    assert step == "broker_credentials"
    assert expected in error
    assert victim.read_text() == "keep me\n"
    assert pipeline_env.emulator.request_count() == 0
