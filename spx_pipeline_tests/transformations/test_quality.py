"""The rules the asset checks apply, on small frames (the checks' runs are in defs/test_checks.py)."""

from datetime import date

import pandas as pd

from spx_pipeline.transformations.quality import (
    balances_accounted_for,
    chain_quality,
    failures_have_reasons,
    median_spread,
    tradable_ticketed,
)

DAY = date(2026, 11, 24)


def _failures(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "error_class", "message"]).assign(stage="balances")


def test_balances_pass_when_each_requested_account_synced_or_failed_with_a_reason() -> None:
    synced = pd.DataFrame({"account_id": ["A", "B"]})
    verdict = balances_accounted_for(3, synced, _failures(("C", "TradierAuthError", "401 Unauthorized")))
    assert verdict.passed
    assert verdict.details["accounts_unaccounted_for"] == 0


def test_balances_fail_on_a_lost_account_and_on_a_failure_without_reason() -> None:
    synced = pd.DataFrame({"account_id": ["A"]})
    lost = balances_accounted_for(2, synced, _failures())
    assert not lost.passed and lost.details["accounts_unaccounted_for"] == 1
    mute = balances_accounted_for(2, synced, _failures(("B", "TradierError", "")))
    assert not mute.passed and mute.details["failed_without_reason"] == "B"
    assert failures_have_reasons(_failures(("B", "TradierError", "")), ["balances"]).passed is False
    assert failures_have_reasons(_failures(), ["balances"]).passed


def _chain(**overrides: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "symbol": ["S1", "S2", "S3"],
            "trading_day": [DAY] * 3,
            "bid": [1.0, 2.0, 0.0],
            "ask": [1.1, 2.2, 0.05],
            **{greek: [0.5, 0.4, None] for greek in ("delta", "gamma", "theta", "vega", "mid_iv")},
        }
    )
    return frame.assign(**overrides)


def test_chain_passes_with_todays_session_greeks_on_two_sided_quotes_and_nothing_crossed() -> None:
    verdict = chain_quality(_chain(), DAY)
    assert verdict.passed  # S3 has no bid: no greeks are expected of it
    assert verdict.details["two_sided_quotes"] == 2
    assert median_spread(_chain()) == 0.15


def test_chain_fails_on_another_session_a_crossed_quote_or_missing_greeks() -> None:
    assert not chain_quality(_chain(), date(2026, 11, 25)).passed
    assert chain_quality(_chain(bid=[1.2, 2.0, 0.0]), DAY).details["crossed_examples"] == "S1"
    assert not chain_quality(_chain(delta=[None, 0.4, None]), DAY).passed
    assert not chain_quality(_chain().iloc[0:0], DAY).passed
    assert median_spread(_chain().iloc[0:0]) is None


def test_every_tradable_recommendation_needs_an_entry_ticket() -> None:
    key = {
        "as_of_date": [pd.Timestamp(DAY)],
        "setup_id": ["s"],
        "account_id": ["A"],
        "risk_fingerprint": ["f"],
    }
    tradable = pd.DataFrame(key)
    entry = pd.DataFrame({**key, "leg": ["entry"]})
    assert tradable_ticketed(tradable, entry).passed
    verdict = tradable_ticketed(tradable, entry.assign(leg="t1"))
    assert not verdict.passed
    assert verdict.details["not_ticketed"] == "2026-11-24/s/A/f"
