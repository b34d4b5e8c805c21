"""Recommendations from the warehouse: only a chain of the session, bad setups kept blocked, budgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.contract_selection import SelectionConfig
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.trades import entry_intent
from spx_pipeline.domain.zero_dte import ZeroDtePolicy
from spx_pipeline.emulator.sample_data import synthetic_spx_chain
from spx_pipeline.storage.app import trades as trades_module
from spx_pipeline.storage.app.claims import claim_entry
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.setups import SetupStore
from spx_pipeline.storage.app.tables import spx_setup_instances
from spx_pipeline.storage.app.trades import TradeStore
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.chain import chain_rows
from spx_pipeline.transformations.recommendations import (
    BudgetBreachError,
    StaleChainError,
    chain_for_session,
    check_budgets,
    domain_setups,
    latest_chain,
    recommendation_rows,
    session_trades,
)
from spx_pipeline_tests.domain import strategies
from spx_pipeline_tests.fixtures.trades import SESSION, T0, make_plan

OLD_DAY = date(2025, 12, 19)
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def _store_chain(warehouse: Warehouse, day: date, *, run_id: str, captured_at: datetime) -> None:
    frame = synthetic_spx_chain(day, strikes_each_side=6, now=captured_at)
    rows = chain_rows(frame, trading_day=day, run_id=run_id, captured_at=captured_at)
    warehouse.replace_rows("spx_option_chain", rows, key_columns=["run_id", "symbol"])


def test_a_chain_of_another_session_is_refused_naming_its_date(warehouse: Warehouse) -> None:
    """Only a 2025-12-19 chain stored: its SPXW251219 contracts must not be recommended today."""
    _store_chain(warehouse, OLD_DAY, run_id="old", captured_at=datetime(2025, 12, 19, 15, tzinfo=UTC))
    stale = latest_chain(warehouse)
    assert stale is not None and stale.trading_day == OLD_DAY  # what the pipeline used to size on
    with pytest.raises(StaleChainError) as info:
        chain_for_session(warehouse, TODAY)
    message = str(info.value)
    assert "is for 2025-12-19 (run old, captured 2025-12-19 15:00 UTC)" in message
    assert "not the 2026-11-24 session" in message
    _store_chain(warehouse, TODAY, run_id="new", captured_at=NOW)
    chain = chain_for_session(warehouse, TODAY)
    assert chain is not None and chain.run_id == "new"


def test_a_holiday_as_of_chain_serves_the_next_session(warehouse: Warehouse) -> None:
    thanksgiving = date(2026, 11, 26)
    _store_chain(warehouse, thanksgiving, run_id="h", captured_at=datetime(2026, 11, 26, 17, tzinfo=UTC))
    chain = chain_for_session(warehouse, date(2026, 11, 27))
    assert chain is not None and chain.session == date(2026, 11, 27)


@dataclass
class _Record:
    """A stored setup as ``SetupStore`` returns it (here: one saved before validation existed)."""

    id: str
    direction: str
    target_delta: float
    stop_premium: Decimal | None = None

    def to_domain(self) -> Setup:
        return Setup(self.id, self.direction, target_delta=self.target_delta, stop_premium=self.stop_premium)  # type: ignore[arg-type]


def test_an_invalid_stored_setup_is_blocked_for_every_account_and_the_rest_are_sized(
    warehouse: Warehouse,
) -> None:
    _store_chain(warehouse, TODAY, run_id="r", captured_at=NOW)
    chain = chain_for_session(warehouse, TODAY)
    assert chain is not None
    records = [_Record("good", "bullish", 0.4), _Record("delta-one", "bullish", 1.0)]
    setups, invalid = domain_setups(records)
    assert [s.setup_id for s in setups] == ["good"]
    assert [(b.setup_id, b.reason) for b in invalid] == [
        ("delta-one", "target_delta must be in (0, 1), got 1.0")
    ]
    contexts = {
        "VA1": RiskContext(max_risk_dollars=2500, option_buying_power=50_000, account_type="margin"),
        "VA2": RiskContext(max_risk_dollars=2500, cash_available=9000, account_type="cash"),
    }
    rows = recommendation_rows(
        chain,
        setups,
        contexts,
        generated_at=NOW,
        policy=ZeroDtePolicy(),
        config=SelectionConfig(),
        now=NOW,
        invalid_setups=invalid,
    )
    assert len(rows) == 4
    bad = rows[rows["setup_id"] == "delta-one"]
    assert bad["blocked"].all() and (bad["binding_constraint"] == "invalid_setup").all()
    assert (
        bad["blocked_reason"].str.contains("Setup delta-one is invalid and was not sized: target_delta").all()
    )
    assert set(bad["risk_fingerprint"]) == {c.fingerprint() for c in contexts.values()}
    good = rows[rows["setup_id"] == "good"]
    assert not good["blocked"].any() and (good["suggested_contracts"] >= 1).all()


def _row(
    account: str, cost: str, *, blocked: bool = False, contracts: int = 1, reason: str | None = None
) -> dict:
    return {
        "account_id": account,
        "as_of_date": TODAY,
        "expiration_date": TODAY,
        "suggested_contracts": contracts,
        "suggested_cost": Decimal(cost),
        "blocked": blocked,
        "blocked_reason": reason,
    }


def test_the_last_guard_refuses_rows_that_overspend_or_are_neither_tradable_nor_blocked() -> None:
    ctx = {"A": RiskContext(cash_available=250, day_trade_buying_power=200, account_type="cash")}
    check_budgets(
        pd.DataFrame([_row("A", "150"), _row("A", "900", blocked=True, contracts=0, reason="r")]), ctx
    )
    with pytest.raises(BudgetBreachError, match=r"account A would spend 300 of buying power 250"):
        check_budgets(pd.DataFrame([_row("A", "150"), _row("A", "150")]), ctx)
    with pytest.raises(BudgetBreachError, match="day-trade buying power 200"):
        check_budgets(pd.DataFrame([_row("A", "230")]), ctx)
    with pytest.raises(BudgetBreachError, match="an unblocked row has no contracts"):
        check_budgets(pd.DataFrame([_row("A", "0", contracts=0)]), ctx)
    with pytest.raises(BudgetBreachError, match="a blocked row has no reason"):
        check_budgets(pd.DataFrame([_row("A", "0", blocked=True, contracts=0)]), ctx)


def test_a_stored_setup_whose_runner_offset_reaches_its_stop_is_skipped_and_spends_nothing(
    warehouse: Warehouse, sqlite_app_db: AppDatabase
) -> None:
    """Stored before the check existed (or edited by hand): blocked with the reason, never sized."""
    store = SetupStore(sqlite_app_db)
    store.add(setup_id="doomed", direction="bullish", stop_premium=Decimal("0.05"), priority=0)
    store.add(setup_id="fine", direction="bullish", priority=1)
    with sqlite_app_db.engine.begin() as conn:
        conn.execute(
            spx_setup_instances.update()
            .where(spx_setup_instances.c.id == "doomed")
            .values(runner_stop_limit_offset=Decimal("0.10"))
        )
    setups, invalid = domain_setups(store.active())
    assert [s.setup_id for s in setups] == ["fine"]
    [bad] = invalid
    assert bad.setup_id == "doomed" and "runner_stop_limit_offset 0.10" in bad.reason
    _store_chain(warehouse, TODAY, run_id="r", captured_at=NOW)
    chain = chain_for_session(warehouse, TODAY)
    assert chain is not None
    contexts = {"VA1": RiskContext(max_risk_dollars=2500, option_buying_power=50_000, account_type="margin")}
    rows = recommendation_rows(
        chain, setups, contexts, generated_at=NOW, policy=ZeroDtePolicy(), config=SelectionConfig(),
        now=NOW, invalid_setups=invalid,
    ).set_index("setup_id")  # fmt: skip
    assert rows.loc["doomed", "blocked"] and rows.loc["doomed", "suggested_contracts"] == 0
    assert "stop_premium 0.05" in rows.loc["doomed", "blocked_reason"]
    assert rows.loc["fine", "suggested_contracts"] > 0


def _scalar_check_budgets(rows: pd.DataFrame, contexts: dict[str, RiskContext]) -> None:
    """The guard as it was, one Decimal sum per account group: the reference the set-based one matches."""
    if rows.empty:
        return
    problems: list[str] = []
    tradable = ~rows["blocked"].astype(bool)
    if (tradable & ~(rows["suggested_contracts"] >= 1)).any():
        problems.append("an unblocked row has no contracts")
    if (~tradable & rows["blocked_reason"].isna()).any():
        problems.append("a blocked row has no reason")
    for account_id, group in rows[tradable].groupby("account_id"):
        ctx = contexts.get(str(account_id))
        if ctx is None:
            continue
        spent = sum((Decimal(str(c)) for c in group["suggested_cost"]), Decimal(0))
        bp = ctx.buying_power()
        if bp is not None and spent > bp:
            problems.append(f"account {account_id} would spend {spent} of buying power {bp}")
        same_day = group[pd.to_datetime(group["expiration_date"]).dt.date == group["as_of_date"].iloc[0]]
        day_spent = sum((Decimal(str(c)) for c in same_day["suggested_cost"]), Decimal(0))
        dtbp = ctx.day_trade_buying_power
        if dtbp is not None and day_spent > dtbp:
            problems.append(f"account {account_id} would spend {day_spent} of day-trade buying power {dtbp}")
    if problems:
        raise BudgetBreachError("Recommendations refused, nothing written: " + "; ".join(problems))


def _verdict(check: Callable[[], None]) -> str | None:
    try:
        check()
    except BudgetBreachError as exc:
        return str(exc)
    return None


_budget_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C-1", "unknown"]),
        st.decimals("0", "400", places=4),
        st.booleans(),
        st.integers(0, 3),
        st.sampled_from([TODAY, date(2026, 11, 25)]),
        st.sampled_from([None, "r"]),
    ),
    max_size=12,
)


_AT_THE_LIMIT = RiskContext(cash_available=250, day_trade_buying_power=100, account_type="cash")


@settings(max_examples=200, deadline=None)
@example(
    rows=[("A", Decimal("250"), False, 1, date(2026, 11, 25), None)],
    a=_AT_THE_LIMIT,
    b=_AT_THE_LIMIT,
    c=_AT_THE_LIMIT,
)
@example(
    rows=[("A", Decimal("100.0000"), False, 1, TODAY, None)],
    a=_AT_THE_LIMIT,
    b=_AT_THE_LIMIT,
    c=_AT_THE_LIMIT,
)
@example(
    rows=[("A", Decimal("100.0001"), False, 1, TODAY, None)],
    a=_AT_THE_LIMIT,
    b=_AT_THE_LIMIT,
    c=_AT_THE_LIMIT,
)
@given(
    rows=_budget_rows,
    a=strategies.contexts,
    b=strategies.contexts,
    c=strategies.contexts,
)
def test_the_set_based_budget_guard_says_exactly_what_the_per_account_loop_said(
    rows: list[tuple[str, Decimal, bool, int, date, str | None]],
    a: RiskContext,
    b: RiskContext,
    c: RiskContext,
) -> None:
    frame = pd.DataFrame(
        [
            {
                "account_id": account,
                "as_of_date": TODAY,
                "expiration_date": expiry,
                "suggested_contracts": contracts,
                "suggested_cost": cost,
                "blocked": blocked,
                "blocked_reason": reason,
            }
            for account, cost, blocked, contracts, expiry, reason in rows
        ],
        columns=list(_row("A", "0")),
    )
    contexts = {"A": a, "B": b, "C-1": c}
    expected = _verdict(lambda: _scalar_check_budgets(frame, contexts))
    assert _verdict(lambda: check_budgets(frame, contexts)) == expected


def test_session_trades_reads_the_sent_trades_only(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned trades commit nothing, so they are left out by the query: a re-run's planned trades
    (every trade of the session, most of the day) are not read whole only to be dropped."""
    store = TradeStore(app_db)
    born = [o.trade for o in store.plan([(make_plan(setup_id=s), None) for s in "abc"], run_id="r-1", now=T0)]
    sent = born[1]
    assert claim_entry(app_db, sent, entry_intent(sent.plan), session=SESSION, run_id="p-1", now=T0).ok
    read: list[str] = []
    real = trades_module.trade_from_row
    monkeypatch.setattr(
        trades_module, "trade_from_row", lambda row: read.append(row["trade_id"]) or real(row)
    )
    traded = session_trades(store, SESSION, pd.DataFrame())
    assert read == [sent.trade_id]
    assert list(traded.already) == [(sent.account_id, sent.plan.setup_id)]
    assert "state entry_working" in traded.already[(sent.account_id, sent.plan.setup_id)]
