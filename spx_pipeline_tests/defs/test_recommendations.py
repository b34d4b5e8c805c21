"""Chains, recommendations and the ad-hoc job, end to end through the local Tradier server."""

from datetime import date

import dagster as dg
import pandas as pd

from spx_pipeline.clock import FixedClock
from spx_pipeline.defs.display import PREVIEW_ROWS
from spx_pipeline.domain.market_calendar import next_session
from spx_pipeline.emulator import FaultConfig, make_accounts
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory
from spx_pipeline_tests.fixtures.stores import both_backends


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


def test_chain_as_of_a_holiday_fetches_the_next_session(pipeline_env_factory: PipelineEnvFactory) -> None:
    # The clock of the pipeline and of the local server is pinned to Thanksgiving itself.
    env = pipeline_env_factory(now="2026-11-26T12:00:00-05:00")
    assert env.run("portfolio_sync_job").success
    result = env.run(
        "recommendations_job", {"ops": {"spx_option_chain": {"config": {"as_of": "2026-11-26"}}}}
    )
    assert result.success
    chain = env.warehouse().query("SELECT DISTINCT expiration_date, is_0dte FROM spx_option_chain")
    assert not chain["is_0dte"].any()  # Thanksgiving: no same-day series
    assert min(pd.Timestamp(d).date() for d in chain["expiration_date"]) == date(2026, 11, 27)
    recs = env.warehouse().query("SELECT DISTINCT as_of_date, expiration_date FROM contract_recommendations")
    assert {pd.Timestamp(d).date() for d in recs["as_of_date"]} == {date(2026, 11, 26)}
    assert all(pd.Timestamp(d).date() >= date(2026, 11, 27) for d in recs["expiration_date"])


def test_as_of_a_session_the_broker_does_not_serve_stops_the_run_naming_both_days(
    pipeline_env: PipelineEnv,
) -> None:
    """The local server is at 2026-11-24; asking for 2026-11-27 must not mix the two days."""
    assert pipeline_env.run("portfolio_sync_job").success
    result = pipeline_env.run(
        "recommendations_job", {"ops": {"spx_option_chain": {"config": {"as_of": "2026-11-27"}}}}
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error.message)
    assert "as_of 2026-11-27" in message and "serves the 2026-11-24 session" in message
    assert "tradier-emulator --now 2026-11-27T10:30:00-05:00" in message
    assert pipeline_env.count("spx_option_chain") == 0


def test_a_pinned_pipeline_clock_and_a_broker_on_another_day_never_mix(
    pipeline_env: PipelineEnv,
) -> None:
    assert pipeline_env.run("portfolio_sync_job").success
    # The broker's clock moved on to the next session; the pipeline's pinned clock did not.
    pipeline_env.emulator.clock = FixedClock("2026-11-25T10:30:00-05:00")
    result = pipeline_env.run("recommendations_job")
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error.message)
    assert "2026-11-24 session" in message and "serves the 2026-11-25 session" in message
    assert "SPX_NOW" in message


@both_backends
def test_recommendations_are_sized_per_account_and_keyed_by_risk_fingerprint(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    from decimal import Decimal

    from spx_pipeline.emulator import EmulatedAccount, demo_accounts

    small = EmulatedAccount(
        account_id="VA00000009",
        token="small-margin-token-0009",
        account_type="margin",
        total_equity=Decimal("12000"),
        cash=Decimal("12000"),
        option_buying_power=Decimal("6000"),
    )
    env = pipeline_env_factory(accounts=[*demo_accounts(), small])
    _sync_and_recommend(env)
    recs = env.warehouse().query("SELECT * FROM contract_recommendations ORDER BY setup_id, account_id")
    assert len(recs) == 8  # 2 setups x 4 accounts
    assert recs["risk_fingerprint"].nunique() == 4  # one risk context per account, never shared
    restricted = recs[recs["account_id"] == "VA00000009"]
    # A margin account under $25k is not PDT-qualified: its 0DTE is blocked, it gets the next expiry.
    assert (pd.to_datetime(restricted["expiration_date"]) > pd.to_datetime(restricted["as_of_date"])).all()
    assert restricted["blocked_reason"].str.contains("PDT").all()
    for account in ("VA00000001", "VA00000003"):  # margin and pdt accounts over $25k trade 0DTE
        rows = recs[recs["account_id"] == account]
        assert (pd.to_datetime(rows["expiration_date"]) == pd.to_datetime(rows["as_of_date"])).all()
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
        stops = legs[legs["leg"] == "runner_stop"]
        if rec.suggested_contracts >= 2:
            stop = stops.iloc[0]
            assert stop["side"] == "sell_to_close" and stop["order_type"] in {"stop", "stop_limit"}
            t1 = legs[legs["leg"] == "t1"].iloc[0]
            assert t1["quantity"] + stop["quantity"] == rec.suggested_contracts
            assert float(t1["price"]) > float(entry["price"])
        else:
            # The demo setups have no stop premium: a lone contract gets no breakeven stop, which
            # would trigger at once (the breakeven runner stop is for after a T1 fill).
            assert stops.empty
        assert (legs.loc[legs["leg"] != "entry", "preview_status"] == "not_requested").all()
    # Previews never place orders.
    assert all(pipeline_env.emulator.orders(a.account_id) == [] for a in pipeline_env.accounts)
    # Re-running replaces tickets by id: no duplicates.
    assert pipeline_env.run("order_tickets_job").success
    assert pipeline_env.count("order_tickets") == len(tickets)


@both_backends
def test_the_tickets_page_counts_this_runs_tickets_and_previews_and_the_rows_beyond_its_preview(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    """The store step reads its page back from the warehouse (the first rows only): the run's
    tickets, how many previewed ok, and how many rows its preview leaves out."""
    env = pipeline_env_factory(accounts=make_accounts(6))
    _sync_and_recommend(env)
    result = env.run("order_tickets_job")
    assert result.success
    own = "SELECT preview_status FROM order_tickets WHERE run_id = ?"
    tickets = env.warehouse().query(own, [result.run_id])
    [metadata] = [
        event.event_specific_data.materialization.metadata
        for event in result.all_events
        if event.is_step_materialization and event.asset_key == dg.AssetKey("order_tickets")
    ]
    ok = int(tickets["preview_status"].eq("ok").sum())
    assert len(tickets) > PREVIEW_ROWS and 0 < ok < len(tickets)
    assert metadata["rows_written"].value == len(tickets)
    assert metadata["previewed_ok"].value == ok
    preview = str(metadata["preview"].value)
    assert preview.endswith(f"_{len(tickets) - PREVIEW_ROWS} more rows_")
    assert sum(line.startswith("| ") for line in preview.splitlines()) == 1 + PREVIEW_ROWS  # header, rows


@both_backends
def test_with_previews_off_the_built_tickets_are_stored_as_built_and_no_copy_is_handed_on(
    pipeline_env: PipelineEnv,
) -> None:
    """The preview step hands on nothing when it previews nothing (the IO manager would pickle a
    copy of every ticket); the store step makes in the warehouse the very rows the build step's
    batch holds (its join in SQL equals its rows made in Python)."""
    _sync_and_recommend(pipeline_env)
    off = {"ops": {"order_tickets": {"ops": {"preview_order_payloads": {"config": {"preview": False}}}}}}
    result = pipeline_env.run("order_tickets_job", off)
    assert result.success
    assert result.output_for_node("order_tickets.preview_order_payloads") is None
    built = result.output_for_node("order_tickets.build_order_payloads").frame()
    assert len(built) > 0 and set(built["preview_status"]) == {"not_requested"}
    run_id = result.run_id
    stored = pipeline_env.warehouse().query(
        "SELECT * FROM order_tickets WHERE run_id = ? ORDER BY ticket_id", [run_id]
    )
    want = built.sort_values("ticket_id").reset_index(drop=True)
    assert stored[list(want.columns)].to_csv(index=False) == want.to_csv(index=False)


def test_setups_whose_ids_differ_only_in_punctuation_get_separate_tickets(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    setups = [
        {"setup_id": "bull_1", "direction": "bullish", "target_delta": 0.4},
        {"setup_id": "bull-1", "direction": "bullish", "target_delta": 0.3},
    ]
    env = pipeline_env_factory(setups=setups)
    _sync_and_recommend(env)
    assert env.run("order_tickets_job").success
    tickets = env.warehouse().query("SELECT setup_id, account_id, tag FROM order_tickets")
    assert set(tickets["setup_id"]) == {"bull_1", "bull-1"}
    assert tickets.groupby("tag")["setup_id"].nunique().max() == 1


def test_no_tickets_for_deactivated_accounts_or_accounts_whose_latest_sync_failed(
    pipeline_env: PipelineEnv,
) -> None:
    _sync_and_recommend(pipeline_env)
    pipeline_env.credential_store().deactivate("VA00000002")
    pipeline_env.emulator.set_faults(
        FaultConfig(failing_accounts=frozenset({"VA00000003"}), failing_status=401)
    )
    _sync_and_recommend(pipeline_env)
    latest = pipeline_env.warehouse().query(
        "SELECT * FROM contract_recommendations WHERE run_id = "
        "(SELECT run_id FROM contract_recommendations ORDER BY generated_at DESC LIMIT 1)"
    )
    assert "VA00000002" not in set(latest["account_id"])  # inactive: not recommended at all
    failed = latest[latest["account_id"] == "VA00000003"]
    assert failed["blocked"].all() and (failed["suggested_contracts"] == 0).all()
    assert failed["blocked_reason"].str.contains("latest sync failed").all()
    assert pipeline_env.run("order_tickets_job").success
    run_id = (
        pipeline_env.warehouse()
        .query("SELECT run_id FROM order_tickets ORDER BY created_at DESC LIMIT 1")["run_id"]
        .iloc[0]
    )
    accounts = set(
        pipeline_env.warehouse().query("SELECT account_id FROM order_tickets WHERE run_id = ?", [run_id])[
            "account_id"
        ]
    )
    assert accounts == {"VA00000001"}


def test_order_tickets_ignore_recommendations_of_another_trading_day(pipeline_env: PipelineEnv) -> None:
    _sync_and_recommend(pipeline_env)
    assert pipeline_env.count("contract_recommendations", "NOT blocked AND suggested_contracts > 0") > 0
    pipeline_env.set_now("2026-11-25T10:30:00-05:00")  # the next morning: yesterday's rows are stale
    assert pipeline_env.run("order_tickets_job").success
    assert pipeline_env.count("order_tickets") == 0


def test_with_a_stop_premium_the_t1_slice_is_an_oco_so_the_whole_position_is_stopped(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    from decimal import Decimal

    setups = [
        {
            "setup_id": "bull-stop",
            "direction": "bullish",
            "target_delta": 0.4,
            "stop_premium": Decimal("1.00"),
        }
    ]
    env = pipeline_env_factory(setups=setups)
    _sync_and_recommend(env)
    every_leg = {"legs": ["entry", "t1", "runner_stop"]}
    config = {"ops": {"order_tickets": {"ops": {"preview_order_payloads": {"config": every_leg}}}}}
    assert env.run("order_tickets_job", config).success
    tickets = env.warehouse().query("SELECT * FROM order_tickets")
    assert set(tickets["preview_status"]) == {"ok"}  # the OCO legs preview too (class=oco)
    assert all(env.emulator.orders(a.account_id) == [] for a in env.accounts)
    recs = env.warehouse().query("SELECT * FROM contract_recommendations WHERE suggested_contracts >= 2")
    assert len(recs) > 0
    for rec in recs.itertuples():
        legs = tickets[tickets["account_id"] == rec.account_id].set_index("leg")
        t1, stop = legs.loc["t1"], legs.loc["runner_stop"]
        assert t1["order_type"] == "oco" and float(t1["stop_price"]) == 1.0 and float(t1["price"]) > 1.0
        assert '"class": "oco"' in t1["payload_json"]
        assert stop["order_type"] == "stop" and float(stop["stop_price"]) == 1.0
        assert t1["quantity"] + stop["quantity"] == rec.suggested_contracts  # every contract is stopped
