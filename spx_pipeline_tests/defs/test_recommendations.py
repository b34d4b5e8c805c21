"""Chains, recommendations and the ad-hoc job, end to end through the local Tradier server."""

from datetime import date

import pandas as pd

from spx_pipeline.domain.market_calendar import next_session
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv


def _sync_and_recommend(env: PipelineEnv, max_risk: float = 2500.0) -> None:
    assert env.run("portfolio_sync_job").success
    result = env.run(
        "recommendations_job",
        {"ops": {"contract_recommendations": {"config": {"max_risk_dollars": max_risk}}}},
    )
    assert result.success


def test_chain_covers_todays_0dte_and_next_sessions_parsed_by_the_occ_module(
    pipeline_env: PipelineEnv,
) -> None:
    _sync_and_recommend(pipeline_env)
    chain = pipeline_env.warehouse().query("SELECT * FROM spx_option_chain")
    day = pd.Timestamp(chain["trading_day"].iloc[0]).date()
    expiries = sorted({pd.Timestamp(d).date() for d in chain["expiration_date"]})
    assert expiries[0] == day  # the emulator lists an SPXW expiry every session, 0DTE included
    assert expiries[1] == next_session(day)
    assert len(expiries) == 3
    assert chain["is_0dte"].sum() > 0
    assert set(chain["underlying"]) == {"SPX"}
    first = chain.iloc[0]
    assert first["symbol_massive"] == "O:" + first["symbol"]
    assert first["symbol_osi"].replace(" ", "") == first["symbol"]
    assert chain["delta"].notna().all()


def test_chain_as_of_a_holiday_fetches_the_next_session(pipeline_env: PipelineEnv) -> None:
    assert pipeline_env.run("portfolio_sync_job").success
    result = pipeline_env.run(
        "recommendations_job", {"ops": {"spx_option_chain": {"config": {"as_of": "2026-11-26"}}}}
    )
    assert result.success
    chain = pipeline_env.warehouse().query("SELECT DISTINCT expiration_date, is_0dte FROM spx_option_chain")
    assert not chain["is_0dte"].any()  # Thanksgiving: no same-day series
    assert min(pd.Timestamp(d).date() for d in chain["expiration_date"]) == date(2026, 11, 27)


def test_recommendations_are_sized_per_account_and_keyed_by_risk_fingerprint(
    pipeline_env: PipelineEnv,
) -> None:
    _sync_and_recommend(pipeline_env)
    recs = pipeline_env.warehouse().query(
        "SELECT * FROM contract_recommendations ORDER BY setup_id, account_id"
    )
    assert len(recs) == 6  # 2 setups x 3 accounts
    assert recs["risk_fingerprint"].nunique() == 3  # one risk context per account, never shared
    margin = recs[recs["account_id"] == "VA00000001"]
    # The margin demo account is not PDT-qualified: its 0DTE is blocked, it gets the next expiry.
    assert (pd.to_datetime(margin["expiration_date"]) > pd.to_datetime(margin["as_of_date"])).all()
    assert margin["blocked_reason"].str.contains("PDT").all()
    pdt = recs[recs["account_id"] == "VA00000003"]
    assert (pd.to_datetime(pdt["expiration_date"]) == pd.to_datetime(pdt["as_of_date"])).all()
    # Sizing never exceeds max risk and never rounds up.
    assert (recs["suggested_cost"].astype(float) <= 2500 + 1e-9).all()
    assert (recs["suggested_contracts"] >= 0).all()


def test_adhoc_job_never_touches_the_scheduled_table(pipeline_env: PipelineEnv) -> None:
    _sync_and_recommend(pipeline_env)
    before = pipeline_env.warehouse().query("SELECT * FROM contract_recommendations ORDER BY ALL")
    result = pipeline_env.run(
        "adhoc_recommendation_job",
        {
            "ops": {
                "adhoc_recommendations": {
                    "config": {
                        "risk_context": {
                            "day_trade_buying_power": 10000,
                            "max_risk_dollars": 300,
                            "pdt_qualified": False,
                            "option_buying_power": 4000,
                            "account_type": "margin",
                        },
                        "label": "what-if",
                    }
                }
            }
        },
    )
    assert result.success
    after = pipeline_env.warehouse().query("SELECT * FROM contract_recommendations ORDER BY ALL")
    pd.testing.assert_frame_equal(before, after)
    adhoc = pipeline_env.warehouse().query("SELECT * FROM adhoc_contract_recommendations")
    assert len(adhoc) == 2 and set(adhoc["account_id"]) == {"what-if"}
    assert set(adhoc["request_run_id"]) == {result.run_id}
    assert adhoc["blocked_reason"].str.contains("PDT").all()
    assert not set(adhoc["risk_fingerprint"]) & set(before["risk_fingerprint"])


def test_order_tickets_build_entry_t1_and_runner_stop_and_preview_entries_only(
    pipeline_env: PipelineEnv,
) -> None:
    _sync_and_recommend(pipeline_env)
    result = pipeline_env.run("order_tickets_job")
    assert result.success
    tickets = pipeline_env.warehouse().query("SELECT * FROM order_tickets ORDER BY account_id, setup_id, leg")
    tradable = pipeline_env.warehouse().query(
        "SELECT * FROM contract_recommendations WHERE NOT blocked AND suggested_contracts > 0"
    )
    assert len(tradable) > 0
    for rec in tradable.itertuples():
        legs = tickets[(tickets["account_id"] == rec.account_id) & (tickets["setup_id"] == rec.setup_id)]
        entry = legs[legs["leg"] == "entry"].iloc[0]
        assert entry["side"] == "buy_to_open" and entry["order_type"] == "limit"
        assert entry["quantity"] == rec.suggested_contracts
        assert entry["underlying_symbol"] == "SPX" and entry["option_symbol"] == rec.symbol
        assert entry["preview_status"] == "ok" and entry["preview_cost"] > 0
        stop = legs[legs["leg"] == "runner_stop"].iloc[0]
        assert stop["side"] == "sell_to_close" and stop["order_type"] in {"stop", "stop_limit"}
        if rec.suggested_contracts >= 2:
            t1 = legs[legs["leg"] == "t1"].iloc[0]
            assert t1["quantity"] + stop["quantity"] == rec.suggested_contracts
            assert float(t1["price"]) > float(entry["price"])
        assert (legs.loc[legs["leg"] != "entry", "preview_status"] == "not_requested").all()
    # Previews never place orders.
    assert all(pipeline_env.emulator.orders(a.account_id) == [] for a in pipeline_env.accounts)
    # Re-running replaces tickets by id: no duplicates.
    assert pipeline_env.run("order_tickets_job").success
    assert pipeline_env.count("order_tickets") == len(tickets)
