"""The Dagster UI in a real headless browser, after one materialization of every asset.

Run by ``make ui-test`` (and CI), not by the default ``make test``: it starts the whole dev server,
and its last test stops that server the way an operator does (SIGTERM) and checks nothing is left.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from spx_pipeline.settings import SYNC_FLAG
from spx_pipeline_tests.fixtures.browser import DagsterUI, dismiss_popups, save, wait_for_text
from spx_pipeline_tests.fixtures.processes import stop_and_check_tree
from spx_pipeline_tests.ui.conftest import DevServer

pytestmark = pytest.mark.ui

GROUPS = ("portfolio", "market_data", "recommendations", "orders")
SCHEMA = """
query {
  assetNodes(assetKeys: [{path: ["portfolio_snapshots"]}]) {
    metadataEntries {
      ... on TableSchemaMetadataEntry { label schema { columns { name description } } }
    }
  }
}"""


def _columns(ui: DagsterUI) -> list[dict[str, Any]]:
    [node] = ui.graphql(SCHEMA)["assetNodes"]
    [schema] = [e for e in node["metadataEntries"] if e.get("schema")]
    return schema["schema"]["columns"]


def test_the_asset_graph_shows_the_groups(dagster_ui: DagsterUI, browser: Any) -> None:
    browser.get(f"{dagster_ui.base_url}/asset-groups")
    wait_for_text(browser, "Global asset lineage", *GROUPS)
    save(browser, dagster_ui, "1-asset-graph")


def test_the_asset_page_shows_its_columns_and_a_passed_check(dagster_ui: DagsterUI, browser: Any) -> None:
    columns = [c["name"] for c in _columns(dagster_ui)]
    assert {"account_id", "total_equity", "option_buying_power", "run_id"} <= set(columns)
    browser.get(f"{dagster_ui.base_url}/assets/portfolio_snapshots")
    wait_for_text(browser, "Columns", *columns)
    save(browser, dagster_ui, "2-portfolio-snapshots")
    browser.get(f"{dagster_ui.base_url}/assets/portfolio_snapshots?view=checks")
    wait_for_text(browser, "portfolio_snapshots_schema", "Passed")
    save(browser, dagster_ui, "3-portfolio-snapshots-checks")


def test_the_asset_page_shows_a_description_for_every_column(dagster_ui: DagsterUI, browser: Any) -> None:
    columns = _columns(dagster_ui)
    assert [c["name"] for c in columns if not (c["description"] or "").strip()] == []
    browser.get(f"{dagster_ui.base_url}/assets/portfolio_snapshots")
    wait_for_text(browser, *(c["description"].strip().splitlines()[0] for c in columns))
    save(browser, dagster_ui, "4-portfolio-snapshots-column-descriptions")


def test_the_automation_page_shows_the_schedule_and_sensor_with_the_gate(
    dagster_ui: DagsterUI, browser: Any
) -> None:
    browser.get(f"{dagster_ui.base_url}/automation")
    wait_for_text(browser, "portfolio_sync_schedule", "broker_credentials_sensor")
    save(browser, dagster_ui, "5-automation")
    browser.get(f"{dagster_ui.base_url}/locations/spx_pipeline/sensors/broker_credentials_sensor")
    # The gate: the sensor runs (toggle on) and says it skips unless the flag is on; its ticks show it.
    page = wait_for_text(browser, "broker_credentials_sensor", f"Skips unless {SYNC_FLAG} is on", "Running")
    assert "Latest tick" in page
    save(browser, dagster_ui, "6-sensor")


# Every chart image on the page that the browser decoded, with its pixel size and title.
DRAWN_IMAGES = (
    "return Array.from(document.querySelectorAll('img')).filter(i => "
    "(i.getAttribute('src') || '').startsWith('data:image/png') && i.complete && i.naturalWidth > 0)"
    ".map(i => [i.naturalWidth, i.naturalHeight, i.alt]);"
)


@pytest.mark.parametrize(
    ("asset", "entry", "title"),
    [
        ("portfolio_snapshots", "equity_per_account", "Total equity per account"),
        ("contract_recommendations", "tradable_vs_blocked_per_day", "Tradable vs blocked per day"),
    ],
)
def test_the_asset_page_shows_its_chart(
    dagster_ui: DagsterUI, browser: Any, asset: str, entry: str, title: str
) -> None:
    """The chart in the metadata really renders in the UI (Dagster's markdown allows data URIs)."""
    from selenium.webdriver.common.by import By

    browser.get(f"{dagster_ui.base_url}/assets/{asset}")
    wait_for_text(browser, "Metadata", entry)
    dismiss_popups(browser)
    [row] = browser.find_elements(By.XPATH, f"//tr[td[normalize-space()='{entry}']]")
    link = row.find_element(By.XPATH, ".//a[normalize-space()='[Show Markdown]']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    images: list[list[object]] = []
    for _ in range(60):
        images = browser.execute_script(DRAWN_IMAGES)
        if images:
            break
        time.sleep(0.5)
    assert images, f"no chart image rendered for {asset}.{entry}"
    [[width, height, alt]] = images
    assert alt == title and int(width) > 300 and int(height) > 150  # type: ignore[call-overload]
    time.sleep(1)  # let the dialog finish fading in before the screenshot
    save(browser, dagster_ui, f"7-{asset}-chart")


def test_spx_pipeline_dev_stops_cleanly_on_sigterm(dev_server: DevServer, dagster_ui: DagsterUI) -> None:
    """Last in the module: SIGTERM to `spx-pipeline dev` stops the webserver, daemon, code server and
    local Tradier server, and frees both ports."""
    stop_and_check_tree(dev_server.proc, (dev_server.port, dev_server.emulator_port), timeout=90)
    # The dev server stopped its code server itself (signalled as a group, the code server died
    # first and dagster dev's monitor restarted it in the middle of the shutdown).
    log = (dev_server.root / "dev.log").read_text(errors="replace")
    assert "Restarting the code server process" not in log
