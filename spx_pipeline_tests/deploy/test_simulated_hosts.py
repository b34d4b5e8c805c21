"""The simulated hosts the multi-host test stands on: isolated as other machines are, seen from inside,
and gone afterwards, also when the test using them fails.

The parsing of ``ss`` and the loopback rule run in the default suite; the namespaces themselves need
root and iproute2 (marker ``multihost``).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from spx_pipeline_tests.fixtures.netns import (
    REQUIRE_VAR,
    ConnectionLog,
    HostNetwork,
    host_network,
    leftovers,
    network_unavailable,
    parse_ss,
    require_network,
)

SS_OUTPUT = """\
tcp   LISTEN 0 128 127.0.0.1:7000 0.0.0.0:* users:(("python3",pid=41,fd=3))
tcp   ESTAB  0 0   127.0.0.1:51000 127.0.0.1:7000 users:(("python3",pid=42,fd=4))
tcp   ESTAB  0 0   127.0.0.1:51002 127.0.0.1:6379 users:(("celery",pid=43,fd=9),("celery",pid=44,fd=9))
tcp   ESTAB  0 0   10.200.1.11:40000 10.200.1.1:5432 users:(("python",pid=45,fd=7))
tcp   ESTAB  0 0   [::ffff:127.0.0.1]:51004 [::ffff:127.0.0.1]:8787
udp   UNCONN 0 0   10.200.1.11%eth0:68 0.0.0.0:*
"""


def test_ss_lines_are_read_with_their_processes() -> None:
    seen = {(s.local, s.peer): s for s in parse_ss("h0", SS_OUTPUT)}
    shared = seen[(("127.0.0.1", 51002), ("127.0.0.1", 6379))]
    assert shared.pids == {43, 44} and shared.programs == {"celery"}
    assert seen[(("10.200.1.11", 68), ("0.0.0.0", None))].proto == "udp"
    assert seen[(("::ffff:127.0.0.1", 51004), ("::ffff:127.0.0.1", 8787))].is_loopback()
    assert not seen[(("10.200.1.11", 40000), ("10.200.1.1", 5432))].is_loopback()


def test_loopback_counts_only_when_it_is_not_the_hosts_own_listener() -> None:
    log = ConnectionLog(seen=set(parse_ss("h0", SS_OUTPUT)))
    flagged = {s.peer for s in log.loopback_use("h0")}
    # 7000 is listened on inside h0 (its own loopback); 6379 and 8787 would be another host's.
    assert flagged == {("127.0.0.1", 6379), ("::ffff:127.0.0.1", 8787)}
    assert log.loopback_use("h1") == []


@pytest.mark.multihost
def test_a_host_reaches_the_main_address_never_the_main_hosts_loopback(
    simulated_hosts: Callable[[int], HostNetwork], tmp_path: Path
) -> None:
    network = simulated_hosts(2)
    main = network.main_address
    with socket.create_server((main, 0)) as bridged, socket.create_server(("127.0.0.1", 0)) as local:
        script = (
            "import socket, sys, time\n"
            f"s = socket.create_connection(({main!r}, {bridged.getsockname()[1]}), timeout=10)\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {local.getsockname()[1]}), timeout=3)\n"
            "    print('LOOPBACK REACHED', flush=True)\n"
            "except OSError as exc:\n"
            "    print('LOOPBACK REFUSED', type(exc).__name__, flush=True)\n"
            "time.sleep(60)\n"
        )
        client = network.hosts[1].start([sys.executable, "-c", script], tmp_path / "client.log")
        bridged.settimeout(30)
        accepted, (peer, _) = bridged.accept()
        with accepted, network.watching(interval=0.2) as log:
            deadline = time.monotonic() + 30
            while "LOOPBACK" not in client.output() and time.monotonic() < deadline:
                time.sleep(0.1)
        assert peer == network.hosts[1].address  # the connection came from the host's own address
        assert "LOOPBACK REFUSED" in client.output()  # 127.0.0.1 there is the host's, not ours
        ours = [s for s in log.of(network.hosts[1].name) if s.state == "ESTAB"]
        assert [(s.local[0], s.peer) for s in ours] == [
            (network.hosts[1].address, (network.main_address, bridged.getsockname()[1]))
        ]
        assert log.of(network.hosts[0].name) == []  # nothing ran there
    # The client is still running: the fixture's finalizer must kill it with the namespace.
    assert client.process.poll() is None


@pytest.mark.multihost
def test_a_failing_block_still_removes_every_namespace_link_and_process(tmp_path: Path) -> None:
    require_network()
    sleep = [sys.executable, "-c", "import time; time.sleep(120)"]
    with pytest.raises(RuntimeError, match="the test failed"), host_network(2) as network:
        sleeper = network.hosts[0].start(sleep, tmp_path / "sleeper.log")
        assert leftovers(network.lab)  # namespaces and links exist while the block runs
        raise RuntimeError("the test failed")
    assert leftovers(network.lab) == []
    sleeper.process.wait(timeout=30)  # killed with its namespace (raises if it still ran)
    assert not psutil.pid_exists(sleeper.pid)


def test_without_namespaces_it_skips_with_the_reason_or_fails_where_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert network_unavailable() == "network namespaces need root (CI runs as root)"
    monkeypatch.delenv(REQUIRE_VAR, raising=False)
    with pytest.raises(pytest.skip.Exception, match="simulated hosts unavailable: network namespaces"):
        require_network()
    monkeypatch.setenv(REQUIRE_VAR, "1")
    with pytest.raises(pytest.fail.Exception, match="SPX_REQUIRE_MULTIHOST=1 makes this a failure"):
        require_network()


@pytest.mark.multihost
def test_commands_released_together_each_run_in_its_own_host(
    simulated_hosts: Callable[[int], HostNetwork], tmp_path: Path
) -> None:
    network = simulated_hosts(2)
    show = ["ip", "-4", "-o", "addr", "show", "eth0"]
    results = network.run_together([(host, show, None) for host in network.hosts], tmp_path)
    for host, (status, output) in zip(network.hosts, results, strict=True):
        assert status == 0, output
        assert f"inet {host.address}/" in output
