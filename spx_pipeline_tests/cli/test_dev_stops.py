"""``spx-pipeline dev`` stops cleanly: SIGTERM to the wrapper stops every process it started and
frees the UI's port (real processes; free loopback ports)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from spx_pipeline.cli.dev import live_group_members
from spx_pipeline_tests.fixtures.processes import clean_cli_env, free_port, port_is_free

# A stand-in dev server: listens on a port, has a child in its group and one that left the group
# (a new session), and optionally ignores SIGTERM like a server stuck shutting down.
FAKE_SERVER = textwrap.dedent(
    """
    import signal, socket, subprocess, sys, time
    if sys.argv[2] == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    server = socket.socket()
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    time.sleep(300)
    """
)
# "ignoring-parent": the wrapper inherited SIGTERM as ignored (as from a parent that ignores it);
# the server it starts must still stop on SIGTERM.
WRAPPER = (
    "import signal, sys; from spx_pipeline.cli.dev import live_group_members, supervise; "
    "sys.argv[3] == 'ignoring-parent' and signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "sys.exit(supervise([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]], grace=3))"
)


def _wait_for_listener(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    for _ in range(int(seconds * 4)):
        if not port_is_free(port):
            return
        assert proc.poll() is None, "the wrapper exited before the server listened"
        time.sleep(0.25)
    raise AssertionError(f"nothing listened on {port} within {seconds} s")


def _tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _group_members(pgid: int) -> list[int]:
    """Running members of the group (a zombie has exited; only its parent's reaping is pending)."""
    return [p.pid for p in live_group_members(pgid)]


def _stop_and_check(wrapper: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    tree = _tree(wrapper.pid)
    child = next(p for p in tree if p.ppid() == wrapper.pid)
    pgid = os.getpgid(child.pid)
    assert pgid != os.getpgid(wrapper.pid)  # the server runs in a group of its own
    assert len(tree) >= 3
    wrapper.send_signal(signal.SIGTERM)
    wrapper.wait(timeout=timeout)
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert alive == [], [p.pid for p in alive]
    assert _group_members(pgid) == []
    assert port_is_free(port)


@pytest.mark.parametrize("mode", ["polite", "ignoring-parent", "stubborn"])
def test_sigterm_to_the_wrapper_stops_the_whole_tree(mode: str) -> None:
    port = free_port()
    wrapper = subprocess.Popen([sys.executable, "-c", WRAPPER, FAKE_SERVER, str(port), mode])
    try:
        _wait_for_listener(port, wrapper, 30)
        _stop_and_check(wrapper, port, timeout=30)
        assert wrapper.returncode == 128 + (signal.SIGKILL if mode == "stubborn" else signal.SIGTERM)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()


@pytest.mark.slow
def test_spx_pipeline_dev_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The real thing: `spx-pipeline dev` (dagster dev, webserver, daemon, code server)."""
    port, emulator_port = free_port(), free_port()
    wrapper = subprocess.Popen(
        [
            *(sys.executable, "-m", "spx_pipeline.cli", "dev", "--port", str(port)),
            *("--emulator-port", str(emulator_port), "--data-dir", str(tmp_path / "data")),
        ],
        env=clean_cli_env(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_listener(port, wrapper, 180)
        _stop_and_check(wrapper, port, timeout=90)
        assert port_is_free(emulator_port)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
