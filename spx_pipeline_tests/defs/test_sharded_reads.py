"""The broker reads split into shard steps (``SPX_SYNC_SHARDS``): the same rows as one step, each
shard a step of its own, a token's accounts in one shard, one shard's failure only its accounts'.

In process (the steps run one after another); ``deploy/test_multihost.py`` runs the same graph on
Celery workers in network namespaces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.broker.secrets import token_fingerprint
from spx_pipeline.definitions import build_definitions
from spx_pipeline.defs.portfolio.automation import sync_run_config
from spx_pipeline.emulator import EmulatorConfig, SimulationConfig, demo_accounts, make_accounts
from spx_pipeline.resources import TradierResource
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

SHARED_TOKEN = "shared-login-token-0001"
SHARDS = 3
SYNC_CONFIG = {"ops": {"tradier_balances": {"config": {"shards": SHARDS, "min_accounts_per_shard": 1}}}}
BALANCE_COLUMNS = ["account_id", "account_type", "environment", "total_equity", "total_cash", "raw_json"]


def accounts() -> list[Any]:
    """Nine accounts of their own token and three behind one shared login."""
    own = make_accounts(9)
    shared = [
        dataclasses.replace(a, account_id=f"VB{i:08d}", token=SHARED_TOKEN)
        for i, a in enumerate(make_accounts(3, seed=2))
    ]
    return own + shared


def sharded_defs(env: PipelineEnv, monkeypatch: pytest.MonkeyPatch, shards: int = SHARDS) -> dg.Definitions:
    monkeypatch.setenv("SPX_SYNC_SHARDS", str(shards))
    try:
        return build_definitions(env.resources())
    finally:
        monkeypatch.delenv("SPX_SYNC_SHARDS")


def started_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START]  # type: ignore[misc]


def balances_of(env: PipelineEnv, run_id: str) -> pd.DataFrame:
    frame = env.warehouse().query(
        f"SELECT {', '.join(BALANCE_COLUMNS)} FROM tradier_balances WHERE run_id = ? ORDER BY account_id",
        [run_id],
    )
    return frame.reset_index(drop=True)


def failing_for(method: str, account: str, monkeypatch: pytest.MonkeyPatch, leak: str) -> Callable[..., Any]:
    """Make ``TradierResource.<method>`` raise (quoting a token) for the shard holding ``account``."""
    real = getattr(TradierResource, method)

    def flaky(self: TradierResource, credentials: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        if any(c.account_id == account for c in credentials):
            raise RuntimeError(f"connection pool exploded while holding {leak}")
        return real(self, credentials, *args, **kwargs)

    monkeypatch.setattr(TradierResource, method, flaky)
    return real


@pytest.fixture
def env(pipeline_env_factory: PipelineEnvFactory) -> PipelineEnv:
    return pipeline_env_factory(accounts=accounts())


def test_sharded_sync_writes_what_one_step_writes_from_separate_steps(
    env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_step = env.run("portfolio_sync_job")
    assert one_step.success
    assert "tradier_balances" in started_steps(one_step)

    sharded = env.execute(sharded_defs(env, monkeypatch), "portfolio_sync_job", run_config=SYNC_CONFIG)
    assert sharded.success
    steps = started_steps(sharded)
    assert "tradier_balances" not in steps
    shard_steps = sorted(s for s in steps if s.startswith("tradier_balances.fetch_balance_shard["))
    assert shard_steps == [f"tradier_balances.fetch_balance_shard[s{i:02d}]" for i in range(SHARDS)]
    assert {"tradier_balances.plan_balance_shards", "tradier_balances.write_balance_shards"} <= set(steps)

    # The same rows (raw bodies included), snapshots built from them, published once.
    pd.testing.assert_frame_equal(balances_of(env, sharded.run_id), balances_of(env, one_step.run_id))
    assert env.count("published.portfolio_snapshots", "run_id = ?", [sharded.run_id]) == len(env.accounts)
    [balances] = [
        e.event_specific_data.materialization.metadata  # type: ignore[union-attr]
        for e in sharded.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("tradier_balances")
    ]
    assert balances["accounts_synced"].value == len(env.accounts) and balances["shards"].value == SHARDS

    # The shared login's three accounts were in one shard: one /user/balances call in the run,
    # as in the one-step run (split over shards, each shard would have asked for them apart).
    shared = token_fingerprint(SHARED_TOKEN)
    calls = [r for r in env.emulator.request_log() if r.token_fingerprint == shared]
    assert len(calls) == 2, calls  # one per run


def test_one_failed_shard_is_its_accounts_failures_and_the_others_sync(
    env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = env.accounts[0]
    failing_for("fetch_balances", victim.account_id, monkeypatch, leak=victim.token)
    result = env.execute(sharded_defs(env, monkeypatch), "portfolio_sync_job", run_config=SYNC_CONFIG)
    assert result.success  # the other shards' accounts synced and were snapshotted

    failures = env.warehouse().query(
        "SELECT account_id, stage, error_class, message FROM published.sync_failures WHERE run_id = ?",
        [result.run_id],
    )
    synced = set(balances_of(env, result.run_id)["account_id"])
    failed = set(failures["account_id"])
    assert victim.account_id in failed and not failed & synced
    assert failed | synced == {a.account_id for a in env.accounts}
    assert 0 < len(failed) < len(env.accounts) / 2  # one shard of three, never the others
    assert set(failures["stage"]) == {"balances"} and set(failures["error_class"]) == {"RuntimeError"}
    assert all(m.startswith("shard s0") and "connection pool exploded" in m for m in failures["message"])
    assert not any(victim.token in m for m in failures["message"])  # the token is taken out
    snapshots = env.warehouse().query(
        "SELECT account_id FROM published.portfolio_snapshots WHERE run_id = ?", [result.run_id]
    )
    assert set(snapshots["account_id"]) == synced


def test_the_sensor_run_config_limits_a_sharded_sync(
    env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = [env.accounts[4].account_id, env.accounts[10].account_id]
    config = sync_run_config(chosen)
    result = env.execute(sharded_defs(env, monkeypatch), "portfolio_sync_job", run_config=config)
    assert result.success
    assert sorted(balances_of(env, result.run_id)["account_id"]) == sorted(chosen)


def test_no_token_reaches_any_file_of_a_sharded_run(
    env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards hand account ids and frames to each other through the io manager's files: no token."""
    assert env.execute(sharded_defs(env, monkeypatch), "portfolio_sync_job", run_config=SYNC_CONFIG).success
    handed = [p for p in Path(env.root).rglob("*") if p.is_file() and "balance_shard" in str(p)]
    assert handed, "the shards' values were not stored as files"
    tokens = {a.token.encode() for a in env.accounts}
    for path in Path(env.root).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(token in data for token in tokens), path


@pytest.fixture
def broker_env(pipeline_env_factory: PipelineEnvFactory) -> PipelineEnv:
    config = EmulatorConfig(accounts=demo_accounts(), simulation=SimulationConfig(seed=7))
    env = pipeline_env_factory(emulator_config=config)
    assert env.run("full_pipeline_job").success
    return env


def broker_rows(env: PipelineEnv, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    positions = env.warehouse().query(
        "SELECT account_id, symbol, quantity, cost_basis FROM tradier_positions WHERE run_id = ? "
        "ORDER BY account_id, symbol",
        [run_id],
    )
    orders = env.warehouse().query(
        "SELECT account_id, order_id, leg_index, status, tag FROM tradier_orders WHERE run_id = ? "
        "ORDER BY account_id, order_id, leg_index",
        [run_id],
    )
    return positions, orders


RECONCILE_CONFIG = {"ops": {"broker_state": {"config": {"shards": SHARDS, "min_accounts_per_shard": 1}}}}


def test_sharded_broker_state_reads_what_one_step_reads(
    broker_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = broker_env
    one_step = env.run("reconciliation_job")
    sharded = env.execute(sharded_defs(env, monkeypatch), "reconciliation_job", run_config=RECONCILE_CONFIG)
    assert one_step.success and sharded.success
    assert len([s for s in started_steps(sharded) if "fetch_broker_state_shard[" in s]) == len(env.accounts)
    for ours, theirs in zip(broker_rows(env, sharded.run_id), broker_rows(env, one_step.run_id), strict=True):
        pd.testing.assert_frame_equal(ours, theirs)
    assert len(broker_rows(env, sharded.run_id)[0]) > 0


def test_a_failed_broker_state_shard_is_unknown_for_its_account_only(
    broker_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = broker_env
    victim = env.accounts[0]
    failing_for("fetch_each", victim.account_id, monkeypatch, leak=victim.token)
    result = env.execute(sharded_defs(env, monkeypatch), "reconciliation_job", run_config=RECONCILE_CONFIG)
    assert result.success
    failures = env.warehouse().query(
        "SELECT account_id, stage, message FROM published.sync_failures WHERE run_id = ?", [result.run_id]
    )
    assert sorted(zip(failures["account_id"], failures["stage"], strict=True)) == [
        (victim.account_id, "orders"),
        (victim.account_id, "positions"),
    ]
    assert not any(victim.token in m for m in failures["message"])
    [positions] = [
        e.event_specific_data.materialization.metadata  # type: ignore[union-attr]
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("tradier_positions")
    ]
    others = sorted(a.account_id for a in env.accounts[1:])
    assert positions["reported_accounts"].value == others  # never read as flat
    statuses = env.warehouse().query(
        "SELECT status FROM published.position_reconciliation WHERE account_id = ?", [victim.account_id]
    )
    assert list(statuses["status"]) == ["unknown"]


def test_sharded_assets_are_the_same_assets_to_the_ui_jobs_and_checks(
    env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_step, sharded = env.defs, sharded_defs(env, monkeypatch)
    a, b = one_step.resolve_asset_graph(), sharded.resolve_asset_graph()
    assert a.get_all_asset_keys() == b.get_all_asset_keys()
    assert a.asset_check_keys == b.asset_check_keys
    for name in ("tradier_balances", "sync_failures", "tradier_positions", "tradier_orders"):
        ours, theirs = b.get(dg.AssetKey(name)), a.get(dg.AssetKey(name))
        assert (ours.group_name, ours.owners, ours.kinds, ours.description) == (
            theirs.group_name, theirs.owners, theirs.kinds, theirs.description,
        ), name  # fmt: skip
        assert ours.parent_keys == theirs.parent_keys, name
        for key in ("dagster/column_schema", "dagster/table_name"):
            assert ours.metadata[key] == theirs.metadata[key], (name, key)
    for job in one_step.jobs or []:
        keys = one_step.resolve_job_def(job.name).asset_layer.selected_asset_keys  # type: ignore[union-attr]
        assert sharded.resolve_job_def(job.name).asset_layer.selected_asset_keys == keys, job.name  # type: ignore[union-attr]
