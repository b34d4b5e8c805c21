"""After the demo, the operator's next commands work as printed: every "Try:" line runs, and the
credential verbs find the demo's key (``data/credentials.key``) without any variable set.

The demo and the "Try:" lines run as separate processes, exactly as printed; the other commands
run through the CLI's entry point in this process (``invoke_cli``), with the same environment.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from spx_pipeline.cli import parse_params
from spx_pipeline_tests.fixtures.processes import InvokeCli, clean_cli_env, run_cli

# The demo and every command it prints, as processes: end to end (make test-e2e, run by CI).
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A directory where ``spx-pipeline demo`` ran with its defaults (data/ under it), and its output.

    Session-scoped: a module-scoped one would be built again each time a pytest-xdist worker came
    back to this module after running other modules' tests.
    """
    root = tmp_path_factory.mktemp("project")
    done = run_cli("demo", "--quiet", env=clean_cli_env(), cwd=root, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, done.stdout


def _try_lines(out: str) -> list[str]:
    _, _, tail = out.partition("Try:")
    return [line.split("   #")[0].strip() for line in tail.strip().splitlines()]


@pytest.mark.slow
def test_every_try_line_works_as_printed(demo_project: tuple[Path, str]) -> None:
    root, out = demo_project
    lines = _try_lines(out)
    assert len(lines) == 5 and all(".venv/bin/" in line or "/bin/" in line for line in lines), lines
    for line in lines:
        argv = shlex.split(line)
        if argv[1:2] == ["dev"]:  # a server: its start and clean stop are tested in test_dev_stops
            assert parse_params(argv[1:])[1]["port"] == 3000
            continue
        done = subprocess.run(
            line,
            shell=True,
            cwd=root,
            env=clean_cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (line, done.stderr)
        if argv[1:2] == ["report"]:  # charts, not rows: it names the file it wrote
            assert (root / "data" / "warehouse_report.html").is_file(), done.stdout
            assert "report written: " in done.stdout and "charts: equity" in done.stdout, done.stdout
            continue
        assert "VA00000001" in done.stdout, (line, done.stdout)
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_credential_verbs_use_the_demo_key_by_default(
    demo_project: tuple[Path, str], invoke_cli: InvokeCli
) -> None:
    root, _ = demo_project
    env = clean_cli_env()
    listed = invoke_cli("credentials", "list", env=env, cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert "VA00000003" in listed.stdout
    assert "using the local key data/credentials.key" in listed.stderr
    verified = invoke_cli("credentials", "verify", env=env, cwd=root)
    assert (verified.returncode, "decrypts all 4 active token(s)" in verified.stdout) == (0, True)
    added = invoke_cli(
        "credentials", "add", "--account-id", "VA00000099", env=env, cwd=root, stdin="tok-99\n"
    )
    assert added.returncode == 0, added.stderr
    assert "added VA00000099 (sandbox, active" in added.stdout


@pytest.mark.slow
def test_another_database_never_gets_the_demo_key_silently(
    demo_project: tuple[Path, str], invoke_cli: InvokeCli
) -> None:
    """The message says which variable to set, with the path, instead of guessing."""
    root, _ = demo_project
    other = f"sqlite:///{root / 'other.sqlite'}"
    done = invoke_cli("credentials", "verify", "--db-url", other, env=clean_cli_env(), cwd=root)
    assert done.returncode == 2
    key = (root / "data" / "credentials.key").resolve()
    assert f"export SPX_CREDENTIALS_KEY_FILE={key}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_db_query_is_readable_in_100_columns_and_exact_for_scripts(
    demo_project: tuple[Path, str], invoke_cli: InvokeCli
) -> None:
    import json

    root, _ = demo_project
    env = clean_cli_env(COLUMNS="100")
    for name in ("latest_snapshot_per_account", "recommendations_of_the_day", "buying_power_history"):
        done = invoke_cli("db", "query", name, env=env, cwd=root)
        assert done.returncode == 0, done.stderr
        assert max(len(line) for line in done.stdout.splitlines()) <= 100, name
        assert "NaN" not in done.stdout and "00:00:00" not in done.stdout
    latest = invoke_cli("db", "query", "latest_snapshot_per_account", env=env, cwd=root).stdout
    assert "day_trade_buying_power | NULL" in latest and "total_equity           | 52,480.55" in latest
    records = json.loads(
        invoke_cli("db", "query", "latest_snapshot_per_account", "--format", "json", env=env, cwd=root).stdout
    )
    margin = next(r for r in records if r["account_id"] == "VA00000001")
    assert (margin["total_equity"], margin["day_trade_buying_power"]) == ("52480.5500", None)
