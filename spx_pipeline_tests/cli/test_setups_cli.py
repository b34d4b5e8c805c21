"""``spx-pipeline setups``: add, list, deactivate, with operator errors as exit 2."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spx_pipeline.cli import main
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.setups import SetupStore


def test_add_list_deactivate(app_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["setups", "add", "--direction", "bearish", "--id", "fade", "--label", "Fade",
            "--stop-premium", "1.25", "--t1-gain-pct", "0.6", "--runner-stop-limit-offset", "0.05",
            "--db-url", app_db_url]  # fmt: skip
    assert main(argv) == 0
    assert "added setup fade (bearish SPX, delta 0.4, priority 0)" in capsys.readouterr().out
    assert main(["setups", "add", "--direction", "bullish", "--id", "pop", "--db-url", app_db_url]) == 0
    capsys.readouterr()
    assert main(["setups", "list", "--db-url", app_db_url]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["id", "label", "symbol", "direction"]
    assert [line.split()[0] for line in lines[1:]] == ["fade", "pop"]
    # T1 gain and share are fractions stored exactly, listed as percentages (not 0.6000 / 0.5000).
    assert lines[1].split()[6:8] == ["60%", "50%"], lines[1]
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
    assert "target_delta must be in (0, 1), got 2.0" in capsys.readouterr().err
    assert main(["setups", "deactivate", "ghost", "--db-url", sqlite_app_db_url]) == 2
    assert "no setup with id 'ghost'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["setups", "add", "--direction", "sideways", "--db-url", sqlite_app_db_url])
    assert "'--direction': 'sideways' is not one of" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--stop-premium", "1e30", "stop_premium '1e30' must be below 100000"),
        ("--stop-premium", "1.23456", "stop_premium '1.23456' has more than 4 decimal places"),
        ("--runner-stop-limit-offset", "1E+40", "runner_stop_limit_offset '1E+40' must be below 100000"),
        ("--t1-gain-pct", "1e30", "t1_gain_pct '1e30' must be below 100000"),
        ("--t1-gain-pct", "50", "t1_gain_pct must be in (0, 10], got Decimal('50')"),
        ("--t1-fraction", "1.5", "t1_fraction must be in (0, 1], got Decimal('1.5')"),
        ("--target-delta", "1", "target_delta must be in (0, 1), got 1.0"),
        ("--priority", "99999999", "priority must be between"),
    ],
)
def test_out_of_range_values_exit_2_with_one_line_naming_the_field(
    sqlite_app_db_url: str, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    """Validated at entry with the domain's own ranges: a stored setup can always be sized."""
    base = ["setups", "add", "--direction", "bullish", "--id", "x", "--db-url", sqlite_app_db_url]
    assert main([*base, flag, value]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("spx-pipeline: error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in err
    db = AppDatabase(sqlite_app_db_url)
    try:
        assert SetupStore(db).list() == []
    finally:
        db.dispose()


def test_priority_is_stored_listed_and_reaches_the_domain(
    sqlite_app_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["setups", "add", "--direction", "bullish", "--db-url", sqlite_app_db_url]
    assert main([*base, "--id", "late", "--priority", "5"]) == 0
    assert main([*base, "--id", "first", "--priority", "-1"]) == 0
    capsys.readouterr()
    assert main(["setups", "list", "--db-url", sqlite_app_db_url]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    at = lines[0].index("priority")  # columns are padded to a common width; empty cells are blank
    assert {line.split()[0]: line[at:].split()[0] for line in lines[1:]} == {"late": "5", "first": "-1"}
    db = AppDatabase(sqlite_app_db_url)
    try:
        assert {r.id: r.to_domain().priority for r in SetupStore(db).active()} == {"late": 5, "first": -1}
    finally:
        db.dispose()


@pytest.mark.parametrize(("stop", "offset"), [("0.05", "0.10"), ("0.05", "0.05"), ("0.30", "0.30")])
def test_a_runner_offset_at_or_above_the_stop_is_refused_naming_both_values(
    sqlite_app_db_url: str, capsys: pytest.CaptureFixture[str], stop: str, offset: str
) -> None:
    """Its rows would spend budget, then fail at ticketing (runner_stop_limit_price <= 0)."""
    base = ["setups", "add", "--direction", "bullish", "--id", "x", "--db-url", sqlite_app_db_url]
    assert main([*base, "--stop-premium", stop, "--runner-stop-limit-offset", offset]) == 2
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("spx-pipeline: error:")]
    assert f"runner_stop_limit_offset {offset}" in error and f"stop_premium {stop}" in error
    assert "Traceback" not in err
    db = AppDatabase(sqlite_app_db_url)
    try:
        assert SetupStore(db).list() == []
    finally:
        db.dispose()
