from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spx_pipeline.domain.execution import (
    GuardrailPolicy,
    SlippageSample,
    guardrail_for,
    guardrails,
    quantile,
    slippage_stats,
)
from spx_pipeline.domain.execution.guardrails import in_window

DAY = date(2026, 11, 2)


def samples(ticks: list[str], setup: str = "breakout", account: str = "VA1") -> list[SlippageSample]:
    return [
        SlippageSample(setup, account, DAY + timedelta(days=i), Decimal(t), Decimal(t) * 5)
        for i, t in enumerate(ticks)
    ]


@given(st.lists(st.integers(-500, 500), min_size=1, max_size=40), st.sampled_from(["0", "0.5", "0.9", "1"]))
def test_quantile_matches_numpy_linear(values, q):
    exact = quantile([Decimal(v) / 10 for v in values], Decimal(q))
    assert float(exact) == pytest.approx(np.quantile(np.array(values) / 10, float(q)), abs=1e-9)


def test_stats_per_setup_and_per_account_with_enough_fills():
    policy = GuardrailPolicy(min_fills=3)
    data = samples(["1", "2", "3"]) + samples(["0"], account="VA2")
    stats = {(s.setup_id, s.account_id): s for s in slippage_stats(data, policy)}
    assert set(stats) == {("breakout", ""), ("breakout", "VA1")}  # VA2 has one fill only
    assert stats[("breakout", "VA1")].median_ticks == Decimal(2)
    assert stats[("breakout", "")].fills == 4


def test_a_setup_above_the_p90_limit_is_blocked_with_the_figure():
    policy = GuardrailPolicy(min_fills=5, max_p90_ticks=Decimal(2))
    rails = guardrails(slippage_stats(samples(["1", "1", "2", "3", "6"]), policy), policy)
    rail = guardrail_for(rails, "breakout", "VA9")
    assert rail is not None and rail.account_id == ""
    assert rail.blocked_reason is not None
    assert "4.8 ticks" in rail.blocked_reason and "limit of 2 ticks" in rail.blocked_reason
    assert rail.expected_slippage_per_contract == Decimal(10)  # median 2 ticks × $5


def test_favourable_slippage_never_buys_extra_size():
    policy = GuardrailPolicy(min_fills=2)
    (rail, _) = guardrails(slippage_stats(samples(["-2", "-1"]), policy), policy)
    assert rail.expected_slippage_per_contract == 0 and rail.blocked_reason is None


def test_with_too_few_fills_nothing_changes():
    policy = GuardrailPolicy(min_fills=5)
    assert guardrails(slippage_stats(samples(["9", "9"]), policy), policy) == []
    assert guardrail_for([], "breakout", "VA1") is None


def test_the_account_own_guardrail_wins_over_the_setup_wide_one():
    policy = GuardrailPolicy(min_fills=2)
    rails = guardrails(
        slippage_stats(samples(["1", "1"]) + samples(["5", "5"], account="VA2"), policy), policy
    )
    rail = guardrail_for(rails, "breakout", "VA2")
    assert rail is not None and rail.account_id == "VA2"


def test_window_keeps_the_last_sessions_only():
    data = samples(["1", "2", "3", "4"])
    sessions = [s.session for s in data]
    kept = in_window(data, sessions, GuardrailPolicy(window_sessions=2))
    assert [s.ticks for s in kept] == [Decimal(3), Decimal(4)]


@pytest.mark.parametrize(
    ("field", "value"), [("window_sessions", 0), ("min_fills", -1), ("max_p90_ticks", Decimal(-1))]
)
def test_bad_policy_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        GuardrailPolicy(**{field: value})
