"""Shard plans: every account once, a token's accounts together, balanced, few shards for few accounts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.broker.tradier.errors import TradierError
from spx_pipeline.transformations.shards import Shard, plan_shards, shard_failure_rows

accounts_by_token = st.dictionaries(
    st.from_regex(r"VA[0-9]{6}", fullmatch=True), st.sampled_from([f"fp{i}" for i in range(40)]), max_size=300
)


@settings(max_examples=200, deadline=None)
@given(token_of=accounts_by_token, shards=st.integers(1, 20), min_accounts=st.integers(1, 30))
def test_a_plan_holds_every_account_once_with_its_token_group(
    token_of: dict[str, str], shards: int, min_accounts: int
) -> None:
    plan = plan_shards(token_of, shards=shards, min_accounts=min_accounts)
    planned = [a for shard in plan for a in shard.account_ids]
    assert sorted(planned) == sorted(token_of)  # each account exactly once
    assert 1 <= len(plan) <= max(1, min(shards, len(token_of) // min_accounts))
    assert [s.key for s in plan] == [f"s{i:02d}" for i in range(len(plan))]
    shard_of = {a: s.key for s in plan for a in s.account_ids}
    for token in set(token_of.values()):  # a token's accounts never split over shards
        assert len({shard_of[a] for a, t in token_of.items() if t == token}) == 1
    if token_of:
        largest_group = max(list(token_of.values()).count(t) for t in set(token_of.values()))
        sizes = [len(s.account_ids) for s in plan]
        assert max(sizes) - min(sizes) <= largest_group  # balanced up to one token group
    assert plan == plan_shards(dict(reversed(token_of.items())), shards=shards, min_accounts=min_accounts)


def test_ten_thousand_accounts_in_sixteen_even_shards() -> None:
    plan = plan_shards({f"VA{i:08d}": f"fp{i}" for i in range(10_000)}, shards=16, min_accounts=100)
    assert [len(s.account_ids) for s in plan] == [625] * 16


def test_few_accounts_get_few_shards_and_none_gets_one_empty_shard() -> None:
    assert len(plan_shards({f"A{i}": f"t{i}" for i in range(250)}, shards=16, min_accounts=100)) == 2
    assert len(plan_shards({f"A{i}": f"t{i}" for i in range(99)}, shards=16, min_accounts=100)) == 1
    assert plan_shards({}, shards=16) == [Shard("s00", ())]
    with pytest.raises(ValueError, match="at least 1"):
        plan_shards({"A": "t"}, shards=0)


def test_a_failed_shard_is_one_row_per_account_and_stage_naming_the_shard() -> None:
    error = TradierError("broker unreachable", status=503)
    at = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    rows = shard_failure_rows(
        Shard("s03", ("VA1", "VA2")), ("positions", "orders"), error=error, message="broker unreachable",
        run_id="r1", captured_at=at,
    )  # fmt: skip
    assert sorted(zip(rows["account_id"], rows["stage"], strict=True)) == [
        ("VA1", "orders"), ("VA1", "positions"), ("VA2", "orders"), ("VA2", "positions"),
    ]  # fmt: skip
    assert set(rows["error_class"]) == {"TradierError"}
    assert set(rows["http_status"]) == {503}
    assert set(rows["message"]) == {"shard s03 failed: broker unreachable"}
