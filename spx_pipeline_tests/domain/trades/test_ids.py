"""Trade ids and order tags: deterministic, Tradier-safe, unique, and readable back to their trade."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.trades import Leg, base_of, order_tag, ticket_id, trade_id, trade_tag
from spx_pipeline.domain.tradier.order_rules import check_tag

SAFE = re.compile(r"^[A-Za-z0-9-]{1,255}$")
DAY = date(2026, 11, 24)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(account=names, setup=names, leg=st.sampled_from(list(Leg)), seq=st.integers(1, 10_000))
def test_every_tag_is_tradier_safe_and_reads_back_to_its_trade(
    account: str, setup: str, leg: Leg, seq: int
) -> None:
    base = trade_tag(DAY, account, setup)
    tag = order_tag(base, leg, seq)
    assert SAFE.match(tag) and check_tag(tag) == tag
    assert base_of(tag) == base
    assert SAFE.match(trade_id(DAY, account, setup))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("VA-1", "x"), ("VA", "1-x")),
        (("VA_1", "x"), ("VA-1", "x")),
        (("VA.1", "x"), ("VA1", "x")),
        (("a|b", "c"), ("a", "b|c")),
        (("VA1", "setup a"), ("VA1", "setup-a")),
    ],
)
def test_ids_that_differ_only_in_punctuation_or_split_name_different_trades(a, b) -> None:
    assert trade_id(DAY, *a) != trade_id(DAY, *b)
    assert trade_tag(DAY, *a) != trade_tag(DAY, *b)


def test_the_same_account_setup_and_session_always_name_the_same_trade() -> None:
    assert trade_id(DAY, "VA1", "s") == trade_id(DAY, "VA1", "s")
    assert trade_id(DAY, "VA1", "s") != trade_id(date(2026, 11, 25), "VA1", "s")
    assert trade_id(DAY, "VA1", "s").startswith("T20261124-")
    assert trade_tag(DAY, "VA1", "s").startswith("spx-20261124-")


def test_order_tags_per_leg_and_sequence_never_collide() -> None:
    base = trade_tag(DAY, "VA1", "s")
    tags = [order_tag(base, leg, seq) for leg in Leg for seq in range(1, 200)]
    assert len(set(tags)) == len(tags)
    assert order_tag(base, Leg.ENTRY, 1) == f"{base}-entry"
    assert order_tag(base, Leg.T1, 2) == f"{base}-t1-2"
    assert order_tag(base, Leg.RUNNER_STOP, 3) == f"{base}-stop-3"
    with pytest.raises(ValueError, match="seq must be >= 1, got 0"):
        order_tag(base, Leg.T1, 0)


@pytest.mark.parametrize(
    "tag",
    ["", "spx", "bot-1", "spx-20261124-abc", "spx-20261124-abc-exit", "spx-20261124-abc-t1x", "x-entry"],
)
def test_tags_that_are_not_ours_have_no_base(tag: str) -> None:
    assert base_of(tag) is None


def test_ticket_ids_are_stable_per_tag_and_leg() -> None:
    assert ticket_id("spx-1-a", "entry") == ticket_id("spx-1-a", "entry")
    assert ticket_id("spx-1-a", "entry") != ticket_id("spx-1-a", "t1")
    assert len(ticket_id("spx-1-a", "entry")) == 20


@settings(max_examples=300, deadline=None)
@given(account=names, setup=names, day=st.dates())
def test_ids_hash_the_json_of_session_account_and_setup(account: str, setup: str, day: date) -> None:
    """The names stored trades carry: a change of spelling would name every trade anew."""
    digest = hashlib.sha256(json.dumps([day.isoformat(), account, setup]).encode()).hexdigest()
    assert trade_id(day, account, setup) == f"T{day:%Y%m%d}-{digest[:12]}"
    assert trade_tag(day, account, setup) == f"spx-{day:%Y%m%d}-{digest[:16]}"


def test_names_are_the_ones_stored_trades_carry() -> None:
    assert trade_id(DAY, "VA1", "s") == "T20261124-20a63b755385"
    assert trade_tag(DAY, "VA1", "s") == "spx-20261124-20a63b755385c8a0"


def test_equal_instants_in_two_zones_name_their_own_days() -> None:
    """Aware datetimes of one instant are equal (and hash alike) but spell two days: only a plain
    date's texts are looked up, so no session takes the day an earlier, equal one spelled."""
    utc = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    new_york = datetime(2026, 11, 24, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert utc == new_york
    for session, account in ((utc, "A1"), (new_york, "A2"), (pd.Timestamp(utc), "A3"),
                             (pd.Timestamp(new_york), "A4")):  # fmt: skip
        digest = hashlib.sha256(json.dumps([session.isoformat(), account, "S"]).encode()).hexdigest()
        assert trade_id(session, account, "S") == f"T{session:%Y%m%d}-{digest[:12]}"
        assert trade_tag(session, account, "S") == f"spx-{session:%Y%m%d}-{digest[:16]}"
