"""From the local server's fills to fidelity and reconciliation rows, over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import AccountCredential, TradierClient, fetch_each_account
from spx_pipeline.domain.execution import (
    GuardrailPolicy,
    MatchKind,
    ReconciliationStatus,
    TicketLeg,
    match_fidelity,
)
from spx_pipeline.domain.market_calendar import next_session
from spx_pipeline.domain.trades import Leg, LocalStatus, TradeOrder, ticket_id
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.emulator import TradierEmulator
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline.transformations.broker_state import order_frames, position_frames
from spx_pipeline.transformations.execution import (
    broker_legs,
    fidelity_frame,
    filled_quantities,
    guardrail_frame,
    reconciliation_frame,
    reconciliation_rows,
    slippage_samples,
    ticket_legs,
    trade_order_legs,
)
from spx_pipeline_tests.fixtures.simulation import MARGIN, PDT, quote_of, zero_dte
from spx_pipeline_tests.fixtures.tradier import SimulatedTradier

RUN = {"run_id": "run-1"}
HAND_HELD = "SPXW261218P05800000"  # the demo PDT account's position opened by hand
MARGIN_HELD = "SPXW261218C06200000"  # the demo margin account's, beside its SPY shares


def credentials(emu: TradierEmulator, *accounts: str) -> list[AccountCredential]:
    return [AccountCredential(a, SecretToken(emu.book.accounts[a].token)) for a in accounts]


def ticket_frame(
    emu: TradierEmulator, account: str, symbol: str, price: Decimal, quantity: int
) -> pd.DataFrame:
    row = {
        "ticket_id": f"T-{account}",
        "as_of_date": emu.today,
        "setup_id": "breakout",
        "account_id": account,
        "leg": "entry",
        "side": "buy_to_open",
        "order_type": "limit",
        "option_symbol": symbol,
        "quantity": quantity,
        "price": float(price),  # as the warehouse hands DECIMAL back
        "stop_price": float("nan"),
        "tag": f"rec-{account}-entry",
        "payload_json": json.dumps({"class": "option"}),
        "created_at": pd.Timestamp(emu.clock.now()),
    }
    return pd.DataFrame([row])


@pytest.fixture
def filled(simulated_tradier: SimulatedTradier):
    """PDT bought 3 of a 0DTE call two ticks through the ask with our tag; the clock moved a minute."""
    emu = simulated_tradier(seed=11)
    symbol = zero_dte(emu, 6000, "C")
    limit = step_ticks(quote_of(emu, symbol)["ask"], 2)
    with TradierClient(SecretToken(emu.book.accounts[PDT].token), base_url=emu.base_url) as client:
        client.place_order(
            PDT,
            {"class": "option", "symbol": "SPX", "option_symbol": symbol, "side": "buy_to_open",
             "quantity": "3", "type": "limit", "duration": "day", "price": str(limit),
             "tag": f"rec-{PDT}-entry"},
        )  # fmt: skip
    emu.clock.advance(timedelta(minutes=1))
    tickets = pd.concat(
        [ticket_frame(emu, PDT, symbol, limit, 3), ticket_frame(emu, MARGIN, symbol, limit, 1)]
    )
    return emu, symbol, limit, tickets


def test_fills_become_fidelity_rows_with_signed_slippage(filled) -> None:
    emu, _symbol, limit, tickets = filled
    now = emu.clock.now()
    orders = order_frames(
        fetch_each_account(
            credentials(emu, PDT, MARGIN), lambda c, a: c.list_orders(a), base_url=emu.base_url
        ),
        session=emu.today,
        captured_at=now,
        **RUN,
    )
    assert orders.failures.empty and orders.reported == {PDT, MARGIN}
    rows = match_fidelity(ticket_legs(tickets), broker_legs(orders.rows))
    (row,) = rows  # MARGIN's ticket never reached the broker: no row
    fill = emu.fill_log()[-1]
    assert row.match == MatchKind.TAG and row.status == "filled" and row.filled_quantity == 3
    assert row.fill_price == fill.price <= limit
    assert row.slippage_per_contract == (fill.price - limit) * 100  # a buy: above the limit is adverse
    assert (
        row.slippage_ticks <= 0
    )  # a limit is never violated, so a buy's slippage vs its limit is never adverse
    frame = fidelity_frame(rows, captured_at=now, **RUN)
    assert filled_quantities(frame, session=emu.today)[0].quantity == 3
    samples = slippage_samples(frame)
    assert [s.ticks for s in samples] == [row.slippage_ticks]
    stats = guardrail_frame(samples, GuardrailPolicy(min_fills=1), captured_at=now, **RUN)
    assert stats["fills"].tolist() == [1, 1]  # the setup, and the setup in the PDT account


def test_reconciliation_over_the_wire_every_account_accounted_for(filled) -> None:
    emu, symbol, _limit, tickets = filled
    now = emu.clock.now()
    creds = credentials(emu, PDT, MARGIN)
    broken = AccountCredential("VA99999999", SecretToken("not-a-real-token-123"))
    positions = position_frames(
        fetch_each_account([*creds, broken], lambda c, a: c.get_positions(a), base_url=emu.base_url),
        captured_at=now,
        **RUN,
    )
    assert positions.reported == {PDT, MARGIN}
    assert positions.failures["account_id"].tolist() == ["VA99999999"]
    held = positions.rows.set_index("symbol")
    assert held.loc[symbol, "root"] == "SPXW" and held.loc[symbol, "option_right"] == "C"
    assert held.loc[symbol, "strike"] == Decimal(6000)
    orders = order_frames(
        fetch_each_account(creds, lambda c, a: c.list_orders(a), base_url=emu.base_url),
        session=emu.today,
        captured_at=now,
        **RUN,
    )
    fidelity = fidelity_frame(
        match_fidelity(ticket_legs(tickets), broker_legs(orders.rows)), captured_at=now, **RUN
    )
    errors = dict(zip(positions.failures["account_id"], positions.failures["message"], strict=True))
    rows = reconciliation_rows(
        [PDT, MARGIN, "VA99999999"],
        filled_quantities(fidelity, session=emu.today),
        positions.rows,
        positions.reported,
        errors,
    )
    got = {(r.account_id, r.option_symbol): r.status for r in rows}
    assert got == {
        (PDT, symbol): ReconciliationStatus.MATCHED,
        (PDT, HAND_HELD): ReconciliationStatus.UNEXPECTED_AT_BROKER,
        (MARGIN, MARGIN_HELD): ReconciliationStatus.UNEXPECTED_AT_BROKER,
        ("VA99999999", ""): ReconciliationStatus.UNKNOWN,
    }  # MARGIN's SPY shares are not options: not reconciled
    frame = reconciliation_frame(rows, session=emu.today, captured_at=now, **RUN)
    assert set(frame["status"]) == {"matched", "unexpected_at_broker", "unknown"}
    assert "not-a-real-token-123" not in frame.to_csv() + positions.failures.to_csv()


def test_the_next_sessions_read_records_the_previous_sessions_late_fill(filled) -> None:
    """Filled after the day's last read (SPXW trades until 16:15): the next session's first read
    records it under its own session with its fill, so it reaches fidelity and the trades."""
    emu, _symbol, limit, tickets = filled
    tomorrow = next_session(emu.today)

    def read(session: date) -> pd.DataFrame:
        return order_frames(
            fetch_each_account(credentials(emu, PDT), lambda c, a: c.list_orders(a), base_url=emu.base_url),
            session=session,
            captured_at=emu.clock.now(),
            **RUN,
        ).rows

    [late] = read(tomorrow).to_dict("records")
    assert late["status"] == "filled" and late["exec_quantity"] == 3
    assert late["session_date"] == emu.today  # its own session, not the read's
    [row] = match_fidelity(ticket_legs(tickets), broker_legs(read(tomorrow)))
    assert row.status == "filled" and row.filled_quantity == 3 and row.fill_price <= limit
    assert read(next_session(tomorrow)).empty  # two sessions on, a completed order is history


def test_a_sent_order_is_the_ticket_leg_of_its_own_figures() -> None:
    """Every field of the leg from the order (or what is computed from it): each value differs, so a
    field taken from the wrong one shows."""
    claimed = datetime(2026, 12, 4, 15, 1, tzinfo=UTC)
    order = TradeOrder(
        tag="t-acct-s1-stop", trade_id="trade-1", account_id="VA1", leg=Leg.T1, seq=1, order_class="oco",
        side=Side.SELL_TO_CLOSE, order_type=OrderType.LIMIT, quantity=3, price=Decimal("4.10"),
        stop_price=Decimal("1.35"), duration="day", session=date(2026, 12, 4),
        local_status=LocalStatus.SENT, claimed_at=claimed,
        payload_json=json.dumps({"option_symbol[0]": "SPXW261204C06000000"}),
    )  # fmt: skip
    [leg] = trade_order_legs([order], {"trade-1": "breakout"})
    assert leg == TicketLeg(
        ticket_id=ticket_id("t-acct-s1-stop", "t1"), account_id="VA1", setup_id="breakout", leg="t1",
        option_symbol="SPXW261204C06000000", side=Side.SELL_TO_CLOSE, order_type=OrderType.LIMIT,
        quantity=3, price=Decimal("4.10"), stop_price=Decimal("1.35"), tag="t-acct-s1-stop",
        session=date(2026, 12, 4), created_at=claimed, order_class="oco",
    )  # fmt: skip
    assert trade_order_legs([order], {})[0].setup_id == ""  # a trade we do not know: no setup
