"""A run killed between two writes is published whole or not at all, and the next run repairs drift.

Each case forks a real ``portfolio_sync_job`` run and ``kill -9``s it at one point between the
stores' writes: after its balances committed, with its snapshot rows written inside the open
warehouse transaction (before the app database's commit), and right after the app database's
commit (before the warehouse's). Nothing of a run that died before the commit point is ever
served (published views, the analyst copy, the recommendations' read helper); a run that died
after it is completed by the next run. After the next run the two stores and the analyst copy
hold the same snapshots, with no duplicate.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.storage.app.snapshots import read_snapshots
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.transformations.recommendations import latest_snapshots
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.runs import StartChild, local_instance_home

# Runs killed in a child process, then repaired: end to end (make test-e2e, run by CI).
pytestmark = pytest.mark.e2e

ASSETS = "spx_pipeline.defs.portfolio.assets"
CRASH_POINTS = {
    "after-balances": (ASSETS, "reconcile_snapshots"),  # first call of portfolio_snapshots
    "before-app-db-commit": (ASSETS, "replace_snapshots"),  # warehouse rows written, not committed
    # commit point passed
    "after-app-db-commit": ("spx_pipeline.storage.warehouse.publication", "publish_stage"),
}


def keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    stamps = pd.to_datetime(frame["captured_at"], utc=True)
    return sorted(zip(frame["account_id"], stamps.map(pd.Timestamp.isoformat), strict=True))


def served(env: PipelineEnv, run_id: str) -> dict[str, int]:
    """Rows of ``run_id`` anything downstream or an analyst can read."""
    wh = env.warehouse()
    catalog = AnalystCatalog(env.warehouse_path)
    counts = {
        f"published.{table}": int(
            wh.query(f"SELECT count(*) AS n FROM published.{table} WHERE run_id = ?", [run_id])["n"].iloc[0]
        )
        for table in ("tradier_balances", "sync_failures", "portfolio_snapshots")
    }
    for table in ("tradier_balances", "portfolio_snapshots"):
        counts[f"analyst.{table}"] = int(
            catalog.query(f"SELECT count(*) AS n FROM {table} WHERE run_id = ?", [run_id])["n"].iloc[0]
        )
    counts["latest_snapshots"] = int(latest_snapshots(wh)["run_id"].eq(run_id).sum())
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_run_killed_between_writes_is_never_served_half_and_the_next_run_repairs(
    pipeline_env: PipelineEnv, tmp_path: Path, start_child_run: StartChild, point: str
) -> None:
    env = pipeline_env
    home = local_instance_home(tmp_path / "dagster_home")
    assert env.run("portfolio_sync_job").success  # a clean run: history to keep
    env.set_now(env.clock.now() + timedelta(seconds=1))
    crashed = start_child_run(env, home, crash_at=CRASH_POINTS[point])
    crashed_id = crashed.run_id()
    assert crashed.wait() == -9, "the run was killed with SIGKILL"

    committed = point == "after-app-db-commit"
    app_rows = read_snapshots(env.app_db())
    assert int(app_rows["run_id"].eq(crashed_id).sum()) == (3 if committed else 0)
    if point != "after-balances":
        assert env.count("portfolio_snapshots", "run_id = ?", [crashed_id]) == 0  # rolled back with its tx
    assert set(served(env, crashed_id).values()) == {0}, "rows of the killed run were served"

    with dg.DagsterInstance.from_config(str(home)) as instance:
        env.set_now(env.clock.now() + timedelta(seconds=1))
        after = env.defs.resolve_job_def("portfolio_sync_job").execute_in_process(instance=instance)
        assert after.success
        dead = instance.get_run_by_id(crashed_id)
        assert dead is not None and dead.status == dg.DagsterRunStatus.FAILURE

    expected = 3 if committed else 0  # past the commit point the sync is completed, else never shown
    counts = served(env, crashed_id)
    assert counts["published.portfolio_snapshots"] == counts["analyst.portfolio_snapshots"] == expected
    assert counts["latest_snapshots"] == 0  # the later run is the latest
    app = read_snapshots(env.app_db())
    published = env.warehouse().query("SELECT * FROM published.portfolio_snapshots")
    analyst = AnalystCatalog(env.warehouse_path).query("SELECT * FROM portfolio_snapshots")
    assert keys(app) == keys(published) == keys(analyst), "the stores drifted apart"
    assert len(set(keys(app))) == len(app) == 3 * (2 + committed)
    [materialization] = after.asset_materializations_for_node("portfolio_snapshots")
    assert materialization.metadata["repaired_runs"].value == int(committed)
