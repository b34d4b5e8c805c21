"""DuckDB warehouse writer: schema, idempotent replace-by-key, rollback, lock retry across processes."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spx_pipeline.storage.warehouse import writes as writes_module
from spx_pipeline.storage.warehouse.store import (
    Warehouse,
    WarehouseError,
    WarehouseLockedError,
    WarehouseWriteError,
    WriteResult,
)
from spx_pipeline_tests.fixtures.stores import both_backends
from spx_pipeline_tests.fixtures.warehouse_rows import T0, snapshots, table


def test_ensure_schema_creates_every_ddl_table_then_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPX_CREATE_DIRS", "true")  # a directory outside data/ is created when asked
    wh = Warehouse(tmp_path / "sub" / "w.duckdb")
    created = wh.ensure_schema()
    assert set(created) == wh.tables
    assert {"portfolio_snapshots", "tradier_balances", "contract_recommendations"} <= wh.tables
    assert wh.ensure_schema() == []
    with duckdb.connect(str(wh.path)) as con:
        con.execute("DROP TABLE sync_failures")
    assert wh.ensure_schema() == ["sync_failures"]  # missing tables are created, never skipped


def test_two_threads_applying_the_schema_at_once_both_succeed(tmp_path: Path) -> None:
    """Two runs of one process (threads of a code server) share its connection to the file: the
    schema each applies as it starts must not fail the other with a catalog write-write conflict."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    gate = threading.Barrier(4)
    errors: list[BaseException] = []

    def apply() -> None:
        gate.wait(timeout=60)
        try:
            Warehouse(tmp_path / "w.duckdb").ensure_schema()
        except BaseException as exc:  # reported below, whatever it is
            errors.append(exc)

    for _ in range(5):
        threads = [threading.Thread(target=apply) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    wh.release()


def test_default_path_comes_from_env_or_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPX_WAREHOUSE_PATH", raising=False)
    assert Warehouse().path == Path("data") / "warehouse.duckdb"
    monkeypatch.setenv("SPX_WAREHOUSE_PATH", str(tmp_path / "env.duckdb"))
    assert Warehouse().path == tmp_path / "env.duckdb"


@both_backends
def test_replace_rows_is_idempotent_and_keeps_exact_decimals(warehouse: Warehouse) -> None:
    frame = snapshots("r1", ["A", "B"])
    keys = ["account_id", "captured_at"]
    assert warehouse.replace_rows("portfolio_snapshots", frame, key_columns=keys) == WriteResult(2, 0)
    first = table(warehouse, "portfolio_snapshots")
    again = warehouse.replace_rows("portfolio_snapshots", frame, key_columns=["account_id", "captured_at"])
    assert again == WriteResult(inserted=2, deleted=2)
    pd.testing.assert_frame_equal(table(warehouse, "portfolio_snapshots"), first)
    with warehouse.connect(read_only=True) as con:  # .df() turns DECIMAL into float; look at the values
        exact = con.execute("SELECT DISTINCT total_equity, option_buying_power FROM portfolio_snapshots")
        exact = exact.fetchall()
    assert exact == [(Decimal("1000.1234"), Decimal("2500.5000"))]
    assert first["day_trade_buying_power"].isna().all()  # missing nullable column -> NULL
    assert str(first["captured_at"].dt.tz) == "UTC"


@both_backends
def test_rows_are_replaced_by_the_primary_key_the_ddl_states_unless_another_is_named(
    warehouse: Warehouse,
) -> None:
    """portfolio_snapshots' key is (account_id, captured_at): a later snapshot of an account is a row
    of its own, the same snapshot again replaces its row; naming account_id alone replaces both."""
    assert warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A", "B"])) == WriteResult(2, 0)
    later = snapshots("r2", ["A"], at=T0 + timedelta(minutes=5))
    assert warehouse.replace_rows("portfolio_snapshots", later) == WriteResult(1, 0)
    again = snapshots("r3", ["A"], at=T0 + timedelta(minutes=5))
    assert warehouse.replace_rows("portfolio_snapshots", again) == WriteResult(1, 1)
    rows = table(warehouse, "portfolio_snapshots")
    assert sorted(zip(rows["account_id"], rows["run_id"], strict=True)) == [
        ("A", "r1"),
        ("A", "r3"),
        ("B", "r1"),
    ]
    by_account = snapshots("r4", ["A"], at=T0 + timedelta(minutes=9))
    assert warehouse.replace_rows(
        "portfolio_snapshots", by_account, key_columns=["account_id"]
    ) == WriteResult(1, 2)


@both_backends
def test_a_table_named_in_another_case_is_replaced_by_its_primary_key(warehouse: Warehouse) -> None:
    """Table names are case-insensitive (``check_table``): the default key is found for any case."""
    assert warehouse.replace_rows("Portfolio_Snapshots", snapshots("r1", ["A"])) == WriteResult(1, 0)
    with warehouse.transaction() as tx:
        assert tx.replace_rows("PORTFOLIO_SNAPSHOTS", snapshots("r2", ["A"])) == WriteResult(1, 1)
    assert table(warehouse, "portfolio_snapshots")["run_id"].tolist() == ["r2"]


@both_backends
def test_delete_where_clears_a_previous_attempt_of_the_same_run(warehouse: Warehouse) -> None:
    keys = ["account_id", "captured_at"]
    warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A", "B", "C"]), key_columns=keys)
    older = snapshots("r0", ["Z"], at=T0 - timedelta(days=1))
    warehouse.replace_rows("portfolio_snapshots", older, key_columns=keys)
    retry = snapshots("r1", ["A"], at=T0 + timedelta(minutes=1))
    result = warehouse.replace_rows(
        "portfolio_snapshots", retry, key_columns=keys, delete_where={"run_id": "r1"}
    )
    assert result == WriteResult(inserted=1, deleted=3)
    rows = table(warehouse, "portfolio_snapshots")
    assert sorted(zip(rows["run_id"], rows["account_id"], strict=True)) == [("r0", "Z"), ("r1", "A")]


@both_backends
def test_failure_mid_write_leaves_the_table_exactly_as_before(warehouse: Warehouse) -> None:
    keys = ["account_id", "captured_at"]
    warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A", "B"]), key_columns=keys)
    before = table(warehouse, "portfolio_snapshots")
    # Same keys (so the delete step runs first) plus a NULL in a NOT NULL column for row B.
    bad = snapshots("r2", ["A", "B"], cash=Decimal("5"))
    bad["cash"] = [Decimal("5"), None]
    with pytest.raises(WarehouseWriteError, match=r"portfolio_snapshots failed and was rolled back.*cash"):
        warehouse.replace_rows("portfolio_snapshots", bad, key_columns=keys, delete_where={"run_id": "r1"})
    pd.testing.assert_frame_equal(table(warehouse, "portfolio_snapshots"), before)


def test_duplicate_keys_inside_the_frame_are_refused_before_writing(warehouse: Warehouse) -> None:
    keys = ["account_id", "captured_at"]
    warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A"]), key_columns=keys)
    before = table(warehouse, "portfolio_snapshots")
    with pytest.raises(WarehouseWriteError, match="2 rows sharing a key"):
        warehouse.replace_rows("portfolio_snapshots", snapshots("r2", ["A", "A"]), key_columns=keys)
    pd.testing.assert_frame_equal(table(warehouse, "portfolio_snapshots"), before)


def test_unknown_columns_tables_and_keys_are_named(warehouse: Warehouse) -> None:
    frame = snapshots("r1", ["A"]).assign(bogus=1, other=2)
    with pytest.raises(WarehouseWriteError, match="columns the table does not have: bogus, other"):
        warehouse.replace_rows("portfolio_snapshots", frame, key_columns=["account_id"])
    with pytest.raises(WarehouseError, match="'users; DROP TABLE x' is not a warehouse table"):
        warehouse.replace_rows("users; DROP TABLE x", frame, key_columns=["account_id"])
    with pytest.raises(
        WarehouseWriteError, match=r"replace_rows\(portfolio_snapshots\): key_columns is empty"
    ):
        warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A"]), key_columns=[])
    with pytest.raises(WarehouseWriteError, match="key_columns missing_col"):
        warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A"]), key_columns=["missing_col"])
    with pytest.raises(WarehouseWriteError, match="delete_where names unknown columns: x"):
        frame = snapshots("r1", ["A"])
        keys = ["account_id"]
        warehouse.replace_rows("portfolio_snapshots", frame, key_columns=keys, delete_where={"x": 0})
    with pytest.raises(WarehouseWriteError, match="key column account_id has missing values"):
        warehouse.replace_rows("portfolio_snapshots", snapshots("r1", [None]), key_columns=["account_id"])  # type: ignore[list-item]


@both_backends
def test_json_columns_accept_text_and_objects(warehouse: Warehouse) -> None:
    base = {
        "run_id": ["r1", "r1"],
        "account_id": ["A", "B"],
        "captured_at": [T0, T0],
        "environment": ["sandbox", "sandbox"],
        "account_type": ["cash", "margin"],
        "total_equity": [Decimal("10.5"), None],
        "raw_json": ['{"balances": {"total_equity": 10.5}}', {"balances": {"account_type": "margin"}}],
    }
    warehouse.replace_rows("tradier_balances", pd.DataFrame(base), key_columns=["run_id", "account_id"])
    rows = warehouse.query("SELECT account_id, raw_json, total_equity FROM tradier_balances ORDER BY 1")
    assert json.loads(rows["raw_json"][0]) == {"balances": {"total_equity": 10.5}}
    assert json.loads(rows["raw_json"][1]) == {"balances": {"account_type": "margin"}}
    assert rows["total_equity"][0] == 10.5 and pd.isna(rows["total_equity"][1])


@both_backends
def test_replace_table_swaps_current_state_atomically(warehouse: Warehouse) -> None:
    def creds(ids: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "account_id": ids,
                "environment": "sandbox",
                "is_active": True,
                "token_fingerprint": "abc123abc123",
                "created_at": T0,
                "updated_at": T0,
                "captured_at": T0,
                "run_id": "r1",
            }
        )

    assert warehouse.replace_table("broker_credentials", creds(["A", "B"])) == WriteResult(2, 0)
    assert warehouse.replace_table("broker_credentials", creds(["C"])) == WriteResult(1, 2)
    assert table(warehouse, "broker_credentials")["account_id"].tolist() == ["C"]
    with pytest.raises(WarehouseWriteError):
        warehouse.replace_table("broker_credentials", creds(["D"]).assign(environment=None))
    assert table(warehouse, "broker_credentials")["account_id"].tolist() == ["C"]


@both_backends
def test_dates_and_delete_where_on_recommendation_day(warehouse: Warehouse) -> None:
    row = {
        "as_of_date": date(2026, 11, 23),
        "setup_id": "s1",
        "account_id": "A",
        "risk_fingerprint": "fp",
        "generated_at": T0,
        "run_id": "r1",
        "direction": "bullish",
        "target_delta": 0.4,
        "suggested_contracts": 0,
        "suggested_cost": 0,
        "sizing_reason": "blocked",
        "blocked": True,
    }
    keys = ["as_of_date", "setup_id", "account_id", "risk_fingerprint"]
    warehouse.replace_rows("contract_recommendations", pd.DataFrame([row]), key_columns=keys)
    result = warehouse.replace_rows(  # the same run's step again: its row is replaced
        "contract_recommendations",
        pd.DataFrame([{**row, "sizing_reason": "still blocked"}]),
        key_columns=keys,
        delete_where={"as_of_date": date(2026, 11, 23)},
    )
    assert result == WriteResult(inserted=1, deleted=1)
    assert warehouse.row_count("contract_recommendations") == 1


def test_read_only_query_on_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"missing\.duckdb does not exist yet"):
        Warehouse(tmp_path / "missing.duckdb").query("SELECT 1")


# -- two processes -------------------------------------------------------------------------


def _writer(path: str, account_prefix: str, rounds: int, queue: multiprocessing.Queue[str]) -> None:
    try:
        wh = Warehouse(path, lock_timeout=30.0)
        queue.put("started")
        for n in range(rounds):
            frame = snapshots(f"run-{account_prefix}", [f"{account_prefix}{n}"])
            wh.replace_rows("portfolio_snapshots", frame, key_columns=["account_id", "captured_at"])
        queue.put("ok")
    except Exception as exc:  # reported to the parent, which asserts on it
        queue.put(f"{type(exc).__name__}: {exc}")


def _impatient_reader(path: str, queue: multiprocessing.Queue[str]) -> None:
    try:
        Warehouse(path, lock_timeout=0.3).query("SELECT 1")
        queue.put("ok")
    except WarehouseLockedError as exc:
        queue.put(f"locked: {exc}")
    except Exception as exc:
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_concurrent_writers_in_two_processes_both_succeed(warehouse: Warehouse) -> None:
    ctx = multiprocessing.get_context("spawn")  # a forked child would share this process's DuckDB state
    queue: multiprocessing.Queue[str] = ctx.Queue()
    rounds = 8
    procs = [ctx.Process(target=_writer, args=(str(warehouse.path), p, rounds, queue)) for p in ("A", "B")]
    with warehouse.connect():  # hold the lock until both children are about to write: real contention
        for proc in procs:
            proc.start()
        assert [queue.get(timeout=60) for _ in procs] == ["started", "started"]
        time.sleep(0.2)
    outcomes = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert outcomes == ["ok", "ok"]
    assert warehouse.row_count("portfolio_snapshots") == 2 * rounds


@pytest.mark.slow
def test_lock_held_too_long_gives_up_naming_the_file(warehouse: Warehouse) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    with warehouse.connect():  # this process holds the write lock
        proc = ctx.Process(target=_impatient_reader, args=(str(warehouse.path), queue))
        proc.start()
        outcome = queue.get(timeout=60)
        proc.join(timeout=30)
    assert outcome.startswith("locked: ")
    assert str(warehouse.path) in outcome and "stayed locked" in outcome


@both_backends
def test_rows_a_query_makes_replace_by_key_as_the_same_frame_would(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """``replace_rows_from_query``: the rows the query makes of its frames land as ``replace_rows``
    of that very frame lands them (types, exact decimals, time zones), replacing by the key."""
    rows = snapshots("r1", ["A", "B", "C"])
    query = "SELECT * FROM {rows} WHERE account_id <> ?"
    with warehouse.transaction() as tx:
        assert tx.replace_rows_from_query("portfolio_snapshots", query, {"rows": rows}, ["C"]) == WriteResult(
            2, 0
        )
    again = snapshots("r2", ["A", "B", "C"])
    with warehouse.transaction() as tx:
        assert tx.replace_rows_from_query(
            "portfolio_snapshots", query, {"rows": again}, ["B"]
        ) == WriteResult(2, 1)
    by_frame = Warehouse(tmp_path / "by_frame.duckdb", backend=warehouse.backend)
    by_frame.ensure_schema()
    by_frame.replace_rows("portfolio_snapshots", rows[rows["account_id"] != "C"])
    by_frame.replace_rows("portfolio_snapshots", again[again["account_id"] != "B"])
    pd.testing.assert_frame_equal(
        table(warehouse, "portfolio_snapshots"), table(by_frame, "portfolio_snapshots")
    )
    assert table(warehouse, "portfolio_snapshots")["run_id"].tolist() == ["r2", "r1", "r2"]


@both_backends
def test_a_query_whose_rows_are_wrong_is_refused_and_changes_nothing(warehouse: Warehouse) -> None:
    warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A"]))
    before = table(warehouse, "portfolio_snapshots")
    rows = {"rows": snapshots("r2", ["A", "B"])}
    refused = {
        "SELECT *, 1 AS bogus FROM {rows}": "columns the table does not have: bogus",
        "SELECT * FROM {rows} UNION ALL SELECT * FROM {rows}": "the query made 4 rows sharing a key",
        "SELECT * REPLACE (NULL AS account_id) FROM {rows}": "key column account_id has missing values",
        "SELECT * FROM {rows} WHERE no_such_column": "the rows' query failed",
        "SELECT * REPLACE (NULL AS cash) FROM {rows}": "portfolio_snapshots failed and was rolled back",
    }
    for query, message in refused.items():
        with pytest.raises(WarehouseWriteError, match=message), warehouse.transaction() as tx:
            tx.replace_rows_from_query("portfolio_snapshots", query, rows)
        pd.testing.assert_frame_equal(table(warehouse, "portfolio_snapshots"), before)
    with warehouse.transaction() as tx:  # refused or done, a write leaves nothing on the connection
        with pytest.raises(WarehouseWriteError, match="bogus"):
            tx.replace_rows_from_query("portfolio_snapshots", "SELECT *, 1 AS bogus FROM {rows}", rows)
        assert tx.replace_rows_from_query("portfolio_snapshots", "SELECT * FROM {rows}", rows) == WriteResult(
            2, 1
        )
        left = tx.query(
            "SELECT table_name AS name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()"
        )
        assert not [n for n in left["name"] if n.startswith(("_spx_incoming_", "_spx_frame_"))]


@both_backends
def test_rows_already_there_are_updated_in_place_with_the_outcome_of_replacing_them(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame of every column whose keys are there is upserted by the primary key: the rows, the
    counts and a column the next frame leaves out (NULL, as on insert) are as deleting and
    inserting them gives, which is what the same writes give with upserting turned off."""
    outcomes = []
    for in_place in (True, False):
        if not in_place:
            monkeypatch.setattr(writes_module, "_upsertable", lambda *_: False)
        with warehouse.transaction() as tx:
            tx.delete_rows("portfolio_snapshots", {"environment": "sandbox"})
        warehouse.replace_rows("portfolio_snapshots", snapshots("r1", ["A", "B"]))
        whole = table(warehouse, "portfolio_snapshots").assign(day_trade_buying_power=Decimal("7"))
        changed = whole.assign(run_id="r3", cash=[Decimal("1.5"), Decimal("2.5")])
        writes = [whole.assign(run_id="r2"), changed.iloc[:1], changed.drop(columns="day_trade_buying_power")]
        steps = []
        for frame in writes:
            result = warehouse.replace_rows("portfolio_snapshots", frame)
            steps.append((result, table(warehouse, "portfolio_snapshots")))
        outcomes.append(steps)
    for (result, rows), (reference_result, reference) in zip(*outcomes, strict=True):
        assert result == reference_result
        pd.testing.assert_frame_equal(rows, reference)
    assert [result for result, _ in outcomes[0]] == [WriteResult(2, 2), WriteResult(1, 1), WriteResult(2, 2)]
    rows = outcomes[0][-1][1]
    assert rows["run_id"].tolist() == ["r3", "r3"] and rows["cash"].tolist() == [1.5, 2.5]
    assert rows["day_trade_buying_power"].isna().all()


@both_backends
def test_rows_of_every_column_are_replaced_by_delete_and_insert_when_the_key_is_not_the_tables_primary_key(
    warehouse: Warehouse,
) -> None:
    """Upserting takes the table's primary key as it stands for its conflict target: rows holding
    every column that replace by ``key_columns`` naming another key, or in a table whose primary
    key is not the DDL's (a run's scratch file made before the DDL changed a key keeps its old
    one), are deleted and inserted, as before upserting existed."""

    def whole(run_id: str, accounts: list[str], cash: float) -> pd.DataFrame:
        return snapshots(run_id, accounts, cash=cash).assign(
            day_trade_buying_power=Decimal("7"), pending_cash=Decimal("1")
        )

    def rows() -> list[tuple[object, ...]]:
        found = table(warehouse, "portfolio_snapshots")
        return list(zip(found["account_id"], found["run_id"], found["cash"], strict=True))

    warehouse.replace_rows("portfolio_snapshots", whole("r1", ["A", "B"], 1.0))
    by_run = warehouse.replace_rows("portfolio_snapshots", whole("r1", ["C"], 2.0), key_columns=["run_id"])
    assert by_run == WriteResult(inserted=1, deleted=2)
    assert rows() == [("C", "r1", 2.0)]
    with warehouse.transaction() as tx:  # the key an older DDL gave the table: the account alone
        ref = warehouse.table_ref("portfolio_snapshots")
        columns = ", ".join(f'"{c.name}" {c.type}' for c in warehouse.columns("portfolio_snapshots"))
        tx.con.execute(f"DROP TABLE {ref}")
        tx.con.execute(f"CREATE TABLE {ref} ({columns}, PRIMARY KEY (account_id))")
    warehouse.replace_rows("portfolio_snapshots", whole("r2", ["A"], 3.0))
    assert warehouse.replace_rows("portfolio_snapshots", whole("r3", ["A"], 4.0)) == WriteResult(1, 1)
    assert rows() == [("A", "r3", 4.0)]
