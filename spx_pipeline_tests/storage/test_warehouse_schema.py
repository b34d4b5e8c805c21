"""The DDL is the one statement of the warehouse: columns, keys and descriptions are read back from it."""

from __future__ import annotations

import pytest

from spx_pipeline.storage.analyst import AnalystCatalog
from spx_pipeline.storage.publication import STAGES
from spx_pipeline.storage.warehouse import Warehouse
from spx_pipeline.storage.warehouse_schema import column_names, render_ddl, table_spec, warehouse_schema

# Every table a stage publishes, and the publication record itself.
TABLES = {table for tables in STAGES.values() for table, _ in tables} | {"run_publications"}


def test_the_ddl_defines_every_warehouse_table() -> None:
    assert set(warehouse_schema().tables) == TABLES


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
    assert table_spec("contract_recommendations").primary_key == (
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
