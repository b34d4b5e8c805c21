"""Random days of the schedule: pipeline runs, placements (two at once among them), fills, cancels,
kills between a claim and its POST, failed reads and session closes, with the lifecycle's
invariants checked after every step (``fixtures.trading_world``).

``SPX_STATEFUL_EXAMPLES`` raises the number of days tried (``make test-lifecycle`` runs more).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from spx_pipeline.demo import SMALL_MARGIN_ACCOUNT
from spx_pipeline_tests.fixtures.simulation import CASH, MARGIN, PDT
from spx_pipeline_tests.fixtures.trading_world import TradingWorld

# Random trading days through the jobs: end to end (make test-e2e, run by CI).
pytestmark = pytest.mark.e2e

ACCOUNTS = st.sampled_from([MARGIN, CASH, PDT, SMALL_MARGIN_ACCOUNT.account_id])
EXAMPLES = int(os.environ.get("SPX_STATEFUL_EXAMPLES", "3"))


class TradingDays(RuleBasedStateMachine):
    """Any order of the day's events keeps every promise the lifecycle makes."""

    world: TradingWorld

    @initialize(seed=st.integers(min_value=1, max_value=50))
    def start(self, seed: int) -> None:
        self.world = TradingWorld(seed=seed, start="2026-11-24T10:30:00-05:00")
        self.reconciled = False
        assert self.world.pipeline()

    def teardown(self) -> None:
        world = getattr(self, "world", None)
        if world is not None:
            world.close()

    @precondition(lambda self: self.world.runs < 3)
    @rule()
    def pipeline_run(self) -> None:
        self.world.pipeline()  # may fail on a stale chain after a session change; nothing half-written
        self.reconciled = False

    @rule(account=ACCOUNTS)
    def place(self, account: str) -> None:
        self.world.place(account)
        self.reconciled = False

    @rule(account=ACCOUNTS)
    def place_twice_at_once(self, account: str) -> None:
        self.world.place_twice_at_once(account)
        self.reconciled = False

    @rule(account=ACCOUNTS, step=st.sampled_from(["claimed", "sending", "posted"]))
    def placement_killed(self, account: str, step: str) -> None:
        self.world.place_killed(account, step)
        self.reconciled = False

    @rule(minutes=st.integers(min_value=1, max_value=14))
    def time_passes(self, minutes: int) -> None:
        self.world.wait(minutes)
        self.reconciled = False

    @rule(ticks=st.integers(min_value=1, max_value=4))
    def schedule_ticks(self, ticks: int) -> None:
        """The reconciliation schedule's 15-minute ticks: the market moves, each tick reconciles."""
        for _ in range(ticks):
            self.world.wait(15)
            self.world.reconcile()
        self.reconciled = True
        self._note()

    @rule(account=ACCOUNTS, contracts=st.integers(min_value=1, max_value=4))
    def trader_fills_part_and_cancels(self, account: str, contracts: int) -> None:
        self.world.partial_fill_and_cancel(account, contracts)
        self.reconciled = False

    @rule(account=ACCOUNTS)
    def trader_cancels_a_stop(self, account: str) -> None:
        self.world.cancel_a_stop(account)
        self.reconciled = False

    @rule()
    def session_closes(self) -> None:
        """The close, the night, and the next session's pre-open run."""
        self.world.next_preopen()
        self.world.reconcile()
        self.reconciled = True
        self._note()

    @rule()
    def reconcile(self) -> None:
        self.world.reconcile()
        self.reconciled = True
        self._note()

    def _note(self) -> None:
        for state in sorted({str(t.state) for t in self.world.store.trades()}):
            event(f"a trade {state} after a reconcile")

    @rule(account=ACCOUNTS)
    def reconcile_with_a_failed_orders_read(self, account: str) -> None:
        with self.world.failing_orders(account):
            self.world.reconcile()
        self.reconciled = False  # that account's trades wait for the next pass

    @invariant()
    def promises_hold(self) -> None:
        if hasattr(self, "world"):
            self.world.check_invariants(after_reconcile=self.reconciled)


TradingDays.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_trading_days = TradingDays.TestCase
