"""The pipeline end to end at pinned moments: 0DTE flags, recommendation expiries, freshness check."""

from __future__ import annotations

import pandas as pd
import pytest

from spx_pipeline_tests.fixtures.moments import Moment, moment
from spx_pipeline_tests.fixtures.pipeline import PipelineEnvFactory

CASES = [
    moment("full-day-10:30"),
    moment("thanksgiving"),
    moment("early-close-13:00"),
    moment("late-evening-23:30"),
    moment("dst-spring-monday-09:30"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_run_at(case: Moment, pipeline_env_factory: PipelineEnvFactory) -> None:
    env = pipeline_env_factory(now=case.at)
    sync = env.run("portfolio_sync_job")
    assert sync.success
    [fresh] = [e for e in sync.get_asset_check_evaluations() if e.check_name == "portfolio_snapshots_fresh"]
    assert fresh.passed
    assert (fresh.metadata.get("market") is not None) is (not case.open)  # "closed" said when it is

    result = env.run(
        "recommendations_job", {"ops": {"contract_recommendations": {"config": {"max_risk_dollars": 2500.0}}}}
    )
    assert result.success
    chain = env.warehouse().query(
        "SELECT trading_day, expiration_date, is_0dte, captured_at FROM spx_option_chain"
    )
    assert {pd.Timestamp(d).date() for d in chain["trading_day"]} == {case.session}
    first = min(pd.Timestamp(d).date() for d in chain["expiration_date"])
    assert first == case.session
    # A session day before its close has a same-day series; a holiday, a weekend, after the close: none
    # for the calendar day itself, and the rows of the next session are that session's 0DTE.
    zero = chain[chain["is_0dte"]]
    assert {pd.Timestamp(d).date() for d in zero["expiration_date"]} == {case.session}
    assert set(pd.to_datetime(chain["captured_at"], utc=True)) == {pd.Timestamp(env.clock.now())}

    recs = env.warehouse().query("SELECT as_of_date, expiration_date, blocked FROM contract_recommendations")
    assert {pd.Timestamp(d).date() for d in recs["as_of_date"]} == {case.session}
    assert all(pd.Timestamp(d).date() >= case.session for d in recs["expiration_date"])
