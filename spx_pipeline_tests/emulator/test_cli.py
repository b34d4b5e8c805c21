"""``spx-pipeline tradier-emulator`` (spx_pipeline/cli/emulator.py): flags, banner, serving, errors."""

from __future__ import annotations

import io
import socket
import threading
from datetime import date

import pytest
import requests

from spx_pipeline.cli import CliError, build_parser, main
from spx_pipeline.cli.emulator import DEFAULT_PORT, build_config
from spx_pipeline.emulator import TradierEmulator


def parse(*argv: str):
    return build_parser().parse_args(["tradier-emulator", *argv])


def test_defaults():
    args = parse()
    assert args.port == DEFAULT_PORT
    config = build_config(args)
    assert [a.account_id for a in config.accounts] == ["VA00000001", "VA00000002", "VA00000003"]
    assert config.sandbox is True
    assert config.today is None


def test_flags_build_the_config():
    config = build_config(
        parse(
            "--today",
            "2026-12-01",
            "--spot",
            "5800",
            "--latency-ms",
            "25",
            "--accounts",
            "4",
            "--production-limits",
        )
    )
    assert config.today == date(2026, 12, 1)
    assert config.spot == 5800.0
    assert config.faults.latency_ms == 25.0
    assert len(config.accounts) == 7
    assert config.rate_limits == {"standard": 120, "market": 120, "trading": 60}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--today", "12/01/2026"], "--today"),
        (["--accounts", "-1"], "--accounts"),
        (["--port", "70000"], "--port"),
        (["--spot", "-5"], "spot"),
    ],
)
def test_bad_flags_are_operator_errors(argv, fragment):
    with pytest.raises(CliError, match=fragment):
        build_config(parse(*argv))


def test_non_loopback_host_exits_2(capsys):
    assert main(["tradier-emulator", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_busy_port_is_an_operator_error(capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["tradier-emulator", "--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_serves_until_stopped_and_prints_a_usable_banner():
    args = parse("--port", "0", "--accounts", "7", "--today", "2026-11-24")
    stop = threading.Event()
    ready: list[TradierEmulator] = []
    args.stop_event = stop
    args.started = ready.append
    out = io.StringIO()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(args.func(args, out=out)))
    thread.start()
    try:
        for _ in range(100):
            if ready:
                break
            threading.Event().wait(0.05)
        emu = ready[0]
        text = out.getvalue()
        assert emu.base_url in text
        assert "demo-margin-token-0001" in text and "VA00000003" in text
        assert "... and 2 more synthetic accounts" in text
        response = requests.get(
            f"{emu.base_url}/markets/options/expirations",
            params={"symbol": "SPXW"},
            headers={"Authorization": "Bearer synthetic-token-1-000007", "Accept": "application/json"},
            timeout=5,
        )
        assert response.json()["expirations"]["date"][0] == "2026-11-24"
    finally:
        stop.set()
        thread.join(timeout=5)
    assert result == [0]
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/markets/clock", timeout=2)
