"""Placing tickets on the filling local server: once per tag, exits after the entry, refusals first."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import LIVE_BASE_URL, TradierClient
from spx_pipeline.domain.execution import PlacementLimits, PlacementRecord, PlacementRefused
from spx_pipeline.domain.setups import Setup
from spx_pipeline.emulator import FaultConfig, TradierEmulator
from spx_pipeline.emulator.fills import step_ticks
from spx_pipeline.transformations.placement import place_tickets
from spx_pipeline.transformations.tickets import build_tickets
from spx_pipeline_tests.fixtures.simulation import PDT, quote_of, zero_dte
from spx_pipeline_tests.fixtures.tradier import SimulatedTradier

LIMITS = PlacementLimits(max_orders=5, max_opening_notional=Decimal(10_000))
SETUP = Setup("breakout", "bullish", stop_premium=Decimal("0.50"))


class Ledger:
    """What ``record`` was told, in order; ``fail_after`` simulates a crash right after a POST."""

    def __init__(self, fail_after: str | None = None, on_sending: Callable[[], None] | None = None) -> None:
        self.items: list[PlacementRecord] = []
        self.fail_after = fail_after
        self.on_sending = on_sending

    def __call__(self, item: PlacementRecord) -> None:
        self.items.append(item)
        if item.status == "sending" and self.on_sending is not None:
            self.on_sending()
        if self.fail_after and item.status == self.fail_after:
            raise RuntimeError("the process died here")


def tickets_for(emu: TradierEmulator, contracts: int = 3) -> pd.DataFrame:
    symbol = zero_dte(emu, 6000, "C")
    limit = step_ticks(quote_of(emu, symbol)["ask"], 2)
    rec = {
        "as_of_date": emu.today, "setup_id": "breakout", "account_id": PDT, "risk_fingerprint": "f" * 16,
        "symbol": symbol, "suggested_contracts": contracts, "limit_price": float(limit),
    }  # fmt: skip
    return build_tickets(
        pd.DataFrame([rec]), {"breakout": SETUP}, run_id="r1", created_at=emu.clock.now()
    ).tickets


def place(emu: TradierEmulator, tickets: pd.DataFrame, confirm: str | None, ledger=None, **options):
    def client_for(account: str) -> TradierClient:
        token = SecretToken(emu.book.accounts[account].token)
        return TradierClient(token, base_url=options.pop("base_url", emu.base_url), timeout=(2, 0.5))

    return place_tickets(
        tickets, client_for, confirm=confirm, limits=options.get("limits", LIMITS),
        allow_live=options.get("allow_live", False), live_accounts=options.get("live", frozenset()),
        now=emu.clock.now, record=ledger if ledger is not None else Ledger(),
    )  # fmt: skip


def tagged(emu: TradierEmulator, tag: str) -> list:
    return [order for order in emu.orders(PDT) if order.get("tag") == tag]


def statuses(records: list[PlacementRecord]) -> dict[str, str]:
    return {r.leg: r.status for r in records}


def test_refused_without_confirmation_and_nothing_is_sent(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)
    with pytest.raises(PlacementRefused, match="confirm must be 'PLACE 1'"):
        place(emu, tickets, None)
    with pytest.raises(PlacementRefused, match="exceeds max_opening_notional"):
        place(emu, tickets, "PLACE 1", limits=PlacementLimits(max_opening_notional=Decimal(1)))
    assert emu.request_count("/accounts", method="POST") == 0


def test_live_host_without_the_flag_is_refused_before_any_request(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)

    def live_client(account: str) -> TradierClient:
        return TradierClient(SecretToken("live-token-123456"), base_url=LIVE_BASE_URL, allow_live=True)

    for allow, live in ((False, frozenset({PDT})), (True, frozenset())):
        with pytest.raises(PlacementRefused, match="live host needs"):
            place_tickets(
                tickets, live_client, confirm="PLACE 1", limits=LIMITS, allow_live=allow, live_accounts=live,
                now=emu.clock.now, record=Ledger(),
            )  # fmt: skip


def test_entry_once_then_exits_after_the_fill_and_reruns_never_duplicate(
    simulated_tradier: SimulatedTradier,
) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)
    ledger = Ledger()
    first = place(emu, tickets, "PLACE 1", ledger)
    assert statuses(first) == {"entry": "placed", "t1": "waiting", "runner_stop": "waiting"}
    assert [i.status for i in ledger.items if i.leg == "entry"] == ["sending", "placed"]
    entry_tag = tickets.set_index("leg").loc["entry", "tag"]
    emu.clock.advance(timedelta(seconds=30))  # the entry was marketable: it has filled
    second = place(emu, tickets, "PLACE 2")
    assert statuses(second) == {"entry": "already_at_broker", "t1": "placed", "runner_stop": "placed"}
    third = place(emu, tickets, None)
    assert set(statuses(third).values()) == {"already_at_broker"}
    assert len(tagged(emu, entry_tag)) == 1
    assert emu.request_count("/accounts", method="POST") == 3


def test_a_crash_between_post_and_record_never_places_twice(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)
    with pytest.raises(RuntimeError, match="died"):
        place(emu, tickets, "PLACE 1", Ledger(fail_after="placed"))
    rerun = place(emu, tickets, "PLACE 2")  # the exits of the filled entry, and not the entry again
    assert statuses(rerun) == {"entry": "already_at_broker", "t1": "placed", "runner_stop": "placed"}
    assert len(tagged(emu, tickets.set_index("leg").loc["entry", "tag"])) == 1


def test_an_unanswered_post_is_settled_by_tag_never_resent(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)
    # The fault is armed as the entry is recorded "sending", so it hits the POST and not the lookup.
    arm = lambda: emu.set_faults(FaultConfig(timeouts=1, timeout_seconds=0.8, path_prefix="/accounts"))  # noqa: E731
    records = place(emu, tickets, "PLACE 1", Ledger(on_sending=arm))
    entry = statuses(records)["entry"]
    assert entry in {"placed", "ambiguous"}  # found by tag at once, or left for the next run's lookup
    deadline = time.monotonic() + 5  # the server answers the timed-out POST once its sleep is over
    while emu.request_count("/accounts", method="POST") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.request_count("/accounts", method="POST") == 1  # never resent
    emu.set_faults(FaultConfig())
    emu.clock.advance(timedelta(seconds=2))
    assert statuses(place(emu, tickets, "PLACE 2"))["entry"] == "already_at_broker"
    assert len(tagged(emu, tickets.set_index("leg").loc["entry", "tag"])) == 1


def test_an_account_whose_orders_cannot_be_read_sends_nothing(simulated_tradier: SimulatedTradier) -> None:
    emu = simulated_tradier(seed=3)
    tickets = tickets_for(emu)
    emu.set_faults(FaultConfig(failing_accounts=frozenset({PDT}), failing_status=503))
    records = place(emu, tickets, None)
    assert set(statuses(records).values()) == {"error"}
    assert "no tag can be proven new" in records[0].message
    assert emu.request_count("/accounts", method="POST") == 0
