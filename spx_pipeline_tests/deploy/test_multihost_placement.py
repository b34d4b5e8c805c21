"""Two placements of the same trades from two simulated hosts at the same moment send each tag once.

``make test-multihost``: the app database (where every order's tag is claimed before its POST) is
the PostgreSQL server on the main host's bridge address, the local Tradier server listens there
too, and ``spx-pipeline place`` runs in two network namespaces, released at once
(``HostNetwork.run_together``). Whatever each host's run decided, the broker holds each tag once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from spx_pipeline_tests.fixtures.multihost import MultihostStackFactory
from spx_pipeline_tests.fixtures.simulation import PDT
from spx_pipeline_tests.fixtures.trading import STOP_SETUPS

pytestmark = [pytest.mark.multihost, pytest.mark.slow]


def test_two_hosts_placing_the_same_trades_at_once_send_each_tag_once(
    multihost_stack: MultihostStackFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = multihost_stack(hosts=2, setups=STOP_SETUPS)
    monkeypatch.setenv("TRADIER_ALLOW_PRIVATE_NETWORK", "true")  # this process reaches the bridge too
    assert stack.env.run("full_pipeline_job").success  # plans the trades in the app database
    first, second = stack.hosts
    place = [sys.executable, "-m", "spx_pipeline.cli", "place", "--account-id", PDT, "--format", "json"]
    logs = tmp_path / "placements"
    logs.mkdir()
    [(code, output)] = stack.network.run_together(
        [(first, [*place, "--dry-run"], stack.environ(first))], logs
    )
    assert code == 0, output
    phrase = json.loads(output[output.index("{") :])["confirm_phrase"]
    assert phrase != "PLACE 0"
    both = stack.network.run_together(
        [(host, [*place, "--confirm", phrase], stack.environ(host)) for host in (first, second)], logs
    )
    assert any(code == 0 for code, _ in both), both
    for code, output in both:  # the other may be refused (its plan changed) or lose its claims
        assert code in (0, 2) and "Traceback" not in output, output
    tags = [o["tag"] for o in stack.env.emulator.orders(PDT) if o.get("tag")]
    assert tags and len(tags) == len(set(tags)), tags
    assert len([t for t in tags if t.endswith("-entry")]) == int(phrase.split()[1])
