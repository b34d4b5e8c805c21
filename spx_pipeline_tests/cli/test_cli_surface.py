"""The CLI's public surface: every verb and flag of the earlier argparse CLI still parses, with its
defaults; every group has help; examples survive in help; a mistyped flag gets the verb's usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from spx_pipeline.cli import cli, main, parse_params

# Every verb and flag operators' scripts may use (the argparse CLI's, one for one), with the
# parameters each must give. A flag's alias is listed separately.
SURFACE: list[tuple[list[str], dict[str, object]]] = [
    (["keygen"], {}),
    (["db", "upgrade", "--db-url", "sqlite:///a.sqlite"], {"db_url": "sqlite:///a.sqlite"}),
    (["db", "upgrade", "--url", "sqlite:///a.sqlite"], {"db_url": "sqlite:///a.sqlite"}),
    (["db", "status", "--db-url=sqlite:///b.sqlite"], {"db_url": "sqlite:///b.sqlite"}),
    (["db", "status", "--url", "u"], {"db_url": "u"}),
    (["db", "warehouse-init", "--path", "w.duckdb"], {"path": "w.duckdb"}),
    (["db", "query", "recommendations_of_the_day"], {"name": "recommendations_of_the_day", "path": None}),
    (["db", "query", "buying_power_history", "--path", "w.duckdb"], {"path": "w.duckdb", "fmt": "table"}),
    (["db", "query", "latest_snapshot_per_account", "--format", "json"], {"fmt": "json"}),
    (
        ["credentials", "add", "--account-id", "VA1", "--label", "L", "--environment", "live", "--url", "u"],
        {"account_id": "VA1", "label": "L", "environment": "live", "db_url": "u"},
    ),
    (
        ["credentials", "add", "--account-id", "VA1"],
        {"environment": "sandbox", "label": None, "db_url": None},
    ),
    (["credentials", "list", "--db-url", "u"], {"db_url": "u"}),
    (["credentials", "rotate", "VA1", "--db-url", "u"], {"account_id": "VA1", "db_url": "u"}),
    (["credentials", "deactivate", "VA1"], {"account_id": "VA1"}),
    (["credentials", "activate", "--url", "u", "VA1"], {"account_id": "VA1", "db_url": "u"}),
    (["credentials", "verify", "--db-url", "u"], {"db_url": "u"}),
    (
        [
            *("setups", "add", "--direction", "bearish", "--id", "s1", "--label", "L", "--symbol", "SPXW"),
            *("--target-delta", "0.3", "--stop-premium", "2.5", "--t1-gain-pct", "0.6", "--t1-fraction"),
            *("0.25", "--runner-stop-limit-offset", "0.1", "--priority", "3", "--db-url", "u"),
        ],
        {
            "direction": "bearish",
            "setup_id": "s1",
            "label": "L",
            "symbol": "SPXW",
            "target_delta": 0.3,
            "stop_premium": "2.5",
            "t1_gain_pct": "0.6",
            "t1_fraction": "0.25",
            "runner_stop_limit_offset": "0.1",
            "priority": 3,
            "db_url": "u",
        },
    ),
    (
        ["setups", "add", "--direction", "bullish"],
        {"symbol": "SPX", "target_delta": 0.40, "t1_gain_pct": "0.5", "t1_fraction": "0.5", "priority": 0},
    ),
    (["setups", "list", "--status", "triggered", "--url", "u"], {"status": "triggered", "db_url": "u"}),
    (["setups", "deactivate", "s1"], {"setup_id": "s1"}),
    (["setups", "activate", "s1", "--db-url", "u"], {"setup_id": "s1"}),
    (
        [
            *("tradier-emulator", "--port", "0", "--host", "127.0.0.2", "--now", "2026-11-26T15:00:00Z"),
            *("--tick", "--today", "2026-11-27", "--spot", "5800", "--latency-ms", "5", "--accounts", "2"),
            *("--production-limits", "--no-rate-limits"),
        ],
        {
            "port": 0,
            "host": "127.0.0.2",
            "now": "2026-11-26T15:00:00Z",
            "tick": True,
            "today": "2026-11-27",
            "spot": 5800.0,
            "latency_ms": 5.0,
            "accounts": 2,
            "production_limits": True,
            "no_rate_limits": True,
        },
    ),
    (["tradier-emulator"], {"port": 8787, "host": "127.0.0.1", "tick": False, "spot": 6000.0, "accounts": 0}),
    (
        ["demo", "--data-dir", "d", "--no-preview", "--quiet", "--now", "2026-11-26T15:00:00Z"],
        {"data_dir": Path("d"), "no_preview": True, "quiet": True, "now": "2026-11-26T15:00:00Z"},
    ),
    (["demo"], {"data_dir": Path("data"), "no_preview": False, "quiet": False, "now": None}),
    (
        [
            *("dev", "--data-dir", "d", "--no-emulator", "--emulator-port", "9001", "--port", "3001"),
            *("--now", "2026-11-26T15:00:00Z"),
        ],
        {"data_dir": Path("d"), "no_emulator": True, "emulator_port": 9001, "port": 3001},
    ),
    (["dev"], {"data_dir": Path("data"), "no_emulator": False, "emulator_port": 8787, "port": 3000}),
    (["symbols", "convert", "--to", "osi", "SPXW251219C06000000"], {"style": "osi"}),
    # The trade lifecycle's verbs (issue: a trade outlives the run), spelled as operators' scripts use them.
    (
        ["limits", "set", "--account-id", "VA1", "--max-daily-risk", "3000", "--max-trade-risk", "900"],
        {"account_id": "VA1", "max_daily_risk": "3000", "max_trade_risk": "900", "db_url": None},
    ),
    (["limits", "set", "--account-id", "VA1", "--max-daily-risk", "3000"], {"max_trade_risk": None}),
    (["limits", "list", "--format", "json"], {"fmt": "json"}),
    (
        ["place", "--account-id", "VA1", "--dry-run", "--format", "json"],
        {"account_id": "VA1", "dry_run": True, "confirm": None, "fmt": "json", "max_orders": 10},
    ),
    (["place", "--account-id", "VA1", "--confirm", "PLACE 2"], {"confirm": "PLACE 2", "fmt": "table"}),
    (
        ["trades", "list", "--account-id", "VA1", "--session", "2026-11-24", "--format", "json"],
        {"account_id": "VA1", "session_text": "2026-11-24", "fmt": "json"},
    ),
    (["trades", "list"], {"account_id": None, "session_text": None, "fmt": "table"}),
    (
        [
            *("positions", "acknowledge", "--account-id", "VA1"),
            *("--symbol", "SPXW261218P05800000", "--quantity", "1"),
        ],
        {"account_id": "VA1", "symbol": "SPXW261218P05800000", "quantity": 1, "note": ""},
    ),
    (["positions", "list", "--format", "csv"], {"fmt": "csv"}),
    (["symbols", "convert", "--to", "massive"], {"style": "massive", "values": ()}),
    (["report"], {"path": None, "output": None}),
    (["report", "--path", "w.duckdb", "--output", "r.html"], {"path": "w.duckdb", "output": Path("r.html")}),
    (["celery-worker"], {"name": None, "concurrency": 1, "loglevel": "INFO"}),
    (
        ["celery-worker", "--name", "w1", "--concurrency", "2", "--loglevel", "WARNING"],
        {"name": "w1", "concurrency": 2, "loglevel": "WARNING"},
    ),
]


@pytest.mark.parametrize(("argv", "expected"), SURFACE, ids=[" ".join(a[:3]) for a, _ in SURFACE])
def test_every_public_verb_and_flag_parses(argv: list[str], expected: dict[str, object]) -> None:
    _, params = parse_params(argv)
    assert {k: params[k] for k in expected} == expected


def _groups(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _groups(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _groups(cli), ids=lambda p: " ".join(p) or "spx-pipeline")
def test_every_group_and_command_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    usage, _, rest = out.partition("\n\n")
    assert usage.startswith(f"Usage: spx-pipeline {' '.join(path)}".rstrip())
    assert rest.strip().splitlines()[0].strip()  # a description, not just the options


def test_symbols_convert_help_shows_a_usable_padded_osi_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["symbols", "convert", "--help"]) == 0
    example = "'SPXW  251219C06000000'"  # two spaces: the root padded to 6 characters
    assert example in capsys.readouterr().out
    assert main(["symbols", "convert", "--to", "tradier", example.strip("'")]) == 0
    assert capsys.readouterr().out == "SPXW251219C06000000\n"


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["credentials", "add", "--acount-id", "VA1"], "Usage: spx-pipeline credentials add [OPTIONS]"),
        (["db", "query", "--fromat", "csv"], "Usage: spx-pipeline db query [OPTIONS] NAME"),
        (["setups", "list", "--stauts", "active"], "Usage: spx-pipeline setups list [OPTIONS]"),
    ],
)
def test_a_mistyped_flag_gets_the_verbs_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and "No such option" in err and "Traceback" not in err


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spx_pipeline.cli",
            "symbols",
            "convert",
            "--to",
            "massive",
            "SPX251219C06000000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "O:SPX251219C06000000\n")
