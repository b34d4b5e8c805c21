"""The rules the asset checks apply, on small frames (the checks' runs are in defs/test_checks.py)."""

import json
from datetime import date

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.tradier.order_requests import read_order_form
from spx_pipeline.transformations.quality import (
    balances_accounted_for,
    chain_quality,
    failures_have_reasons,
    invalid_payloads,
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


def _row_keys(frame: pd.DataFrame) -> set[str]:
    """The recommendation keys joined row by row: the reference the column-wise join matches."""
    day = pd.to_datetime(frame["as_of_date"]).dt.date.astype(str)
    rest = frame[["setup_id", "account_id", "risk_fingerprint"]].astype(str)
    return set((day + "/" + rest.agg("/".join, axis=1)).tolist())


_KEY_ROWS = st.lists(
    st.tuples(
        st.sampled_from([pd.Timestamp(DAY), pd.Timestamp("2026-11-25 15:30"), DAY]),
        st.sampled_from(["s", "s/2", "0DTE"]),
        st.sampled_from(["A", "B", "VA0001"]),
        st.one_of(st.sampled_from(["f", ""]), st.integers(0, 3)),
        st.sampled_from(["entry", "t1", "runner_stop"]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(wanted=_KEY_ROWS, tickets=_KEY_ROWS)
def test_ticket_coverage_joins_keys_as_the_row_by_row_reference(wanted: list, tickets: list) -> None:
    columns = ["as_of_date", "setup_id", "account_id", "risk_fingerprint", "leg"]
    tradable, issued = pd.DataFrame(wanted, columns=columns), pd.DataFrame(tickets, columns=columns)
    entries = issued[issued["leg"] == "entry"]
    want = _row_keys(tradable) if len(tradable) else set()
    have = _row_keys(entries) if len(entries) else set()
    verdict = tradable_ticketed(tradable, issued)
    assert verdict.passed is not (want - have)
    assert verdict.details["tradable_recommendations"] == len(want)
    assert verdict.details["ticketed"] == len(want & have)
    missing = sorted(want - have)
    shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
    assert verdict.details["not_ticketed"] == (shown or "none")


def _read_each(tickets: pd.DataFrame) -> dict[str, str]:
    """Every payload read whole, one by one: the reference the once-per-shape check matches."""
    problems: dict[str, str] = {}
    for ticket_id, payload in zip(tickets["ticket_id"], tickets["payload_json"], strict=True):
        try:
            read_order_form(json.loads(payload))
        except (ValueError, TypeError, KeyError) as exc:
            problems[str(ticket_id)] = str(exc)
    return problems


_FORM = {
    "class": "oco", "duration": "day", "tag": "spx-20261124-0123456789abcdef-t1",
    "symbol[0]": "SPX", "option_symbol[0]": "SPXW261124C06000000", "side[0]": "sell_to_close",
    "quantity[0]": "2", "type[0]": "limit", "price[0]": "6.60",
    "symbol[1]": "SPX", "option_symbol[1]": "SPXW261124C06000000", "side[1]": "sell_to_close",
    "quantity[1]": "2", "type[1]": "stop", "stop[1]": "2.20",
}  # fmt: skip
_CHANGES = st.sampled_from(
    [
        {}, {"tag": "spx-20261124-fedcba9876543210-t1"}, {"tag": "bad tag"}, {"tag": ""}, {"tag": 7},
        {"tag": " spx-1 "}, {"price[0]": "6.63"}, {"duration": "forever", "tag": "bad tag"},
        {"class": "option"}, {"quantity[1]": "x"}, {"side[0]": "buy", "tag": "x" * 300}, {"stop[1]": None},
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(changes=st.lists(_CHANGES, max_size=12), odd=st.sampled_from(["[]", "{}", '"x"', "{bad json"]))
def test_the_payload_check_reads_each_shape_once_and_says_what_reading_each_says(
    changes: list[dict[str, object]], odd: str
) -> None:
    payloads = [json.dumps({k: v for k, v in {**_FORM, **c}.items() if v is not None}) for c in changes]
    tickets = pd.DataFrame(
        {"ticket_id": [f"t{i}" for i in range(len(payloads) + 1)], "payload_json": [*payloads, odd]}
    )
    try:
        expected: dict[str, str] | str = _read_each(tickets)
    except Exception as exc:
        expected = type(exc).__name__
    try:
        got: dict[str, str] | str = invalid_payloads(tickets)
    except Exception as exc:
        got = type(exc).__name__
    assert got == expected
