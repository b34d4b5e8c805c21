"""The shared ``app_db_url`` fixture skips without PostgreSQL; SPX_REQUIRE_POSTGRES=1 makes that fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
def test_engines(app_db_url):
    assert app_db_url
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE)
    environ = {k: v for k, v in os.environ.items() if k != "SPX_REQUIRE_POSTGRES"}
    environ.update(env, SPX_TEST_PG_URL="postgresql+psycopg2://nobody@127.0.0.1:1/postgres")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "spx_pipeline_tests.fixtures.stores",
         "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
        capture_output=True, text=True, cwd=ROOT, env=environ, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_unreachable_server_skips_with_the_reason(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert "127.0.0.1:1" in result.stdout and "not reachable" in result.stdout


@pytest.mark.slow
def test_unreachable_server_fails_when_postgres_is_required(tmp_path: Path) -> None:
    result = _run(tmp_path, SPX_REQUIRE_POSTGRES="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SPX_REQUIRE_POSTGRES=1 makes this a failure" in result.stdout
    assert "1 passed, 1 error" in result.stdout
