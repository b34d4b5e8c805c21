"""run_placement's reads: what every account's pass needs, read once for all of them."""

from __future__ import annotations

from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.transformations.trade_placement import day_trade_guards
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.trade_history import seed_day_trades


def test_day_trade_guards_count_each_accounts_own_day_trades(pipeline_env: PipelineEnv) -> None:
    """The window's orders are read once for every account and each guard counts its own."""
    seed_day_trades(pipeline_env, "VA00000001", count=3)
    seed_day_trades(pipeline_env, "VA00000002", count=1)
    store = TradeStore(pipeline_env.app_db())
    accounts = ["VA00000001", "VA00000002", "VA00000003"]
    guards = day_trade_guards(store, accounts, [], now=pipeline_env.clock.now(), enabled=True)
    assert [guards[a].used for a in accounts] == [3, 1, 0]
    assert all(g.enabled for g in guards.values())
