"""A trade's states and the only moves between them: one table, checked on every transition.

A trade is born ``planned`` from a recommendation and frozen when its entry is claimed. From then on
the broker's reports decide where it is (reports are authoritative, a missing report never means
flat), so the table allows the jumps two observations can span (an entry can fill and be stopped
out between two reads). ``closed`` is terminal; ``abandoned`` (nothing filled) is terminal except
for one move: a fill the broker reports for an order we had given up on is a fact, and wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class TradeState(StrEnum):
    PLANNED = "planned"  # born from a recommendation; nothing sent, the plan may still change
    ENTRY_WORKING = "entry_working"  # entry claimed or at the broker, nothing filled yet
    OPEN = "open"  # contracts held, not all of them covered by the plan's exits
    EXITS_WORKING = "exits_working"  # every contract held is covered by a working exit
    T1_FILLED = "t1_filled"  # the T1 target filled; the runner is not covered yet
    RUNNER = "runner"  # T1 done and the runner covered by its stop
    CLOSED = "closed"  # everything that filled was closed (target, stop, manual or expired)
    ABANDONED = "abandoned"  # nothing filled: withdrawn, refused, canceled or expired


class CloseReason(StrEnum):
    TARGET = "target"
    STOP = "stop"
    MANUAL = "manual"
    EXPIRED = "expired"


HOLDING: Final = frozenset(
    {TradeState.OPEN, TradeState.EXITS_WORKING, TradeState.T1_FILLED, TradeState.RUNNER}
)
TERMINAL: Final = frozenset({TradeState.CLOSED, TradeState.ABANDONED})
FROZEN: Final = frozenset(TradeState) - {TradeState.PLANNED}

_AFTER_ENTRY = {TradeState.OPEN, TradeState.EXITS_WORKING, TradeState.T1_FILLED, TradeState.RUNNER}

TRANSITIONS: Final[Mapping[TradeState, frozenset[TradeState]]] = {
    TradeState.PLANNED: frozenset({TradeState.ENTRY_WORKING, TradeState.ABANDONED}),
    TradeState.ENTRY_WORKING: frozenset({*_AFTER_ENTRY, TradeState.CLOSED, TradeState.ABANDONED}),
    # Exits expire at the close (day orders), so a covered position can become uncovered again.
    TradeState.OPEN: frozenset(
        {TradeState.EXITS_WORKING, TradeState.T1_FILLED, TradeState.RUNNER, TradeState.CLOSED}
    ),
    TradeState.EXITS_WORKING: frozenset(
        {TradeState.OPEN, TradeState.T1_FILLED, TradeState.RUNNER, TradeState.CLOSED}
    ),
    TradeState.T1_FILLED: frozenset({TradeState.RUNNER, TradeState.CLOSED}),
    TradeState.RUNNER: frozenset({TradeState.T1_FILLED, TradeState.CLOSED}),
    TradeState.CLOSED: frozenset(),
    # The one way out of a terminal state: the broker reports a fill we did not expect.
    TradeState.ABANDONED: frozenset({TradeState.OPEN, TradeState.EXITS_WORKING}),
}


class TradeTransitionError(ValueError):
    """A move the table does not allow (a defect or an impossible report): nothing is changed."""


def allowed(current: TradeState, target: TradeState) -> bool:
    return current == target or target in TRANSITIONS[current]


def check_transition(current: TradeState, target: TradeState) -> None:
    if not allowed(current, target):
        raise TradeTransitionError(f"a trade cannot move from {current} to {target}")
