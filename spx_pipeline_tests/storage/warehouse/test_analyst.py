"""The analyst copy: only published rows, newest publication per key, repaired after a crash,
and readers that never block a writer (nor get blocked by one)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest

from spx_pipeline.storage.warehouse.analyst import AnalystCatalog, published_seqs
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseLockedError
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.rows import chain_rows, recommendation, ticket
from spx_pipeline_tests.fixtures.stores import both_backends


def analyst(wh: Warehouse, sql: str) -> pd.DataFrame:
    return AnalystCatalog(wh.path).query(sql)


@both_backends
def test_rows_are_read_only_once_their_stage_is_published(warehouse: Warehouse) -> None:
    with warehouse.transaction() as tx:
        tx.replace_rows(
            "sync_failures",
            pd.DataFrame(
                [
                    {
                        "run_id": "r1",
                        "account_id": "VA1",
                        "stage": "balances",
                        "captured_at": pd.Timestamp("2026-11-24T15:30:00Z"),
                        "error_class": "TradierServerError",
                        "message": "503",
                    }
                ]
            ),
            key_columns=["run_id", "account_id", "stage"],
        )
    assert warehouse.row_count("sync_failures") == 1
    assert warehouse.query("SELECT * FROM published.sync_failures").empty
    assert analyst(warehouse, "SELECT * FROM sync_failures").empty  # unpublished: nobody reads it
    with warehouse.transaction() as tx:
        tx.publish("r1", "portfolio_sync")
    assert len(warehouse.query("SELECT * FROM published.sync_failures")) == 1
    assert list(analyst(warehouse, "SELECT run_id FROM sync_failures")["run_id"]) == ["r1"]
    assert list(
        analyst(warehouse, "SELECT run_id, stage FROM run_publications").itertuples(index=False, name=None)
    ) == [("r1", "portfolio_sync")]


@both_backends
def test_a_self_contained_stage_publishes_with_its_write_and_the_newest_key_wins(
    warehouse: Warehouse,
) -> None:
    warehouse.replace_rows("order_tickets", ticket("r1", 2), key_columns=["ticket_id"])
    warehouse.replace_rows("order_tickets", ticket("r2", 5), key_columns=["ticket_id"])
    rows = analyst(warehouse, "SELECT run_id, quantity FROM order_tickets")
    assert list(rows.itertuples(index=False, name=None)) == [("r2", 5)]  # as in the writer's table
    assert list(warehouse.query("SELECT run_id FROM published.order_tickets")["run_id"]) == ["r2"]


@both_backends
def test_recommendations_keep_every_runs_rows_for_the_same_key(warehouse: Warehouse) -> None:
    """The key includes the run: what a trader saw at 10:00 survives the 10:15 run."""
    keys = ["run_id", "as_of_date", "setup_id", "account_id", "risk_fingerprint"]
    warehouse.replace_rows("contract_recommendations", recommendation("r1", 2), key_columns=keys)
    warehouse.replace_rows("contract_recommendations", recommendation("r2", 5), key_columns=keys)
    sql = "SELECT run_id, suggested_contracts FROM contract_recommendations ORDER BY run_id"
    rows = analyst(warehouse, sql)
    assert list(rows.itertuples(index=False, name=None)) == [("r1", 2), ("r2", 5)]
    published = warehouse.query(sql.replace("FROM ", "FROM published."))
    assert list(published.itertuples(index=False, name=None)) == [("r1", 2), ("r2", 5)]


@both_backends
def test_a_failed_write_publishes_nothing_and_leaves_no_staging(warehouse: Warehouse) -> None:
    bad = chain_rows("r1", ["A", "A"])  # duplicate key: refused before anything runs
    with pytest.raises(Exception, match="sharing a key"):
        warehouse.replace_rows("spx_option_chain", bad, key_columns=["run_id", "symbol"])
    with pytest.raises(RuntimeError, match="boom"), warehouse.transaction() as tx:
        tx.replace_rows("spx_option_chain", chain_rows("r2", ["A"]), key_columns=["run_id", "symbol"])
        tx.publish("r2", "market_data")
        raise RuntimeError("boom")  # the process fails after exporting, before the commit
    assert warehouse.row_count("spx_option_chain") == 0
    assert warehouse.query("SELECT * FROM run_publications").empty
    assert published_seqs(warehouse.analyst_paths) == {}
    assert not any(warehouse.analyst_paths.staging_dir.iterdir())


def test_the_next_publication_repairs_an_analyst_copy_a_crash_left_behind(warehouse: Warehouse) -> None:
    warehouse.replace_rows("spx_option_chain", chain_rows("r1", ["A", "B"]), key_columns=["run_id", "symbol"])
    paths = warehouse.analyst_paths
    [(seq, name)] = published_seqs(paths).items()
    # A writer died after its commit, before moving its directory into place; another left staging.
    shutil.rmtree(paths.published_dir / name)
    (paths.staging_dir / "000000000099-market_data-dead").mkdir(parents=True)
    (paths.published_dir / "000000000077-market_data-unknown").mkdir()  # from a restored backup
    assert analyst(warehouse, "SELECT * FROM spx_option_chain").empty
    warehouse.replace_rows("spx_option_chain", chain_rows("r2", ["C"]), key_columns=["run_id", "symbol"])
    assert sorted(published_seqs(paths)) == [seq, seq + 1]
    assert not any(paths.staging_dir.iterdir())
    symbols = analyst(warehouse, "SELECT run_id, symbol FROM spx_option_chain ORDER BY symbol")
    assert list(symbols.itertuples(index=False, name=None)) == [("r1", "A"), ("r1", "B"), ("r2", "C")]


@pytest.mark.slow
def test_analysts_query_while_a_run_writes_and_neither_side_fails(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    assert env.run("portfolio_sync_job").success  # something published to read
    catalog = AnalystCatalog(env.warehouse_path)
    failures: list[str] = []
    reads = 0
    stop = threading.Event()

    def read_in_a_loop() -> None:
        nonlocal reads
        while not stop.wait(0.02):  # an analyst re-running a query, not a busy loop
            try:
                catalog.named_query("latest_snapshot_per_account")
                reads += 1
            except Exception as exc:
                failures.append(repr(exc))

    with catalog.connect() as held:  # one analyst keeps a session open for the whole run
        reader = threading.Thread(target=read_in_a_loop)
        reader.start()
        try:
            result = env.run("portfolio_sync_job")
        finally:
            stop.set()
            reader.join()
        assert result.success
        # The open session sees the new publication without reconnecting.
        runs = held.execute("SELECT DISTINCT run_id FROM portfolio_snapshots").fetchall()
        assert (result.run_id,) in runs
    assert failures == [] and reads > 0


def test_a_blocked_writer_names_the_process_holding_the_lock(warehouse: Warehouse, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(warehouse.path)!r})
                print("holding", flush=True)
                time.sleep(600)  # killed when the test ends
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        blocked = Warehouse(warehouse.path, lock_timeout=0.3)
        with pytest.raises(WarehouseLockedError) as info:
            blocked.replace_rows(
                "spx_option_chain", chain_rows("r1", ["A"]), key_columns=["run_id", "symbol"]
            )
        message = str(info.value)
        assert f"process {holder.pid} (" in message and "import duckdb" in message
        assert str(warehouse.analyst_paths.catalog) in message
        # The analyst copy is still readable while the writer's file is locked.
        assert (
            AnalystCatalog(warehouse.path).query("SELECT count(*) AS n FROM spx_option_chain")["n"].iloc[0]
            == 0
        )
    finally:
        holder.kill()
        holder.wait()
