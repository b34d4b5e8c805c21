"""``spx-pipeline dev``'s supervisor stops cleanly: SIGTERM to the wrapper stops every process it
started and frees the server's port (real processes; free loopback ports).

A stand-in server plays dagster dev here. The real ``spx-pipeline dev`` (webserver, daemon, code
server, local Tradier server) is started once, by the UI session (``make ui-test``, run by CI),
which ends by stopping it through this same check: starting the whole stack a second time only to
stop it costs the suite tens of seconds of CPU.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from spx_pipeline_tests.fixtures.processes import free_port, port_is_free, stop_and_check_tree

# Process trees of `spx-pipeline dev` started and stopped: end to end (make test-e2e, run by CI).
pytestmark = pytest.mark.e2e

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
    "sys.exit(supervise([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]], grace=1))"
)


def _wait_for_listener(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    for _ in range(int(seconds * 4)):
        if not port_is_free(port):
            return
        assert proc.poll() is None, "the wrapper exited before the server listened"
        time.sleep(0.25)
    raise AssertionError(f"nothing listened on {port} within {seconds} s")


@pytest.mark.parametrize("mode", ["polite", "ignoring-parent", "stubborn"])
def test_sigterm_to_the_wrapper_stops_the_whole_tree(mode: str) -> None:
    port = free_port()
    wrapper = subprocess.Popen([sys.executable, "-c", WRAPPER, FAKE_SERVER, str(port), mode])
    try:
        _wait_for_listener(port, wrapper, 30)
        stop_and_check_tree(wrapper, (port,), timeout=30)
        assert wrapper.returncode == 128 + (signal.SIGKILL if mode == "stubborn" else signal.SIGTERM)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()


# A dev server that stops its own child in order, as `dagster dev` stops its code server: on
# SIGTERM it tells the child to finish (SIGUSR1) and waits for it. The child writes down every
# signal that reaches it and exits on the orderly one.
ORDERLY_SERVER = textwrap.dedent(
    """
    import signal, socket, subprocess, sys, time
    child_code = (
        "import signal, sys, time\\n"
        "def note(signum, frame):\\n"
        "    open(sys.argv[1], 'a').write(signal.Signals(signum).name + chr(10))\\n"
        "    if signum == signal.SIGUSR1:\\n"
        "        sys.exit(0)\\n"
        "signal.signal(signal.SIGTERM, note)\\n"
        "signal.signal(signal.SIGUSR1, note)\\n"
        "open(sys.argv[1] + '.ready', 'w').close()\\n"
        "for _ in range(300):\\n"
        "    time.sleep(1)\\n"
    )
    child = subprocess.Popen([sys.executable, "-c", child_code, sys.argv[2]])
    def stop(signum, frame):
        child.send_signal(signal.SIGUSR1)
        child.wait()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    server = socket.socket()
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    time.sleep(300)
    """
)
ORDERLY_WRAPPER = (
    "import sys; from spx_pipeline.cli.dev import supervise; "
    "sys.exit(supervise([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]], grace=30))"
)


def test_sigterm_reaches_the_dev_server_which_stops_its_children_itself(tmp_path: Path) -> None:
    """Signalled as a group, `dagster dev`'s code server died under it and was restarted by its
    monitor during the shutdown (12-15 s to exit); the dev server alone gets the signal now."""
    port = free_port()
    notes = tmp_path / "child-signals.txt"
    wrapper = subprocess.Popen([sys.executable, "-c", ORDERLY_WRAPPER, ORDERLY_SERVER, str(port), str(notes)])
    try:
        _wait_for_listener(port, wrapper, 30)
        for _ in range(120):
            if (tmp_path / "child-signals.txt.ready").exists():
                break
            time.sleep(0.25)
        stop_and_check_tree(wrapper, (port,), timeout=60, min_processes=2)
        assert wrapper.returncode == 0
        assert notes.read_text().split() == ["SIGUSR1"]  # stopped by its parent, never by our SIGTERM
    finally:
        if wrapper.poll() is None:
            for process in psutil.Process(wrapper.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    process.kill()
            wrapper.kill()
