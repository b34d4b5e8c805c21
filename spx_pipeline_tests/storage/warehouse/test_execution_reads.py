"""Execution's reads of the recommendations, which keep every run's rows: the newest run decides."""

from __future__ import annotations

from datetime import date

import pandas as pd

from spx_pipeline.storage.warehouse.execution_reads import broker_state_failures, tickets_of_account
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline_tests.fixtures.rows import recommendation, ticket

KEYS = ["run_id", "as_of_date", "setup_id", "account_id", "risk_fingerprint"]
SESSION = date(2026, 11, 24)


def test_a_ticket_is_listed_once_however_many_runs_recommended_it(warehouse: Warehouse) -> None:
    warehouse.replace_rows("order_tickets", ticket("orders-1", 2), key_columns=["ticket_id"])
    for run in ("r1", "r2", "r3"):
        warehouse.replace_rows("contract_recommendations", recommendation(run, 2), key_columns=KEYS)
    assert tickets_of_account(warehouse, "VA1", SESSION)["ticket_id"].tolist() == ["t1"]


def test_the_newest_run_blocking_the_recommendation_withholds_its_ticket(warehouse: Warehouse) -> None:
    warehouse.replace_rows("order_tickets", ticket("orders-1", 2), key_columns=["ticket_id"])
    warehouse.replace_rows("contract_recommendations", recommendation("r1", 2), key_columns=KEYS)
    later = recommendation("r2", 0)
    later = later.assign(blocked=True, generated_at=later["generated_at"] + pd.Timedelta(minutes=15))
    warehouse.replace_rows("contract_recommendations", later, key_columns=KEYS)
    assert tickets_of_account(warehouse, "VA1", SESSION).empty


def test_a_broker_reads_failures_are_read_by_stage_orders_first(warehouse: Warehouse) -> None:
    rows = [
        ("r1", "VA1", "positions", "503"),
        ("r1", "VA1", "orders", "timeout"),
        ("r1", "VA2", "balances", "not a broker_state stage"),
        ("r2", "VA3", "orders", "another run"),
    ]
    frame = pd.DataFrame(rows, columns=["run_id", "account_id", "stage", "message"]).assign(
        captured_at=pd.Timestamp("2026-11-24T15:30:00Z"), error_class="TradierServerError"
    )
    warehouse.replace_rows("sync_failures", frame, key_columns=["run_id", "account_id", "stage"])
    failures = broker_state_failures(warehouse, "r1")
    assert list(failures) == ["orders", "positions"]
    assert failures == {"orders": {"VA1": "timeout"}, "positions": {"VA1": "503"}}
    assert broker_state_failures(warehouse, "r9") == {"orders": {}, "positions": {}}
