"""Broken settings and hostile input: one line naming the setting and value, exit 2, data intact.

Each case runs the CLI in-process the way an operator would and checks three things: the exit
code, that stderr is exactly one ``spx-pipeline: error:`` line naming what is wrong (no
traceback), and that nothing that was there before changed.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.app.credentials import CredentialStore, generate_key
from spx_pipeline.storage.app.database import AppDatabase


def one_line_error(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("spx-pipeline: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = ""
) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.fixture
def stored(sqlite_app_db: AppDatabase, credentials_key: str) -> CredentialStore:
    store = CredentialStore(sqlite_app_db, key=credentials_key)
    store.add("VA1", "first-token-0001")
    return store


def db_url(store: CredentialStore) -> str:
    return store._db.engine.url.render_as_string(hide_password=False)


def test_a_valid_but_wrong_key_is_refused_at_add_and_rotate(
    stored: CredentialStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, right = db_url(stored), stored._key
    monkeypatch.setenv("SPX_CREDENTIALS_KEY", generate_key())  # a real key, not the one in use
    code, err = run(
        capsys, monkeypatch, "credentials", "add", "--account-id", "VA2", "--db-url", url, stdin="t-2\n"
    )
    assert code == 2
    one_line_error(
        err,
        "SPX_CREDENTIALS_KEY does not decrypt 1 of 1 active stored token(s)",
        "'VA1'",
        "nothing was stored",
    )
    assert [c.account_id for c in stored.list()] == ["VA1"]
    [kept] = stored.active_credentials()  # still decrypts with the right key
    assert kept.token.reveal() == "first-token-0001"

    stored.add("VA2", "second-token-0002")
    code, err = run(capsys, monkeypatch, "credentials", "rotate", "VA1", "--db-url", url, stdin="new-0001\n")
    assert code == 2
    one_line_error(err, "SPX_CREDENTIALS_KEY does not decrypt 1 of 1 active stored token(s)", "'VA2'")
    assert [c.token.reveal() for c in stored.active_credentials()] == [
        "first-token-0001",
        "second-token-0002",
    ]
    # A lost key: deactivate every account (needs no key), rotate each under the new key, activate.
    new_key = generate_key()
    for account in ("VA1", "VA2"):
        stored.deactivate(account)
    recovering = CredentialStore(stored._db, key=new_key)
    for account in ("VA1", "VA2"):
        recovering.rotate(account, f"re-entered-{account}")
        recovering.activate(account)
    assert [c.token.reveal() for c in recovering.active_credentials()] == ["re-entered-VA1", "re-entered-VA2"]
    assert right is not None


def test_a_token_over_the_size_limit_is_refused_at_entry(
    stored: CredentialStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(
        capsys,
        monkeypatch,
        "credentials",
        "add",
        "--account-id",
        "VA9",
        "--db-url",
        db_url(stored),
        stdin="A" * 1_000_000,
    )
    assert code == 2
    one_line_error(err, "token is not usable: access token is 1000000 characters long, over the 1024")
    assert "AAAAAAAA" not in err
    assert [c.account_id for c in stored.list()] == ["VA1"]


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_key_file_that_is_missing_or_a_directory_is_one_line(
    stored: CredentialStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    target = tmp_path / ("absent.key" if kind == "missing" else "keys")
    if kind == "directory":
        target.mkdir()
    monkeypatch.delenv("SPX_CREDENTIALS_KEY")
    monkeypatch.setenv("SPX_CREDENTIALS_KEY_FILE", str(target))
    before = digest(Path(stored._db.engine.url.database or ""))
    for argv in (("credentials", "verify"), ("credentials", "add", "--account-id", "VA2")):
        code, err = run(capsys, monkeypatch, *argv, "--db-url", db_url(stored), stdin="t-2\n")
        assert code == 2
        one_line_error(
            err,
            f"SPX_CREDENTIALS_KEY_FILE={str(target)!r}",
            "does not exist" if kind == "missing" else "is a directory",
        )
    assert digest(Path(stored._db.engine.url.database or "")) == before


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url at all", "is not a database URL"),
        ("postgresql://spx:s3cret@127.0.0.1/spx", "the driver 'postgresql' is not installed"),
        ("mysql://spx@127.0.0.1/spx", "mysql is not supported"),
        ("NOT-SQLITE", "is not a SQLite database"),
    ],
    ids=["not-a-url", "postgresql-without-driver", "mysql", "not-sqlite-file"],
)
def test_a_bad_app_db_url_is_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, needle: str
) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_text("an operator's file, not a database\n" * 20)
    before = digest(victim)
    monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{victim}" if url == "NOT-SQLITE" else url)
    for argv in (("db", "status"), ("db", "upgrade"), ("credentials", "list")):
        code, err = run(capsys, monkeypatch, *argv)
        assert code == 2, argv
        one_line_error(err, "SPX_APP_DB_URL=", needle)
        assert "s3cret" not in err
    assert digest(victim) == before


def test_a_mistyped_sqlite_path_outside_data_creates_nothing_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{missing / 'app.sqlite'}")
    code, err = run(capsys, monkeypatch, "db", "upgrade")
    assert code == 2
    one_line_error(err, "SPX_APP_DB_URL=", f"directory {missing} does not exist", "SPX_CREATE_DIRS=true")
    assert not (tmp_path / "nonexistent").exists()
    monkeypatch.setenv("SPX_CREATE_DIRS", "true")
    assert run(capsys, monkeypatch, "db", "upgrade")[0] == 0
    assert (missing / "app.sqlite").is_file()


def test_the_default_data_dir_is_still_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPX_APP_DB_URL", raising=False)
    monkeypatch.delenv("SPX_CREATE_DIRS", raising=False)
    assert run(capsys, monkeypatch, "db", "upgrade")[0] == 0
    assert (tmp_path / "data" / "app.sqlite").is_file()


def test_a_warehouse_path_under_a_file_is_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    code, err = run(capsys, monkeypatch, "db", "warehouse-init", "--path", str(blocker / "w.duckdb"))
    assert code == 2
    one_line_error(err, f"--path={str(blocker / 'w.duckdb')!r}", f"{blocker} is a file, not a directory")
    monkeypatch.setenv("SPX_WAREHOUSE_PATH", str(blocker / "sub" / "w.duckdb"))
    code, err = run(capsys, monkeypatch, "db", "warehouse-init")
    assert code == 2
    one_line_error(err, "SPX_WAREHOUSE_PATH=", f"{blocker} is a file, not a directory")
    assert blocker.read_text() == "keep me"
