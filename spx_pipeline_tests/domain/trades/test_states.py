"""The transition table: what a trade may move to, and that every state can be reached."""

from __future__ import annotations

from collections import deque

import pytest

from spx_pipeline.domain.trades import (
    FROZEN,
    HOLDING,
    TERMINAL,
    TRANSITIONS,
    TradeState,
    TradeTransitionError,
    check_transition,
)
from spx_pipeline.domain.trades.lifecycle import Verdict, next_state

S = TradeState


def test_the_table_names_every_state_and_only_states() -> None:
    assert set(TRANSITIONS) == set(TradeState)
    for targets in TRANSITIONS.values():
        assert targets <= set(TradeState)


def test_closed_is_terminal_and_nothing_leaves_it() -> None:
    assert TRANSITIONS[S.CLOSED] == frozenset()
    for target in TradeState:
        if target != S.CLOSED:
            with pytest.raises(TradeTransitionError, match="cannot move from closed"):
                check_transition(S.CLOSED, target)
    check_transition(S.CLOSED, S.CLOSED)  # staying put is no move


def test_abandoned_only_reopens_on_a_fill_the_broker_reports() -> None:
    assert TRANSITIONS[S.ABANDONED] == {S.OPEN, S.EXITS_WORKING}
    for target in set(TradeState) - {S.ABANDONED, S.OPEN, S.EXITS_WORKING}:
        with pytest.raises(TradeTransitionError):
            check_transition(S.ABANDONED, target)


def test_a_frozen_trade_never_goes_back_to_planned() -> None:
    for state in FROZEN:
        assert S.PLANNED not in TRANSITIONS[state]
    assert TRANSITIONS[S.PLANNED] == {S.ENTRY_WORKING, S.ABANDONED}


def test_every_state_is_reachable_from_planned_and_every_live_one_can_end() -> None:
    seen, todo = {S.PLANNED}, deque([S.PLANNED])
    while todo:
        for target in TRANSITIONS[todo.popleft()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(TradeState)
    for state in set(TradeState) - TERMINAL:
        assert TRANSITIONS[state] & TERMINAL, f"{state} can never end"


def test_holding_states_are_the_ones_with_contracts_and_entry_is_not_one() -> None:
    assert {S.OPEN, S.EXITS_WORKING, S.T1_FILLED, S.RUNNER} == HOLDING
    assert not HOLDING & TERMINAL
    assert S.ENTRY_WORKING not in HOLDING


def test_next_state_keeps_the_current_state_when_the_table_refuses_the_verdict() -> None:
    assert next_state(S.CLOSED, Verdict(S.OPEN, "a late report")) == S.CLOSED
    assert next_state(S.T1_FILLED, Verdict(S.OPEN, "stop expired")) == S.T1_FILLED
    assert next_state(S.ENTRY_WORKING, Verdict(S.RUNNER, "two reads apart")) == S.RUNNER
