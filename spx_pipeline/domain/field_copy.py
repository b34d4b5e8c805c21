"""One record built from another that shares its fields: the shared ones are copied by name.

A stored setup becomes the domain's ``Setup``, a sent ``TradeOrder`` the ``TicketLeg`` fidelity
measures, a Tradier ``OptionLeg`` the emulator's stored order. Written field by field, each such
conversion restates every shared field and silently drops one added later to both records;
``copy_fields`` names only what differs (the fields the caller computes), so a new shared field
flows through.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def shared_fields(source: type, target: type) -> tuple[str, ...]:
    """The fields ``target``'s constructor takes that ``source`` (a dataclass) has, in target order."""
    if not dataclasses.is_dataclass(source) or not dataclasses.is_dataclass(target):
        raise TypeError(f"copy_fields takes dataclasses, got {source.__name__} -> {target.__name__}")
    held = {f.name for f in dataclasses.fields(source)}
    return tuple(f.name for f in dataclasses.fields(target) if f.init and f.name in held)


def copy_fields(source: object, target: type[T], /, **computed: Any) -> T:
    """A ``target`` with every field it shares by name with ``source`` copied, and ``computed`` for the rest.

    ``computed`` also overrides a shared field whose value must differ (a renamed or converted
    one). A target field neither gives is left to its default; without one, the constructor
    raises ``TypeError`` as it would for any missing argument.
    """
    copied = {
        name: getattr(source, name) for name in shared_fields(type(source), target) if name not in computed
    }
    return target(**copied, **computed)
