"""Previews of the chosen legs: one ask for every account at once, each answer recorded with its ticket."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from spx_pipeline.broker.tradier import OrderPreview
from spx_pipeline.broker.tradier.errors import TradierAuthError, TradierOrderRejectedError
from spx_pipeline.domain.trades import Trade, TradeState
from spx_pipeline.transformations.ticket_rows import ticket_rows
from spx_pipeline.transformations.tickets import preview_tickets
from spx_pipeline_tests.fixtures.trades import make_plan

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
PRICED = OrderPreview.from_json(
    {"order": {"status": "ok", "result": True, "commission": 0.35, "cost": 235.35, "fees": 0.05}}
)


def _tickets(accounts: list[str]) -> Any:
    trades = [
        Trade(
            plan=make_plan(account_id=a), state=TradeState.PLANNED, version=1, created_at=NOW, updated_at=NOW
        )
        for a in accounts
    ]
    return ticket_rows(trades, run_id="run-1", created_at=NOW)


def test_each_accounts_answers_land_on_its_own_tickets() -> None:
    """Priced, refused, an account its broker turned away, one with no credential: each ticket of
    the chosen legs says which, the other legs stay not requested, and ``ask`` is called once."""
    tickets = _tickets(["VA1", "VA2", "VA3", "VA4"])
    asked: list[dict[str, list[dict[str, Any]]]] = []

    def ask(payloads: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
        asked.append(dict(payloads))
        return {
            "VA1": [PRICED, TradierOrderRejectedError("not enough buying power")],
            "VA2": [TradierOrderRejectedError("market closed"), PRICED],
            "VA3": TradierAuthError("token refused", status=401),
        }  # VA4: no active credential, so nothing asked for it

    out = preview_tickets(tickets, ask, legs=["entry", "t1"])
    [payloads] = asked
    assert sorted(payloads) == ["VA1", "VA2", "VA3", "VA4"]
    for account, sent in payloads.items():
        mine = tickets[(tickets["account_id"] == account) & tickets["leg"].isin(["entry", "t1"])]
        assert [p["tag"] for p in sent] == mine["tag"].tolist()  # the payloads, in ticket order
    by = {(r.account_id, r.leg): r for r in out.itertuples()}
    assert (by["VA1", "entry"].preview_status, by["VA1", "entry"].preview_cost) == ("ok", 235.35)
    assert by["VA1", "entry"].preview_commission == 0.35 and by["VA1", "entry"].preview_fees == 0.05
    assert by["VA1", "t1"].preview_status == "rejected"
    assert "not enough buying power" in by["VA1", "t1"].preview_message
    assert (by["VA2", "entry"].preview_status, by["VA2", "t1"].preview_status) == ("rejected", "ok")
    assert {by["VA3", leg].preview_status for leg in ("entry", "t1")} == {"error"}
    assert "token refused" in by["VA3", "entry"].preview_message
    assert by["VA4", "entry"].preview_message == "no active credential for account"
    assert {by[a, "runner_stop"].preview_status for a in ("VA1", "VA2", "VA3", "VA4")} == {"not_requested"}
    assert out.drop(columns=[c for c in out.columns if c.startswith("preview_")]).equals(
        tickets.drop(columns=[c for c in tickets.columns if c.startswith("preview_")])
    )


def test_nothing_chosen_asks_nothing() -> None:
    def ask(payloads: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
        raise AssertionError(f"asked for {payloads}")

    tickets = _tickets(["VA1"])
    out = preview_tickets(tickets, ask, legs=[])
    assert set(out["preview_status"]) == {"not_requested"}
