"""pandera's checks loaded without hypothesis validate exactly as with it, and a run never imports it.

The suite imports hypothesis before any validation (its conftest), so here pandera has its
strategies: the reference. A fresh interpreter, like a run process, validates the same frames with
pandera's checks loaded while hypothesis was hidden; the kept rows and the failure rows must match.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from spx_pipeline.transformations.portfolio import validated_snapshots
from spx_pipeline.transformations.schemas import column_names

FRESH = """
import pickle, sys
from spx_pipeline.transformations.portfolio import validated_snapshots
frames = pickle.load(open(sys.argv[1], "rb"))
results = [validated_snapshots(frame) for frame in frames]
import pandera.strategies.base_strategies as strategies
pickle.dump((results, "hypothesis" in sys.modules, strategies.HAS_HYPOTHESIS), open(sys.argv[2], "wb"))
"""


def _candidates(rows: int = 50) -> pd.DataFrame:
    at = pd.Timestamp("2026-11-24 15:00", tz="UTC").as_unit("ns")
    frame = pd.DataFrame(
        {
            "account_id": [f"VA{i:04d}" for i in range(rows)],
            "captured_at": at,
            "account_type": ["margin", "cash", "pdt"] * (rows // 3) + ["margin"] * (rows % 3),
            "environment": "sandbox",
            "total_equity": np.linspace(0, 50_000, rows),
            "cash": 10.5,
            "option_buying_power": np.linspace(0, 20_000, rows),
            "day_trade_buying_power": [None, 4.0] * (rows // 2) + [None] * (rows % 2),
            "pending_orders_count": 0,
            "pending_cash": None,
            "pdt_qualified": False,
            "run_id": "r",
        }
    )
    return frame[list(column_names("portfolio_snapshots"))]


def _broken() -> pd.DataFrame:
    frame = _candidates()
    frame.loc[3, "option_buying_power"] = -1.0
    frame.loc[5, "account_type"] = "ira"
    frame.loc[7, "total_equity"] = np.inf
    frame.loc[9, "account_id"] = ""
    frame.loc[11, "account_id"] = frame.loc[12, "account_id"]  # two rows with one key
    frame.loc[14, "pending_orders_count"] = -2
    return frame


def test_validation_without_hypothesis_keeps_and_refuses_the_same_rows(tmp_path: Path) -> None:
    assert "hypothesis" in sys.modules  # the reference below validates with pandera's strategies loaded
    frames = [_candidates(), _broken(), _candidates(0)]
    (tmp_path / "in.pkl").write_bytes(pickle.dumps(frames))
    command = [sys.executable, "-c", FRESH, str(tmp_path / "in.pkl"), str(tmp_path / "out.pkl")]
    subprocess.run(command, check=True, timeout=120)
    fresh, imported_hypothesis, has_strategies = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert not imported_hypothesis and not has_strategies
    for frame, got in zip(frames, fresh, strict=True):
        expected = validated_snapshots(frame)
        pd.testing.assert_frame_equal(got.snapshots, expected.snapshots)
        pd.testing.assert_frame_equal(got.rejected, expected.rejected)
    rejected = fresh[1].rejected.set_index("account_id")["message"]
    assert len(fresh[1].snapshots) == 50 - 7 and len(rejected) == 7
    assert "option_buying_power=-1.0 fails greater_than_or_equal_to(0)" in rejected["VA0003"]
