"""``spx-pipeline dev``'s supervisor stops cleanly: SIGTERM to the wrapper stops every process it
started and frees the server's port (real processes; free loopback ports).

A stand-in server plays dagster dev here. The real ``spx-pipeline dev`` (webserver, daemon, code
server, local Tradier server) is started once, by the UI session (``make ui-test``, run by CI),
which ends by stopping it through this same check: starting the whole stack a second time only to
stop it costs the suite tens of seconds of CPU.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from spx_pipeline_tests.fixtures.processes import free_port, port_is_free, stop_and_check_tree

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
