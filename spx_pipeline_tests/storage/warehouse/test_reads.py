"""The analyst queries in sql/queries run as they stand, on the published analyst copy, and pick
the right rows (an unpublished run's rows are not among them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.storage.warehouse import reads
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseError, query_names, read_named_query

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _snapshot(account: str, at: datetime, obp: str) -> dict[str, object]:
    return {
        "account_id": account,
        "captured_at": at,
        "account_type": "margin",
        "environment": "sandbox",
        "total_equity": Decimal("50000"),
        "cash": Decimal("1000"),
        "option_buying_power": Decimal(obp),
        "pending_orders_count": 0,
        "pdt_qualified": True,
        "run_id": f"run-{at:%H%M}",
    }


@pytest.fixture
def filled(warehouse: Warehouse) -> Warehouse:
    snaps = [
        _snapshot("A", T0, "1000"),
        _snapshot("A", T0 + timedelta(hours=1), "1500.25"),
        _snapshot("A", T0 + timedelta(hours=2), "1200"),
        _snapshot("B", T0 + timedelta(minutes=30), "900"),
    ]
    keys = ["account_id", "captured_at"]
    unpublished = _snapshot("B", T0 + timedelta(hours=3), "5")  # a run that died before publishing
    with warehouse.transaction() as tx:
        tx.replace_rows("portfolio_snapshots", pd.DataFrame([*snaps, unpublished]), key_columns=keys)
        for run_id in sorted({str(s["run_id"]) for s in snaps}):
            tx.publish(run_id, "portfolio_sync")
    base = {
        "account_id": "A",
        "direction": "bullish",
        "target_delta": 0.4,
        "suggested_contracts": 1,
        "suggested_cost": Decimal("250"),
        "sizing_reason": "ok",
        "blocked": False,
    }
    recs = [
        {**base, "as_of_date": date(2026, 11, 19), "setup_id": "s1", "risk_fingerprint": "old",
         "generated_at": T0 - timedelta(days=1), "run_id": "d1"},
        {**base, "as_of_date": date(2026, 11, 20), "setup_id": "s1", "risk_fingerprint": "f1",
         "generated_at": T0, "run_id": "d2a"},
        {**base, "as_of_date": date(2026, 11, 20), "setup_id": "s1", "risk_fingerprint": "f2",
         "generated_at": T0 + timedelta(hours=1), "run_id": "d2b"},
        {**base, "as_of_date": date(2026, 11, 20), "setup_id": "s2", "risk_fingerprint": "f1",
         "generated_at": T0, "run_id": "d2a", "direction": "bearish"},
    ]  # fmt: skip
    warehouse.replace_rows(
        "contract_recommendations",
        pd.DataFrame(recs),
        key_columns=["as_of_date", "setup_id", "account_id", "risk_fingerprint"],
    )
    return warehouse


def test_every_shipped_query_runs_on_an_empty_warehouse(warehouse: Warehouse) -> None:
    assert set(query_names()) >= {
        "latest_snapshot_per_account",
        "buying_power_history",
        "recommendations_of_the_day",
    }
    for name in query_names():  # `db query` runs them on the analyst copy, with its views
        assert analyst(warehouse, name).empty


def analyst(warehouse: Warehouse, name: str) -> pd.DataFrame:
    return AnalystCatalog(warehouse.path).named_query(name)


def test_latest_snapshot_per_account(filled: Warehouse) -> None:
    rows = analyst(filled, "latest_snapshot_per_account")
    assert list(zip(rows["account_id"], rows["captured_at"], strict=True)) == [
        ("A", T0 + timedelta(hours=2)),
        ("B", T0 + timedelta(minutes=30)),
    ]
    assert rows["option_buying_power"].tolist() == [1200.0, 900.0]


def test_buying_power_history_with_change(filled: Warehouse) -> None:
    rows = analyst(filled, "buying_power_history")
    assert rows["account_id"].tolist() == ["A", "A", "A", "B"]
    assert rows["option_buying_power"].tolist() == [1000.0, 1500.25, 1200.0, 900.0]
    changes = rows["option_buying_power_change"].tolist()
    assert pd.isna(changes[0]) and pd.isna(changes[3])
    assert changes[1:3] == [500.25, -300.25]


def test_recommendations_of_the_day_are_the_newest_runs_rows(filled: Warehouse) -> None:
    rows = analyst(filled, "recommendations_of_the_day")
    assert rows["as_of_date"].dt.date.unique().tolist() == [date(2026, 11, 20)]
    assert rows["run_id"].unique().tolist() == ["d2b"]
    assert list(zip(rows["setup_id"], rows["risk_fingerprint"], strict=True)) == [("s1", "f2")]


def _recommendation(run_id: str, at: datetime, **changes: object) -> dict[str, object]:
    return {
        "as_of_date": date(2026, 11, 20),
        "setup_id": "s1",
        "account_id": "A",
        "risk_fingerprint": "f1",
        "generated_at": at,
        "run_id": run_id,
        "direction": "bullish",
        "target_delta": 0.4,
        "suggested_contracts": 2,
        "suggested_cost": Decimal("500"),
        "binding_constraint": "max_risk",
        "sizing_reason": "2 contract(s)",
        "blocked": False,
        **changes,
    }


@pytest.fixture
def history(warehouse: Warehouse) -> Warehouse:
    """Three runs of one session for the same key: blocked at 10:00 and 10:15 ET, tradable at 10:30."""
    ten = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in New York
    stale = {
        "blocked": True,
        "suggested_contracts": 0,
        "suggested_cost": Decimal(0),
        "binding_constraint": "stale_risk_context",
        "blocked_reason": "The latest sync failed.",
    }
    rows = [
        _recommendation("r1000", ten, **stale),
        _recommendation("r1015", ten + timedelta(minutes=15), **stale),
        _recommendation("r1030", ten + timedelta(minutes=30)),
    ]
    keys = ["run_id", "as_of_date", "setup_id", "account_id", "risk_fingerprint"]
    for row in rows:  # one publication per run, as the pipeline writes them
        warehouse.replace_rows("contract_recommendations", pd.DataFrame([row]), key_columns=keys)
    return warehouse


def test_recommendation_history_answers_why_it_was_blocked_at_ten(history: Warehouse) -> None:
    rows = analyst(history, "recommendation_history")
    assert rows["ny_time"].tolist() == ["10:30:00", "10:15:00", "10:00:00"]
    at_ten = rows[rows["ny_time"] == "10:00:00"].iloc[0]
    assert bool(at_ten["blocked"]) and at_ten["blocked_reason"] == "The latest sync failed."
    assert analyst(history, "recommendations_of_the_day")["run_id"].tolist() == ["r1030"]


def test_blocked_reasons_and_outcomes_summarize_each_day(history: Warehouse) -> None:
    reasons = analyst(history, "blocked_reasons_by_day")
    assert len(reasons) == 1
    reason = reasons.iloc[0]
    assert (reason["binding_constraint"], reason["blocked_rows"], reason["runs"]) == (
        "stale_risk_context",
        2,
        2,
    )
    assert reason["latest_reason"] == "The latest sync failed."
    day = AnalystCatalog(history.path).query("SELECT * FROM recommendations_by_day").iloc[0]
    assert (day["runs"], day["tradable_rows"], day["blocked_rows"]) == (3, 1, 2)
    assert (day["last_run_id"], day["last_run_tradable"], day["last_run_blocked"]) == ("r1030", 1, 0)


def test_unknown_query_name_lists_the_available_ones() -> None:
    with pytest.raises(WarehouseError, match=r"no analyst query named 'nope'.*latest_snapshot_per_account"):
        read_named_query("nope")
    with pytest.raises(WarehouseError):
        read_named_query("../app/0001_broker_credentials")


def test_the_newest_rows_come_in_only_the_columns_asked_for(filled: Warehouse) -> None:
    """The tickets' load step reads the planning columns alone (it hands its rows on, pickled)."""
    with filled.transaction() as tx:
        for run_id in ("d1", "d2a", "d2b"):
            tx.publish(run_id, "recommendations")
    day, asked = date(2026, 11, 20), ["setup_id", "account_id", "risk_fingerprint"]
    whole = reads.recommendations_of_latest_run(filled, day)
    few = reads.recommendations_of_latest_run(filled, day, columns=asked)
    assert list(few.columns) == asked and len(whole.columns) > len(asked)
    pd.testing.assert_frame_equal(few, whole[asked])
    assert few.values.tolist() == [["s1", "A", "f2"]]
    own = reads.recommendations_of_latest_run(filled, day, prefer_run_id="d2a", columns=asked)
    assert own.values.tolist() == [["s1", "A", "f1"], ["s2", "A", "f1"]]
    snapshots = reads.latest_snapshot_per_account(filled, columns=["account_id", "pdt_qualified"])
    assert snapshots.values.tolist() == [["A", True], ["B", True]]
