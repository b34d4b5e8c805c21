"""``spx-pipeline keygen`` / ``credentials``: token on stdin only, redacted output, fail closed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from spx_pipeline.cli import main
from spx_pipeline.storage.app.credentials import CredentialStore, load_cipher
from spx_pipeline.storage.app.database import AppDatabase

PLANTED = "PLANTED-cli-tok-94b1d07e6a"


class Cli:
    """Runs the CLI in-process, feeding stdin and collecting every byte it prints."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch
        self.transcript = ""

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--db-url", self.url])
        out, err = self.capsys.readouterr()
        self.transcript += out + err
        return code, out, err


@pytest.fixture
def cli(app_db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(app_db_url, capsys, monkeypatch)


def test_keygen_prints_a_usable_key_and_how_to_export_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    load_cipher(key)  # a valid Fernet key
    assert "export SPX_CREDENTIALS_KEY" in err


def test_full_lifecycle_never_prints_the_token(cli: Cli, credentials_key: str, app_db_url: str) -> None:
    code, out, err = cli("credentials", "add", "--account-id", "VA1", "--label", "main", stdin=PLANTED + "\n")
    assert code == 0, err
    assert "added VA1 (sandbox, active, fingerprint" in out
    assert "applied migrations" in err  # migrated, not skipped
    code, out, _ = cli("credentials", "list")
    assert code == 0
    header, row = out.strip().splitlines()
    expected = ["account", "label", "environment", "active", "fingerprint", "created", "updated"]
    assert header.split() == expected
    assert row.split()[:4] == ["VA1", "main", "sandbox", "yes"]
    assert cli("credentials", "rotate", "VA1", stdin=PLANTED + "-v2\r\n")[0] == 0
    assert cli("credentials", "deactivate", "VA1")[1].strip() == "deactivated VA1"
    assert cli("credentials", "deactivate", "VA1")[1].strip() == "VA1 was already inactive"
    assert cli("credentials", "activate", "VA1")[1].strip() == "activated VA1"
    assert cli("credentials", "verify")[0] == 0

    db = AppDatabase(app_db_url)
    try:
        [cred] = CredentialStore(db, key=credentials_key).active_credentials()
        assert cred.token.reveal() == PLANTED + "-v2"  # exactly one trailing newline stripped
        with db.engine.connect() as conn:
            stored = repr(conn.execute(sa.text("SELECT * FROM broker_credentials")).fetchall())
    finally:
        db.dispose()
    assert PLANTED not in stored
    assert PLANTED not in cli.transcript


def test_token_is_never_accepted_on_the_command_line(cli: Cli, credentials_key: str) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("credentials", "add", "--account-id", "VA1", "--token", PLANTED)
    assert exc.value.code == 2


def test_empty_stdin_is_refused(cli: Cli, credentials_key: str) -> None:
    code, _, err = cli("credentials", "add", "--account-id", "VA1", stdin="\n")
    assert code == 2
    assert "token on standard input is empty" in err
    assert "no credentials stored" in cli("credentials", "list")[1]


def test_missing_key_fails_closed_but_list_and_deactivate_still_work(
    cli: Cli, credentials_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("credentials", "add", "--account-id", "VA1", stdin=PLANTED)[0] == 0
    monkeypatch.delenv("SPX_CREDENTIALS_KEY")
    code, _, err = cli("credentials", "add", "--account-id", "VA2", stdin="another")
    assert code == 2
    assert "SPX_CREDENTIALS_KEY is not set" in err and "keygen" in err
    assert cli("credentials", "verify")[0] == 2
    assert cli("credentials", "list")[0] == 0
    assert cli("credentials", "deactivate", "VA1")[0] == 0


def test_wrong_key_is_reported_without_echoing_key_or_token(
    cli: Cli, credentials_key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("credentials", "add", "--account-id", "VA1", stdin=PLANTED)[0] == 0
    assert main(["keygen"]) == 0
    other = capsys.readouterr().out.strip()
    monkeypatch.setenv("SPX_CREDENTIALS_KEY", other)
    for argv in (("credentials", "verify"), ("credentials", "activate", "VA1")):
        if argv[1] == "activate":
            cli("credentials", "deactivate", "VA1")
        code, _, err = cli(*argv)
        assert code == 2
        assert "does not match the stored tokens" in err
    assert other not in cli.transcript and credentials_key not in cli.transcript
    assert PLANTED not in cli.transcript


def test_operator_errors_exit_2_with_clear_text(cli: Cli, credentials_key: str) -> None:
    assert cli("credentials", "add", "--account-id", "VA1", stdin="t")[0] == 0
    code, _, err = cli("credentials", "add", "--account-id", "VA1", stdin="t")
    assert code == 2 and "'VA1' already has a credential" in err
    code, _, err = cli("credentials", "rotate", "NOPE", stdin="t")
    assert code == 2 and "no credential is stored for account 'NOPE'" in err


def test_planted_token_absent_from_sqlite_file_after_cli_add(
    sqlite_app_db_url: str,
    credentials_key: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = Cli(sqlite_app_db_url, capsys, monkeypatch)
    assert cli("credentials", "add", "--account-id", "VA1", stdin=PLANTED)[0] == 0
    path = Path(sa.engine.make_url(sqlite_app_db_url).database or "")
    assert PLANTED.encode() not in path.read_bytes()
    assert b"VA1" in path.read_bytes()


def test_list_is_read_only_and_never_creates_or_migrates_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_app_db_url: str
) -> None:
    """`credentials list` and `setups list` only read: a mistyped path is one line, no new file."""
    missing = tmp_path / "new.sqlite"
    for verb in (["credentials", "list"], ["setups", "list"]):
        assert main([*verb, "--db-url", f"sqlite:///{missing}"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "does not exist" in err[0] and str(missing) in err[0], err
        assert not missing.exists()
    # A database behind the code's migrations is not migrated by a listing either.
    behind = tmp_path / "behind.sqlite"
    with sa.create_engine(f"sqlite:///{behind}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    assert main(["credentials", "list", "--db-url", f"sqlite:///{behind}"]) == 2
    assert "db upgrade" in capsys.readouterr().err
    with sa.create_engine(f"sqlite:///{behind}").connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["unrelated"]
    # An up-to-date database lists as before.
    AppDatabase(sqlite_app_db_url).upgrade()
    assert main(["credentials", "list", "--db-url", sqlite_app_db_url]) == 0
    assert "no credentials stored" in capsys.readouterr().out
