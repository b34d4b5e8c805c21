"""A running ``spx-pipeline dev`` (free loopback ports, pinned clock, demo data) and a headless
Chromium driven by Selenium through Debian's ``/usr/bin/chromedriver`` (never a downloaded driver).

The server, one materialization of every asset started by clicking the asset graph's real
"Materialize all" button, and the browser are shared by the module's tests; screenshots go to
``SPX_UI_SCREENSHOTS`` (default: a temporary folder), printed at the start of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from spx_pipeline_tests.fixtures.browser import DagsterUI, dismiss_popups, headless_chromium, wait_for_text
from spx_pipeline_tests.fixtures.processes import clean_cli_env, free_port, port_is_free

LOCATION = "spx_pipeline"
# A Tuesday of a regular session: the daemon's schedule and sensor ticks and the checks see that day.
UI_NOW = "2026-11-24T10:30:00-05:00"


def _wait_for_graphql(base_url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    query = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"
    for _ in range(int(seconds)):
        assert proc.poll() is None, "spx-pipeline dev exited during start-up"
        try:
            data = requests.post(f"{base_url}/graphql", json={"query": query}, timeout=30).json()["data"]
            if data["repositoriesOrError"].get("nodes"):
                return
        except (requests.RequestException, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    raise AssertionError(f"the Dagster UI at {base_url} did not load the code location in {seconds} s")


RUNS = "query { runsOrError(limit: 20) { ... on Runs { results { runId status jobName } } } }"
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def run_ids(ui: DagsterUI) -> set[str]:
    return {r["runId"] for r in ui.graphql(RUNS)["runsOrError"]["results"]}


def wait_for_new_run(ui: DagsterUI, before: set[str], seconds: float) -> dict[str, Any]:
    """The run a click launched (not in ``before``), once it finished; it must have succeeded."""
    for _ in range(int(seconds)):
        new = [r for r in ui.graphql(RUNS)["runsOrError"]["results"] if r["runId"] not in before]
        if new and new[0]["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            assert new[0]["status"] == "SUCCESS", (
                f"run {new[0]['runId']} ({new[0]['jobName']}) ended {new[0]['status']}"
            )
            return new[0]
        time.sleep(1)
    raise AssertionError(f"no run launched by the click finished in {seconds} s")


def materialize_all(ui: DagsterUI, browser: Any, seconds: float) -> str:
    """Click the asset graph's "Materialize all" as an operator does, and wait for the run to succeed."""
    from selenium.webdriver.common.by import By

    before = run_ids(ui)
    browser.get(f"{ui.base_url}/asset-groups")
    wait_for_text(browser, "Materialize all", seconds=120)
    dismiss_popups(browser)
    [button] = [
        b
        for b in browser.find_elements(By.XPATH, "//button[contains(., 'Materialize all')]")
        if b.is_displayed()
    ]
    button.click()
    wait_for_text(browser, "Launched run")
    return str(wait_for_new_run(ui, before, seconds)["runId"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass(frozen=True)
class DevServer:
    """The running ``spx-pipeline dev`` wrapper and the ports it serves (the UI, the local Tradier server)."""

    proc: subprocess.Popen[bytes]
    port: int
    emulator_port: int
    root: Path


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """``spx-pipeline dev`` on free ports; the module's last test stops it and checks nothing is left."""
    root = tmp_path_factory.mktemp("ui")
    port, emulator_port = free_port(), free_port()
    log = (root / "dev.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "spx_pipeline.cli", "dev", "--port", str(port), "--now", UI_NOW),
            *("--emulator-port", str(emulator_port), "--data-dir", str(root / "data")),
        ],
        env=clean_cli_env(),
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield DevServer(proc, port, emulator_port, root)
    finally:
        _stop(proc)
        log.close()
        assert port_is_free(port), f"port {port} still taken after spx-pipeline dev stopped"


@pytest.fixture(scope="module")
def browser(dev_server: DevServer) -> Iterator[Any]:
    with headless_chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def dagster_ui(dev_server: DevServer, browser: Any) -> DagsterUI:
    screenshots = Path(os.environ.get("SPX_UI_SCREENSHOTS") or dev_server.root / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    print(f"\nDagster UI screenshots: {screenshots}", file=sys.stderr)
    base_url = f"http://127.0.0.1:{dev_server.port}"
    try:
        _wait_for_graphql(base_url, dev_server.proc, 240)
        run_id = materialize_all(DagsterUI(base_url, screenshots, run_id=""), browser, 300)
    except AssertionError:
        print((dev_server.root / "dev.log").read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    return DagsterUI(base_url, screenshots, run_id)
