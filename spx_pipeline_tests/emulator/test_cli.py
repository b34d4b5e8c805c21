"""``spx-pipeline tradier-emulator`` (spx_pipeline/cli/emulator.py): flags, banner, serving, errors."""

from __future__ import annotations

import io
import socket
import threading
from datetime import date
from types import SimpleNamespace

import pytest
import requests

from spx_pipeline.cli import CliError, main, parse_params
from spx_pipeline.cli.emulator import DEFAULT_PORT, build_config, run
from spx_pipeline.emulator import TradierEmulator


def parse(*argv: str) -> SimpleNamespace:
    return SimpleNamespace(**parse_params(["tradier-emulator", *argv])[1])


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
    assert config.rate_limits == {"standard": 120, "market_data": 120, "trading": 60}


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
    started = threading.Event()
    ready: list[TradierEmulator] = []
    args.stop_event = stop

    def on_start(emulator: TradierEmulator) -> None:
        ready.append(emulator)
        started.set()

    args.started = on_start  # type: ignore[attr-defined]
    out = io.StringIO()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run(args, out=out)))
    thread.start()
    try:
        # Generous deadlines: a loaded machine may take seconds to build the day's market.
        assert started.wait(60), "the server never said it started"
        emu = ready[0]
        text = out.getvalue()
        assert emu.base_url in text
        assert "demo-margin-token-0001" in text and "VA00000003" in text
        assert "... and 2 more synthetic accounts" in text
        response = requests.get(
            f"{emu.base_url}/markets/options/expirations",
            params={"symbol": "SPXW"},
            headers={"Authorization": "Bearer synthetic-token-1-000007", "Accept": "application/json"},
            timeout=60,
        )
        assert response.json()["expirations"]["date"][0] == "2026-11-24"
    finally:
        stop.set()
        thread.join(timeout=60)
    assert result == [0]
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/markets/clock", timeout=30)


def test_now_pins_the_server_clock_and_tick_lets_it_run():
    from spx_pipeline.cli.emulator import build_clock
    from spx_pipeline.clock import FixedClock, TickingClock

    pinned = build_clock(parse("--now", "2026-11-26T15:00:00-05:00"))
    assert isinstance(pinned, FixedClock) and pinned.now().isoformat() == "2026-11-26T20:00:00+00:00"
    assert isinstance(build_clock(parse("--now", "2026-11-26T15:00:00Z", "--tick")), TickingClock)
    assert build_clock(parse()) is None  # the config (or SPX_NOW) decides


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--now", "2026-11-26T15:00:00"], "--now='2026-11-26T15:00:00' has no UTC offset"),
        (["--now", "thanksgiving"], "--now='thanksgiving' is not an ISO 8601 instant"),
        (["--tick"], "--tick needs --now"),
    ],
)
def test_bad_now_flags_are_one_line_errors(argv, fragment, capsys):
    assert main(["tradier-emulator", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_a_server_process_started_with_now_serves_that_day():
    """A separate process gets its time from --now, never from the machine's clock."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spx_pipeline.cli",
            "tradier-emulator",
            "--port",
            "0",
            "--now",
            "2026-11-26T15:00:00-05:00",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base_url = first.split("listening on ", 1)[1].split()[0]
        assert "(trading day 2026-11-27)" in first
        headers = {"Authorization": "Bearer demo-margin-token-0001", "Accept": "application/json"}
        clock = requests.get(f"{base_url}/markets/clock", headers=headers, timeout=60).json()["clock"]
        assert (clock["date"], clock["state"]) == ("2026-11-26", "closed")
        listed = requests.get(
            f"{base_url}/markets/options/expirations",
            params={"symbol": "SPX", "includeAllRoots": "true"},
            headers=headers,
            timeout=60,
        ).json()["expirations"]["date"]
        assert listed[0] == "2026-11-27"
    finally:
        # A test run started in the background inherits SIGTERM ignored (and passes it on), so the
        # server may outlive terminate(): kill it rather than leak a listening process.
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
