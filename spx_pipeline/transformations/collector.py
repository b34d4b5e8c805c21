"""The cyclic garbage collector paused around one bulk step of a long-lived process.

A step that builds a few hundred thousand records (10,000 accounts' trades, tickets and their
warehouse copy) in a process that already holds the Dagster run's objects triggers full
collections over and over, each walking every object the process holds: at 10,000 accounts they
took ~0.5 s of the tickets stage. These steps make no reference cycles of their own, and what they
leave is collected once the collector runs again, so pausing it there changes only when it runs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause automatic collection inside the block; the state it had is restored on the way out,
    error or not (a block nested in another paused one leaves it paused)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
