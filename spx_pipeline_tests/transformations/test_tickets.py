from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

from spx_pipeline.domain.setups import Setup
from spx_pipeline.transformations.tickets import build_tickets, ticket_id, ticket_tag


def test_tags_are_tradier_safe_unique_per_recommendation_and_stable() -> None:
    import re

    day = date(2026, 11, 24)
    # Ids that only differ in '_', '.' or '-' (or where they split) must not share a tag or id.
    keys = [("bull_1", "VA1"), ("bull-1", "VA1"), ("bull.1", "VA1"), ("bull", "1-VA1"), ("bull-1-VA1", "")]
    tags = {ticket_tag(day, setup, account, "f" * 16) for setup, account in keys}
    assert len(tags) == len(keys)
    for tag in tags:
        assert re.fullmatch(r"[A-Za-z0-9-]{1,255}", tag)
        assert tag.startswith("spx-20261124-")
    tag = ticket_tag(day, "bull_1", "VA1", "f" * 16)
    assert tag == ticket_tag(date(2026, 11, 24), "bull_1", "VA1", "f" * 16)  # stable across calls
    assert ticket_id(tag, "entry") == ticket_id(tag, "entry") != ticket_id(tag, "t1")


def _rec(**overrides: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "as_of_date": date(2026, 11, 24),
        "setup_id": "s1",
        "account_id": "A1",
        "risk_fingerprint": "f" * 16,
        "symbol": "SPXW261124C06000000",
        "suggested_contracts": 3,
        "limit_price": 2.35,
    }
    rec.update(overrides)
    return rec


def test_build_tickets_emits_three_legs_and_skips_bad_recommendations_with_a_reason() -> None:
    setups = {"s1": Setup("s1", "bullish", stop_premium=Decimal("1.20"))}
    recs = pd.DataFrame([_rec(), _rec(account_id="A2", limit_price=2.37), _rec(setup_id="gone")])
    built = build_tickets(recs, setups, run_id="r", created_at=datetime(2026, 11, 24, tzinfo=UTC))
    assert list(built.tickets["leg"]) == ["entry", "t1", "runner_stop"]
    entry, t1, stop = built.tickets.to_dict("records")
    assert (entry["side"], entry["order_type"], entry["quantity"], entry["price"]) == (
        "buy_to_open",
        "limit",
        3,
        2.35,
    )
    assert (t1["side"], t1["quantity"]) == ("sell_to_close", 1)
    assert (stop["order_type"], stop["quantity"], stop["stop_price"]) == ("stop", 2, 1.2)
    assert entry["underlying_symbol"] == "SPX"
    reasons = {(s, a): why for s, a, why in built.skipped}
    assert "limit_price" in reasons[("s1", "A2")]  # 2.37 is off the $0.05 grid
    assert "no longer active" in reasons[("gone", "A1")]
