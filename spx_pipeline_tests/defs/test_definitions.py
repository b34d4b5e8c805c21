"""The code location loads and shows what a trader expects in the UI."""

from pathlib import Path

import dagster as dg

from spx_pipeline.definitions import defs
from spx_pipeline.storage.warehouse.schema import column_names

DEFS_DIR = Path(__file__).resolve().parents[2] / "spx_pipeline" / "defs"

ASSETS = {
    "broker_credentials": "portfolio",
    "tradier_balances": "portfolio",
    "sync_failures": "portfolio",
    "portfolio_snapshots": "portfolio",
    "spx_option_chain": "market_data",
    "contract_recommendations": "recommendations",
    "spx_setups": "recommendations",
    "order_tickets": "orders",
}
JOBS = [
    "portfolio_sync_job",
    "recommendations_job",
    "order_tickets_job",
    "full_pipeline_job",
    "adhoc_recommendation_job",
]


def test_definitions_validate_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_job_schedule_and_sensor_resolves() -> None:
    for name in JOBS:
        assert defs.resolve_job_def(name).name == name
    assert defs.resolve_schedule_def("portfolio_sync_schedule").job_name == "portfolio_sync_job"
    assert defs.resolve_sensor_def("broker_credentials_sensor").job_name == "portfolio_sync_job"


def test_assets_have_groups_owners_kinds_descriptions_and_column_schemas() -> None:
    graph = defs.resolve_asset_graph()
    for name, group in ASSETS.items():
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == group, name
        assert node.owners == ["team:spx-trading"], name
        assert node.description and len(node.description) > 40, name
        assert any(tag.startswith("dagster/kind/") for tag in node.tags), name
        schema = node.metadata["dagster/column_schema"]
        assert len(schema.columns) >= 7, name
        # Its own table's columns, whether the asset is a spec of a multi-asset or a table_asset.
        assert node.metadata["dagster/table_name"] == name
        assert [c.name for c in schema.columns] == list(column_names(name)), name


def test_portfolio_snapshots_column_schema_carries_the_ddl_descriptions() -> None:
    node = defs.resolve_asset_graph().get(dg.AssetKey("portfolio_snapshots"))
    columns = {c.name: c for c in node.metadata["dagster/column_schema"].columns}
    assert set(columns) >= {"account_id", "captured_at", "option_buying_power", "pdt_qualified"}
    assert all(c.description and c.description.strip() for c in columns.values()), columns
    assert "cash accounts" in (columns["option_buying_power"].description or "")


def test_asset_checks_are_attached() -> None:
    check_keys = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "portfolio_snapshots_schema",
        "portfolio_snapshots_fresh",
        "every_active_account_synced",
        "portfolio_snapshots_unique_keys",
        "contract_recommendations_unique_keys",
        "spx_setups_unique_keys",
        "broker_credentials_match_app_database",
        "tradier_balances_accounts_accounted_for",
        "sync_failures_have_reasons",
        "spx_option_chain_session_greeks_quotes",
        "order_tickets_payloads_valid",
        "order_tickets_cover_tradable_recommendations",
    } <= check_keys


def test_every_asset_has_a_check() -> None:
    graph = defs.resolve_asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    assert checked == set(graph.get_all_asset_keys())


def test_portfolio_sync_job_selects_credentials_balances_snapshots() -> None:
    job = defs.resolve_job_def("portfolio_sync_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "broker_credentials",
        "tradier_balances",
        "sync_failures",
        "portfolio_snapshots",
    }


def test_warehouse_writers_share_one_pool() -> None:
    graph = defs.resolve_asset_graph()
    for name in ASSETS:
        if name in ("order_tickets", "sync_failures"):  # ops in the pool; written by tradier_balances
            continue
        assert graph.get(dg.AssetKey(name)).pools == {"duckdb_warehouse"}, name


def test_every_asset_links_to_the_source_that_defines_it() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        references = graph.get(key).metadata["dagster/code_references"].code_references
        [local] = [r for r in references if isinstance(r, dg.LocalFileCodeReference)]
        path = Path(local.file_path)
        assert path.is_relative_to(DEFS_DIR), (key, path)
        assert local.line_number is not None
        # The line starts the definition: the decorator (Dagster's, ``table_asset`` for a table
        # asset, ``one_step_asset`` for a broker read in one step) or the function named after the asset.
        line = path.read_text(encoding="utf-8").splitlines()[local.line_number - 1]
        assert line.startswith(("@dg.", "@table_asset(", "@one_step_asset(", "def ")), (key, line)


def test_what_the_launchpad_shows_is_plain_text() -> None:
    """Config and resource descriptions appear as they stand in the Launchpad: no reST markup, and
    every field of a run config says what it does."""
    import importlib
    import inspect
    import pkgutil

    import spx_pipeline.defs
    import spx_pipeline.resources

    classes = []
    for package in (spx_pipeline.defs, spx_pipeline.resources):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
                if issubclass(cls, dg.Config | dg.ConfigurableResource) and cls.__module__ == module.name:
                    classes.append(cls)
    assert len(classes) > 10
    for cls in classes:
        assert "``" not in (cls.__doc__ or ""), cls
        for name, field in cls.model_fields.items():
            assert "``" not in (field.description or ""), (cls, name)
    placement = next(c for c in classes if c.__name__ == "PlacementConfig")
    assert all(field.description for field in placement.model_fields.values())
    assert placement.model_fields["dry_run"].default is True
