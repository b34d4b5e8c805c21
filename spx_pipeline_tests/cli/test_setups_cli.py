"""``spx-pipeline setups``: add, list, deactivate, with operator errors as exit 2."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.appdb import AppDatabase
from spx_pipeline.storage.setups import SetupStore


def test_add_list_deactivate(app_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["setups", "add", "--direction", "bearish", "--id", "fade", "--label", "Fade",
            "--stop-premium", "1.25", "--t1-gain-pct", "0.6", "--runner-stop-limit-offset", "0.05",
            "--db-url", app_db_url]  # fmt: skip
    assert main(argv) == 0
    assert "added setup fade (bearish SPX, delta 0.4)" in capsys.readouterr().out
    assert main(["setups", "add", "--direction", "bullish", "--id", "pop", "--db-url", app_db_url]) == 0
    capsys.readouterr()
    assert main(["setups", "list", "--db-url", app_db_url]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["id", "label", "symbol", "direction"]
    assert [line.split()[0] for line in lines[1:]] == ["fade", "pop"]
    assert main(["setups", "deactivate", "fade", "--db-url", app_db_url]) == 0
    assert capsys.readouterr().out.strip() == "setup fade is now inactive"
    db = AppDatabase(app_db_url)
    try:
        [active] = SetupStore(db).active()
        stored = SetupStore(db).get("fade")
    finally:
        db.dispose()
    assert active.id == "pop"
    assert (stored.stop_premium, stored.t1_gain_pct, stored.runner_stop_limit_offset) == (
        Decimal("1.25"),
        Decimal("0.6"),
        Decimal("0.05"),
    )
    assert main(["setups", "list", "--status", "inactive", "--db-url", app_db_url]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.strip().splitlines()[1:]] == ["fade"]


def test_bad_values_exit_2_naming_the_field(sqlite_app_db_url: str, capsys: pytest.CaptureFixture) -> None:
    base = ["setups", "add", "--direction", "bullish", "--db-url", sqlite_app_db_url]
    assert main([*base, "--stop-premium", "abc"]) == 2
    assert "stop_premium 'abc' is not a number" in capsys.readouterr().err
    assert main([*base, "--target-delta", "2"]) == 2
    assert "target_delta 2.0 must be in (0, 1]" in capsys.readouterr().err
    assert main(["setups", "deactivate", "ghost", "--db-url", sqlite_app_db_url]) == 2
    assert "no setup with id 'ghost'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["setups", "add", "--direction", "sideways", "--db-url", sqlite_app_db_url])
    assert "invalid choice: 'sideways'" in capsys.readouterr().err
