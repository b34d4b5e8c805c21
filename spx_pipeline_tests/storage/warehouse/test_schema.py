"""The DDL is the one statement of the warehouse: columns, keys and descriptions are read back from it."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from spx_pipeline.storage.paths import WAREHOUSE_DDL_DIR
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.publication import STAGES
from spx_pipeline.storage.warehouse.schema import column_names, render_ddl, table_spec, warehouse_schema
from spx_pipeline.storage.warehouse.store import Warehouse, WriteResult

# Every table a stage publishes, and the publication record itself.
TABLES = {table for tables in STAGES.values() for table, _ in tables} | {"run_publications"}


def test_the_ddl_defines_every_warehouse_table() -> None:
    assert set(warehouse_schema().tables) == TABLES


def test_every_table_has_a_primary_key() -> None:
    """Writes replace rows by it and the analyst views keep each key's newest row by it."""
    assert [name for name, spec in warehouse_schema().tables.items() if not spec.primary_key] == []


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_and_every_column_has_a_description(table: str) -> None:
    spec = table_spec(table)
    assert spec.description.strip(), table
    undescribed = [c.name for c in spec.columns if not c.description.strip()]
    assert not undescribed, f"{table}: no COMMENT ON COLUMN for {undescribed}"


def test_scheduled_and_adhoc_recommendations_share_one_definition() -> None:
    scheduled = {c.name: c for c in table_spec("contract_recommendations").columns}
    adhoc = {c.name: c for c in table_spec("adhoc_contract_recommendations").columns}
    assert set(scheduled) - set(adhoc) == {"run_id"}
    assert set(adhoc) - set(scheduled) == {"request_run_id"}
    for name in set(scheduled) & set(adhoc):
        assert scheduled[name] == adhoc[name], name
    assert column_names("adhoc_contract_recommendations")[:3] == ("request_run_id", "as_of_date", "setup_id")
    assert table_spec("contract_recommendations").primary_key == (  # every run's rows are kept
        "run_id",
        "as_of_date",
        "setup_id",
        "account_id",
        "risk_fingerprint",
    )
    assert table_spec("adhoc_contract_recommendations").primary_key == (
        "request_run_id",
        "setup_id",
        "account_id",
    )


def test_a_template_keeps_the_lines_of_each_table_only() -> None:
    template = "-- tables: a, b\nCREATE TABLE {table} (x INT,\n  y INT  -- only: a\n  z INT  -- only: b\n);"
    rendered = render_ddl(template)
    assert "CREATE TABLE a (x INT,\n  y INT  -- only: a\n);" in rendered
    assert "CREATE TABLE b (x INT,\n  z INT  -- only: b\n);" in rendered
    assert render_ddl("CREATE TABLE plain (x INT);") == "CREATE TABLE plain (x INT);"


def test_analysts_read_the_descriptions_in_the_warehouse_and_in_their_copy(warehouse: Warehouse) -> None:
    expected = table_spec("portfolio_snapshots")
    sql = (
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE table_name = 'portfolio_snapshots' AND schema_name = 'main' ORDER BY column_index"
    )
    wanted = [(c.name, c.description) for c in expected.columns]
    in_warehouse = warehouse.query(sql)
    assert list(in_warehouse.itertuples(index=False, name=None)) == wanted
    in_copy = AnalystCatalog(warehouse.path).query(sql)
    assert list(in_copy.itertuples(index=False, name=None)) == wanted
    views = AnalystCatalog(warehouse.path).query(
        "SELECT comment FROM duckdb_views() WHERE view_name = 'portfolio_snapshots'"
    )
    assert views["comment"].tolist() == [expected.description]


def _recommendation(run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "as_of_date": date(2026, 11, 24),
                "setup_id": "s1",
                "account_id": "A",
                "risk_fingerprint": "fp",
                "generated_at": datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
                "run_id": run_id,
                "direction": "bullish",
                "target_delta": 0.4,
                "suggested_contracts": 0,
                "suggested_cost": 0,
                "sizing_reason": "blocked at 10:00",
                "blocked": True,
                "blocked_reason": "quotes are stale",
            }
        ]
    )


def test_a_warehouse_made_with_the_earlier_recommendation_key_is_rebuilt_with_its_rows(
    tmp_path: Path,
) -> None:
    """A file made before recommendations kept history: its rows stay, and a second run's rows for
    the same recommendation key are then accepted next to them."""
    old_ddl = tmp_path / "ddl"
    shutil.copytree(WAREHOUSE_DDL_DIR, old_ddl)
    template = old_ddl / "003_recommendation_tables.sql"
    text = template.read_text(encoding="utf-8")
    assert "PRIMARY KEY (run_id, as_of_date," in text
    template.write_text(text.replace("PRIMARY KEY (run_id, as_of_date,", "PRIMARY KEY (as_of_date,"), "utf-8")
    path = tmp_path / "old.duckdb"
    old = Warehouse(path, ddl_dir=old_ddl, backend="duckdb")
    old.ensure_schema()
    keys = ["as_of_date", "setup_id", "account_id", "risk_fingerprint"]
    old.replace_rows("contract_recommendations", _recommendation("r1"), key_columns=keys)

    current = Warehouse(path, backend="duckdb")
    current.ensure_schema()
    key_sql = (
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = "
        "'contract_recommendations' AND constraint_type = 'PRIMARY KEY'"
    )
    assert tuple(current.query(key_sql).iloc[0, 0]) == table_spec("contract_recommendations").primary_key
    later = _recommendation("r2").assign(blocked=False, blocked_reason=None, suggested_contracts=2)
    current.replace_rows("contract_recommendations", later, key_columns=["run_id", *keys])
    rows = current.query("SELECT run_id, blocked_reason FROM contract_recommendations ORDER BY run_id")
    assert rows["run_id"].tolist() == ["r1", "r2"]
    assert rows["blocked_reason"].tolist()[0] == "quotes are stale"
    described = current.query(
        "SELECT count(*) AS n FROM duckdb_columns() WHERE table_name = 'contract_recommendations' "
        "AND schema_name = 'main' "
        "AND (comment IS NULL OR comment = '')"
    )
    assert described["n"].iloc[0] == 0
    assert current.ensure_schema() == []  # current now: nothing rebuilt twice


def test_every_analyst_view_and_column_is_described(warehouse: Warehouse) -> None:
    """The views of sql/analyst live in the analyst copy with a description on every column."""
    catalog = AnalystCatalog(warehouse.path)
    tables = set(warehouse_schema().tables)
    views = catalog.query("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal")
    extra = views[~views["view_name"].isin(tables)]
    assert {"blocked_reasons_by_day", "recommendations_by_day"} <= set(extra["view_name"])
    assert extra["comment"].fillna("").str.strip().ne("").all(), extra
    columns = catalog.query(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal"
    )
    columns = columns[columns["table_name"].isin(set(extra["view_name"]))]
    undescribed = columns[columns["comment"].fillna("").str.strip() == ""]
    assert undescribed.empty, undescribed[["table_name", "column_name"]].to_string()


@pytest.mark.parametrize("backend", ["duckdb", "parquet"])
def test_the_default_key_is_the_one_of_the_warehouses_own_ddl(tmp_path: Path, backend: str) -> None:
    """``replace_rows`` without ``key_columns`` replaces by the primary key of the DDL the warehouse
    was opened with (``ddl_dir``), not of the default DDL: under an earlier recommendation key (no
    run_id) a second run's row replaces the first; once the file is rebuilt to the current key,
    each run's row is kept."""
    old_ddl = tmp_path / "ddl"
    shutil.copytree(WAREHOUSE_DDL_DIR, old_ddl)
    template = old_ddl / "003_recommendation_tables.sql"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("PRIMARY KEY (run_id, as_of_date,", "PRIMARY KEY (as_of_date,"), "utf-8")
    path = tmp_path / "w.duckdb"
    old = Warehouse(path, ddl_dir=old_ddl, backend=backend)
    old.ensure_schema()
    assert old.replace_rows("contract_recommendations", _recommendation("r1")) == WriteResult(1, 0)
    assert old.replace_rows("contract_recommendations", _recommendation("r2")) == WriteResult(1, 1)
    old.release()
    if backend != "duckdb":
        return  # the rebuild under the new key is rekey.py's, on the DuckDB file
    current = Warehouse(path, backend=backend)
    current.ensure_schema()
    assert current.replace_rows("contract_recommendations", _recommendation("r3")) == WriteResult(1, 0)
    assert current.replace_rows("contract_recommendations", _recommendation("r3")) == WriteResult(1, 1)
    rows = current.query("SELECT run_id FROM contract_recommendations ORDER BY run_id")
    assert rows["run_id"].tolist() == ["r2", "r3"]
