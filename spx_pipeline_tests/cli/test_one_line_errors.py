"""Bad settings through the real entry point: a non-zero exit and one ``spx-pipeline: error:``
line on stderr naming the setting and its value, never a traceback.

Every case runs through ``main`` in this process; one also runs as a separate process, so what
the interpreter itself would print (an uncaught exception, a warning) is checked too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spx_pipeline.storage.app.credentials import generate_key
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline_tests.fixtures.processes import InvokeCli, clean_cli_env, free_port, run_cli

DB = ("--db-url", "sqlite:///{tmp}/app.sqlite")


def _argv(argv: tuple[str, ...], tmp: Path) -> list[str]:
    return [a.format(tmp=tmp) for a in argv]


CASES: list[tuple[str, tuple[str, ...], dict[str, str], tuple[str, ...]]] = [
    (
        "db-url-not-a-url",
        ("db", "upgrade", "--db-url", "notaurl"),
        {},
        ("--db-url='notaurl'", "not a database URL"),
    ),
    (
        "db-url-mysql",
        ("db", "status", "--db-url", "mysql://spx:pw@127.0.0.1/spx"),
        {},
        ("--db-url='mysql://spx:***@127.0.0.1/spx'", "mysql is not supported"),
    ),
    (
        "db-url-postgres-no-driver",
        ("credentials", "list", "--db-url", "postgresql://spx@127.0.0.1/spx"),
        {},
        ("--db-url='postgresql://spx@127.0.0.1/spx'", "driver 'postgresql' is not installed"),
    ),
    ("env-db-url", ("db", "upgrade"), {"SPX_APP_DB_URL": "notaurl"}, ("SPX_APP_DB_URL='notaurl'",)),
    (
        "bad-key",
        ("credentials", "add", "--account-id", "VA1", *DB),
        {"SPX_CREDENTIALS_KEY": "not-a-key"},
        ("SPX_CREDENTIALS_KEY key #1 is malformed",),
    ),
    (
        "missing-key",
        ("credentials", "verify", *DB),
        {},
        ("SPX_CREDENTIALS_KEY is not set (nor SPX_CREDENTIALS_KEY_FILE)",),
    ),
    (
        "key-file-missing",
        ("credentials", "verify", *DB),
        {"SPX_CREDENTIALS_KEY_FILE": "/nonexistent/spx.key"},
        ("SPX_CREDENTIALS_KEY_FILE='/nonexistent/spx.key' does not exist",),
    ),
    (
        "bad-account-id",
        ("credentials", "add", "--account-id", "VA 1; drop", *DB),
        {"SPX_CREDENTIALS_KEY": "GOOD"},
        ("account_id 'VA 1; drop' is not valid",),
    ),
    (
        "bad-now",
        ("demo", "--now", "thanksgiving", "--data-dir", "{tmp}/data"),
        {},
        ("--now='thanksgiving' is not an ISO 8601 instant",),
    ),
    (
        "no-published-data",
        ("db", "query", "latest_snapshot_per_account", "--path", "{tmp}/w.duckdb"),
        {},
        ("no published data yet", "w_analyst.duckdb does not exist"),
    ),
    (
        "bad-executor",
        ("celery-worker",),
        {"SPX_EXECUTOR": "threads", "DAGSTER_HOME": "{tmp}"},
        ("SPX_EXECUTOR='threads' is not one of in_process, multiprocess, celery",),
    ),
    ("worker-without-home", ("celery-worker",), {}, ("DAGSTER_HOME is not set",)),
    (
        "query-bogus-backend",
        ("db", "query", "setups", "--path", "{tmp}/w.duckdb"),
        {"SPX_WAREHOUSE_BACKEND": "bogus"},
        ("SPX_WAREHOUSE_BACKEND='bogus' is not a warehouse backend",),
    ),
    (
        "demo-io-dir-in-proc",
        ("demo", "--quiet", "--data-dir", "{tmp}/data"),
        {"SPX_IO_DIR": "/proc/nope"},
        ("SPX_IO_DIR='/proc/nope' cannot be used: No such file or directory",),
    ),
    (
        "bad-symbol",
        ("symbols", "convert", "--to", "osi", "SPXW 251219C06000000"),
        {},
        ("1 invalid option symbol(s)",),
    ),
]


def _assert_one_line(done: subprocess.CompletedProcess[str], needles: tuple[str, ...]) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("spx-pipeline: error: ")]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    other = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith(("spx-pipeline: error: ", "  ", "applied migrations"))
    ]
    assert other == [], done.stderr


def _env(env: dict[str, str], tmp: Path) -> dict[str, str]:
    return clean_cli_env(**{k: generate_key() if v == "GOOD" else v.format(tmp=tmp) for k, v in env.items()})


@pytest.mark.parametrize(("argv", "env", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_line_naming_the_setting_and_value(
    argv: tuple[str, ...],
    env: dict[str, str],
    needles: tuple[str, ...],
    tmp_path: Path,
    invoke_cli: InvokeCli,
) -> None:
    done = invoke_cli(*_argv(argv, tmp_path), env=_env(env, tmp_path), stdin="a-token\n", cwd=tmp_path)
    _assert_one_line(done, needles)


@pytest.mark.parametrize("case", ["bad-key"])
def test_one_line_from_a_separate_process(case: str, tmp_path: Path) -> None:
    _, argv, env, needles = next(c for c in CASES if c[0] == case)
    done = run_cli(*_argv(argv, tmp_path), env=_env(env, tmp_path), stdin="a-token\n", cwd=tmp_path)
    _assert_one_line(done, needles)


# Every verb that reads the clock (a store's, the report's, a placement's), on an existing database.
CLOCK_VERBS = [
    ("credentials", "list"),
    ("credentials", "verify"),
    ("db", "status"),
    ("db", "upgrade"),
    ("setups", "list"),
    ("limits", "list"),
    ("trades", "list"),
    ("positions", "list"),
    ("report", "--path", "{tmp}/w.duckdb"),
    ("place", "--account-id", "VA00000001", "--dry-run"),
]


@pytest.mark.parametrize("argv", CLOCK_VERBS, ids=[" ".join(v[:2]) for v in CLOCK_VERBS])
def test_a_garbage_spx_now_is_one_line_for_every_verb(
    argv: tuple[str, ...], tmp_path: Path, invoke_cli: InvokeCli
) -> None:
    url = f"sqlite:///{tmp_path}/app.sqlite"
    AppDatabase(url).upgrade()
    env = _env({"SPX_APP_DB_URL": url, "SPX_CREDENTIALS_KEY": "GOOD"}, tmp_path)
    env["SPX_NOW"] = "garbage"
    done = invoke_cli(*_argv(argv, tmp_path), env=env, cwd=tmp_path)
    _assert_one_line(done, ("SPX_NOW='garbage' is not an ISO 8601 instant",))


def test_a_celery_executor_with_a_dead_broker_is_one_line(tmp_path: Path, invoke_cli: InvokeCli) -> None:
    dead = f"redis://:s3cret@127.0.0.1:{free_port()}/0"  # nothing listens there
    env = _env({"SPX_EXECUTOR": "celery", "SPX_CELERY_BROKER_URL": dead}, tmp_path)
    done = invoke_cli("demo", "--quiet", "--data-dir", str(tmp_path / "data"), env=env, cwd=tmp_path)
    _assert_one_line(done, ("SPX_CELERY_BROKER_URL='redis://:***@127.0.0.1:", "cannot be reached"))
    assert "s3cret" not in done.stderr + done.stdout
