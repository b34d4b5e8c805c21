"""The `dg` project: the code location loads from the root as `dg` loads it, quietly, with its resources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from spx_pipeline.defs.resources import default_resources
from spx_pipeline.demo import LOCAL_INSTANCE_YAML
from spx_pipeline.settings import SYNC_FLAG, Settings

ROOT = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).parent / "dg"


def test_resources_name_the_variables_that_are_set_and_leave_the_rest_to_defaults() -> None:
    resources = default_resources(
        Settings.from_env(
            {"SPX_WAREHOUSE_PATH": "/srv/wh.duckdb", "TRADIER_BASE_URL": "http://127.0.0.1:1/v1"}
        )
    )
    warehouse, tradier, app_db = resources["warehouse"], resources["tradier"], resources["app_db"]
    assert isinstance(warehouse.path, dg.EnvVar) and warehouse.path.env_var_name == "SPX_WAREHOUSE_PATH"
    assert warehouse.setting == "SPX_WAREHOUSE_PATH"
    assert isinstance(tradier.base_url, dg.EnvVar) and tradier.base_url.env_var_name == "TRADIER_BASE_URL"
    assert app_db.url is None and app_db.setting is None  # unset: the documented default under data/
    assert resources["clock"].now is None


def test_the_top_level_dagster_yaml_is_the_local_instance_not_postgres() -> None:
    top = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    assert "storage" not in top and "run_storage" not in top
    assert top == yaml.safe_load(LOCAL_INSTANCE_YAML)
    deployment = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    assert "postgres" in deployment["storage"]


@pytest.mark.slow
@pytest.mark.e2e
def test_dg_check_defs_passes_from_the_root_without_dagster_home_and_without_warnings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "SPX_", "TRADIER_"))}
    env["HOME"] = str(tmp_path)  # no user-level dg config
    done = subprocess.run(
        [str(DG), "check", "defs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "All definitions loaded successfully." in output
    for noise in ("Warning", "warning", "postgres", "Traceback"):
        assert noise not in output, output


def test_building_again_reuses_the_loaded_folder_unless_a_setting_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spx_pipeline.definitions import build_definitions
    from spx_pipeline.resources import WarehouseResource

    monkeypatch.delenv(SYNC_FLAG, raising=False)
    first = build_definitions({"warehouse": WarehouseResource(path="/tmp/a.duckdb")})
    again = build_definitions({"warehouse": WarehouseResource(path="/tmp/b.duckdb")})
    assert [id(a) for a in first.assets or []] == [id(a) for a in again.assets or []]
    assert again.resources is not None and again.resources["warehouse"].path == "/tmp/b.duckdb"
    monkeypatch.setenv(SYNC_FLAG, "true")
    reloaded = build_definitions()
    assert {id(a) for a in reloaded.assets or []}.isdisjoint(id(a) for a in first.assets or [])
