"""Bringing the warehouse and the app database back in line after a crash.

The portfolio history lives in both stores, which cannot share a transaction. The app database is
the system of record: a sync's snapshots count as done once its app-database transaction commits.
``portfolio_snapshots`` therefore holds its warehouse transaction (the rows and the publication
record) open across that commit and commits it right after; a process killed in between leaves
the run committed in the app database and unpublished in the warehouse. A process killed earlier
leaves rows in the warehouse only, unpublished, that no reader sees.

Every later sync first compares the two stores over a recent window and repairs what differs:

* in the app database, not published in the warehouse: the run is published from the app
  database's rows (rolled forward: the commit point had passed);
* published in the warehouse, missing or incomplete in the app database (a restored backup):
  copied to the app database.

Runs still in progress are left alone. Unpublished warehouse rows of runs that died are not drift:
no view shows them, and they are kept as what was fetched (a run that fetched balances and failed
later can still be snapshotted by materializing ``portfolio_snapshots`` alone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

import pandas as pd

from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.snapshots import read_run_snapshots, replace_snapshots, snapshot_counts
from spx_pipeline.storage.warehouse.store import Warehouse

RunState = Literal["in_progress", "finished", "unknown"]
STAGE: Final = "portfolio_sync"
DEFAULT_LOOKBACK: Final = timedelta(days=3)


@dataclass(frozen=True)
class ReconcileReport:
    """Runs repaired, by direction (empty lists: the stores agreed)."""

    rolled_forward: list[str] = field(default_factory=list)
    copied_to_app_db: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        return len(self.rolled_forward) + len(self.copied_to_app_db)

    def describe(self) -> str:
        parts = [
            f"{label}: {', '.join(runs)}"
            for label, runs in (
                ("published from the app database", self.rolled_forward),
                ("copied to the app database", self.copied_to_app_db),
            )
            if runs
        ]
        return "; ".join(parts) if parts else "warehouse and app database agree"


def reconcile_snapshots(
    warehouse: Warehouse,
    appdb: AppDatabase,
    *,
    run_state: Callable[[str], RunState],
    now: datetime,
    repaired_by: str,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> ReconcileReport:
    """Detect and repair drift of the portfolio history captured since ``now - lookback``."""
    since = now - lookback
    report = ReconcileReport()
    app_counts = snapshot_counts(appdb, since=since)
    with warehouse.transaction() as tx:
        published = set(
            tx.query("SELECT DISTINCT run_id FROM run_publications WHERE stage = ?", [STAGE])["run_id"]
        )
        in_view = _counts(tx.query, "published.portfolio_snapshots", since)
        for run_id, count in sorted(app_counts.items()):
            shown = in_view.get(run_id, 0)
            if run_id in published and shown > count:
                _copy_to_app_db(tx.query, appdb, run_id)
                report.copied_to_app_db.append(run_id)
            elif (run_id in published and shown < count) or (
                run_id not in published and run_state(run_id) != "in_progress"
            ):
                frame = read_run_snapshots(appdb, run_id)
                frame["captured_at"] = pd.to_datetime(frame["captured_at"], utc=True)
                tx.replace_rows(
                    "portfolio_snapshots",
                    frame,
                    delete_where={"run_id": run_id},
                )
                tx.publish(run_id, STAGE, published_by=repaired_by)
                report.rolled_forward.append(run_id)
        for run_id in sorted(set(in_view) - set(app_counts)):
            _copy_to_app_db(tx.query, appdb, run_id)
            report.copied_to_app_db.append(run_id)
    return report


Query = Callable[..., pd.DataFrame]


def _counts(query: Query, source: str, since: datetime) -> dict[str, int]:
    frame = query(
        f"SELECT run_id, count(*) AS n FROM {source} WHERE captured_at >= ? GROUP BY run_id", [since]
    )
    return {str(r.run_id): int(r.n) for r in frame.itertuples()}


def _copy_to_app_db(query: Query, appdb: AppDatabase, run_id: str) -> None:
    rows = query("SELECT * FROM published.portfolio_snapshots WHERE run_id = ?", [run_id])
    replace_snapshots(appdb, rows, run_id=run_id)
