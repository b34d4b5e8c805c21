"""The shared ``app_db_url`` fixture skips without PostgreSQL; SPX_REQUIRE_POSTGRES=1 makes that fail.

The probe session runs in this process (pytester): the fixture module is already imported, so the
check costs a nested session, not a new interpreter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
def test_engines(app_db_url):
    assert app_db_url
"""
UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/postgres"


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, required: bool) -> pytest.RunResult:
    monkeypatch.setenv("SPX_TEST_PG_URL", UNREACHABLE)
    if required:
        monkeypatch.setenv("SPX_REQUIRE_POSTGRES", "1")
    else:
        monkeypatch.delenv("SPX_REQUIRE_POSTGRES", raising=False)
    probe = pytester.makepyfile(test_probe=PROBE)
    return pytester.runpytest_inprocess(
        "-q", "-rs", "-p", "spx_pipeline_tests.fixtures.stores", "-c", str(ROOT / "pyproject.toml"),
        "--rootdir", str(pytester.path), "-p", "no:cacheprovider", str(probe),
    )  # fmt: skip


def test_unreachable_server_skips_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, required=False)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=1, skipped=1)
    out = result.stdout.str()
    assert "127.0.0.1:1" in out and "not reachable" in out


def test_unreachable_server_fails_when_postgres_is_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, required=True)
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=1, errors=1)
    assert "SPX_REQUIRE_POSTGRES=1 makes this a failure" in result.stdout.str()
