"""Run config that refuses a bad value in one line naming the field and the value.

Dagster turns a ``dg.Config`` model into a config schema of types only: pydantic constraints
(``ge``, ``allow_inf_nan``, validators) are not part of it, so the Launchpad cannot check them and
Dagster applies them when the step builds its config object, at the step's start (dagster-io/dagster
PR #12536). There a raw ``ValidationError`` surfaces as "Error occurred while executing op" with the
pydantic report as a cause; ``CheckedConfig`` turns it into a ``dg.Failure`` (never retried) whose
description is the one line an operator acts on. Ranges are written into the field descriptions, so
the Launchpad shows them before launch; what the schema can carry (an enum) is refused there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, get_type_hints

import dagster as dg
from pydantic import AfterValidator, Field, ValidationError

from spx_pipeline.domain.market_calendar import CALENDAR_END, CALENDAR_START


class InvalidRunConfig(dg.Failure, ValueError):
    """A run config value out of range: a ``dg.Failure`` for Dagster, a ``ValueError`` for Python callers."""

    def __init__(self, model: str, field: str, value: object, reason: str) -> None:
        self.model, self.field, self.value, self.reason = model, field, value, reason
        super().__init__(
            description=f"Invalid run config {model}: {field}={value!r}: {reason}", allow_retries=False
        )

    def __str__(self) -> str:
        return self.description or ""


def _refusal(model: str, error: Mapping[str, Any]) -> InvalidRunConfig:
    field = ".".join(str(part) for part in error.get("loc", ())) or "(config)"
    nested = error.get("ctx", {}).get("error")
    if isinstance(nested, InvalidRunConfig):  # a nested model refused first: keep its field's full path
        return InvalidRunConfig(model, f"{field}.{nested.field}", nested.value, nested.reason)
    reason = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return InvalidRunConfig(model, field, error.get("input"), reason)


class CheckedConfig(dg.Config):
    """Base of every run config model here: a validation error becomes one InvalidRunConfig line."""

    def __init__(self, **config: Any) -> None:
        try:
            super().__init__(**config)
        except ValidationError as exc:
            raise _refusal(type(self).__name__, exc.errors(include_url=False)[0]) from None


def _session_day(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be a YYYY-MM-DD date") from None
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ValueError(f"must be within the NYSE calendar {CALENDAR_START}..{CALENDAR_END}")
    return day.isoformat()


def to_decimal(value: float) -> Decimal:
    """A validated finite float as the Decimal its shortest repr spells (25000.1 -> Decimal('25000.1'))."""
    return Decimal(repr(float(value)))


Finite = Annotated[float, Field(allow_inf_nan=False)]
SessionDay = Annotated[str | None, AfterValidator(_session_day)]


def _config_model(definition: object) -> type[CheckedConfig] | None:
    """The ``config`` parameter's model of an op or asset's compute function, if it is ours."""
    function = getattr(getattr(definition, "compute_fn", None), "decorated_fn", None)
    if function is None:
        return None
    try:
        model = get_type_hints(function).get("config")
    except (NameError, TypeError):  # an annotation that does not resolve is not a model of ours
        return None
    return model if isinstance(model, type) and issubclass(model, CheckedConfig) else None


def check_run_config(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> None:
    """Every step's config in this run, checked now: ``InvalidRunConfig`` for the first bad value.

    A step checks only its own config, when it starts; a run whose later step has a bad value would
    fail there, after an earlier step of the same run had sent orders. Steps that send, and the
    first step of a run that reads brokers, call this before anything leaves.
    """
    ops = (context.run.run_config or {}).get("ops") or {}
    graph = context.job_def.graph
    for name, entry in ops.items():
        if not isinstance(entry, Mapping) or not graph.has_node_named(name):
            continue
        model = _config_model(graph.node_named(name).definition)
        if model is not None:
            model(**(entry.get("config") or {}))
