"""``spx-pipeline db``: upgrade / status on both engines, warehouse init and analyst queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.app.migrations import load_migrations


def test_upgrade_then_up_to_date_then_status(app_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    names = [m.name for m in load_migrations()]
    assert main(["db", "status", "--url", app_db_url]) == 0
    assert capsys.readouterr().out.count("pending") == len(names) + 1  # one per row + summary
    assert main(["db", "upgrade", "--url", app_db_url]) == 0
    assert capsys.readouterr().out.split() == [word for name in names for word in ("applied", name)]
    assert main(["db", "upgrade", "--url", app_db_url]) == 0
    assert f"is up to date (version {names[-1][:4]})" in capsys.readouterr().out
    assert main(["db", "status", "--url", app_db_url]) == 0
    out = capsys.readouterr().out
    assert out.count(" applied ") == len(names) and out.rstrip().endswith("up to date")


def test_env_url_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.sqlite").is_file()
    assert "applied 0001_broker_credentials.sql" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "env.sqlite is up to date" in capsys.readouterr().out


def test_unreachable_database_is_an_operator_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg2://nobody:secretpw@127.0.0.1:1/none?connect_timeout=2"
    assert main(["db", "upgrade", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "cannot use the app database" in err
    assert "secretpw" not in err


def test_warehouse_init_and_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.duckdb"
    assert main(["db", "warehouse-init", "--path", str(path)]) == 0
    assert "created" in capsys.readouterr().out and path.is_file()
    assert main(["db", "warehouse-init", "--path", str(path)]) == 0
    assert "all tables present" in capsys.readouterr().out
    assert main(["db", "query", "latest_snapshot_per_account", "--path", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "(no rows)"
