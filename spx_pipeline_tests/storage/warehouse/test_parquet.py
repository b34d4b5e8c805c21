"""The Parquet backend's own guarantees: chosen by one setting, private staging, publication numbers
no two writers share, nothing of a failed run published, and a lost rename exported again.
(Both backends' shared behaviour is tested with ``@both_backends`` beside the DuckDB tests.)"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from spx_pipeline.settings import SettingError, Settings
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog, AnalystPaths, published_seqs
from spx_pipeline.storage.warehouse.parquet import claim_seq
from spx_pipeline.storage.warehouse.store import Warehouse, WarehouseError
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.rows import chain_rows

KEYS = ["run_id", "symbol"]


def failure_row(run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "account_id": "VA1",
                "stage": "balances",
                "captured_at": pd.Timestamp("2026-11-24T15:30:00Z"),
                "error_class": "TradierServerError",
                "message": "503",
            }
        ]
    )


def test_the_backend_comes_from_one_setting_and_a_bad_value_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SPX_WAREHOUSE_BACKEND", raising=False)
    assert Warehouse(tmp_path / "w.duckdb").backend == "duckdb"
    monkeypatch.setenv("SPX_WAREHOUSE_BACKEND", " Parquet ")
    assert Warehouse(tmp_path / "w.duckdb").parquet is not None
    with pytest.raises(SettingError) as info:
        Settings.from_env({"SPX_WAREHOUSE_BACKEND": "ducklake"}).warehouse_backend_name()
    assert str(info.value) == (
        "SPX_WAREHOUSE_BACKEND='ducklake' is not a warehouse backend; use duckdb or parquet"
    )
    monkeypatch.setenv("SPX_WAREHOUSE_BACKEND", "ducklake")
    with pytest.raises(SettingError, match="SPX_WAREHOUSE_BACKEND='ducklake'"):
        Warehouse(tmp_path / "w.duckdb")


def test_writes_stay_in_the_writers_scratch_until_published(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    writer = Warehouse(path, backend="parquet", run_id="run-a")
    writer.ensure_schema()
    with writer.transaction() as tx:
        tx.replace_rows("sync_failures", failure_row("run-a"), key_columns=["run_id", "account_id", "stage"])
    other = Warehouse(path, backend="parquet", run_id="run-b")
    assert writer.row_count("sync_failures") == 1  # the run reads its own writes
    assert other.row_count("sync_failures") == 0  # nobody else does
    with writer.transaction() as tx:
        tx.publish("run-a", "portfolio_sync")
    assert other.row_count("sync_failures") == 1
    assert list(other.query("SELECT run_id FROM published.sync_failures")["run_id"]) == ["run-a"]
    assert not path.exists()  # no writer ever creates (or locks) a shared DuckDB file
    assert writer.parquet is not None and writer.parquet.scratch.is_file()


def test_publication_numbers_claimed_at_once_are_all_different(tmp_path: Path) -> None:
    paths = AnalystPaths.for_warehouse(tmp_path / "w.duckdb")
    claimed: list[int] = []
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        claimed.extend(claim_seq(paths) for _ in range(25))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(1, 201))


def test_a_publication_lost_between_commit_and_rename_is_exported_again(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb", backend="parquet", run_id="run-a")
    wh.ensure_schema()
    wh.replace_rows("spx_option_chain", chain_rows("r1", ["A", "B"]), key_columns=KEYS)
    [(seq, name)] = published_seqs(wh.analyst_paths).items()
    os.rename(wh.analyst_paths.published_dir / name, tmp_path / "lost")  # died before its rename
    wh.replace_rows("spx_option_chain", chain_rows("r2", ["C"]), key_columns=KEYS)
    assert sorted(published_seqs(wh.analyst_paths)) == [seq, seq + 1]
    rows = AnalystCatalog(wh.path).query("SELECT run_id, symbol FROM spx_option_chain ORDER BY symbol")
    assert list(rows.itertuples(index=False, name=None)) == [("r1", "A"), ("r1", "B"), ("r2", "C")]


def test_the_duckdb_backend_refuses_a_directory_the_parquet_backend_feeds(tmp_path: Path) -> None:
    Warehouse(tmp_path / "w.duckdb", backend="parquet").replace_rows(
        "spx_option_chain", chain_rows("r1", ["A"]), key_columns=KEYS
    )
    with pytest.raises(WarehouseError, match="holds a parquet-backend warehouse; set SPX_WAREHOUSE_BACKEND"):
        Warehouse(tmp_path / "w.duckdb", backend="duckdb").ensure_schema()
    assert len(published_seqs(AnalystPaths.for_warehouse(tmp_path / "w.duckdb"))) == 1  # nothing removed


@pytest.mark.parametrize("warehouse_backend", ["parquet"], indirect=True)
def test_a_failing_run_publishes_nothing_and_keeps_its_rows_in_its_scratch(pipeline_env: PipelineEnv) -> None:
    engine = sa.create_engine(pipeline_env.app_db_url)
    with engine.begin() as conn:  # the snapshot step (the stage's last) fails on the app database
        conn.execute(sa.text("ALTER TABLE portfolio_snapshots RENAME TO portfolio_snapshots_moved"))
    failed = pipeline_env.run("portfolio_sync_job")
    assert not failed.success
    assert published_seqs(pipeline_env.warehouse().analyst_paths) == {}
    assert pipeline_env.count("tradier_balances") == 0  # nobody else reads what the run staged
    own = Warehouse(pipeline_env.warehouse_path, run_id=failed.run_id)
    assert own.row_count("tradier_balances") == 3  # kept in the run's scratch for a re-run
    engine.dispose()
    assert not pipeline_env.warehouse_path.exists()
