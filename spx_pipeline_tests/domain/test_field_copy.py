"""copy_fields: shared fields by name, computed ones by the caller, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from spx_pipeline.domain.field_copy import copy_fields, shared_fields


@dataclass(frozen=True)
class Source:
    name: str
    size: int
    colour: str
    only_here: str = "source's own"


@dataclass(frozen=True)
class Target:
    label: str
    size: int
    name: str
    colour: str = "grey"
    extra: int = 0
    derived: int = field(init=False, default=0)


def test_shared_fields_are_copied_and_computed_ones_given() -> None:
    made = copy_fields(Source("a", 3, "red"), Target, label="A")
    assert made == Target(label="A", size=3, name="a", colour="red")


def test_a_computed_value_wins_over_the_shared_field() -> None:
    assert copy_fields(Source("a", 3, "red"), Target, label="A", size=4).size == 4


def test_only_init_fields_both_have_in_target_order() -> None:
    assert shared_fields(Source, Target) == ("size", "name", "colour")


def test_a_target_field_nobody_gives_is_the_constructors_error() -> None:
    with pytest.raises(TypeError, match="label"):
        copy_fields(Source("a", 3, "red"), Target)


def test_only_dataclasses() -> None:
    with pytest.raises(TypeError, match="copy_fields takes dataclasses, got str -> Target"):
        copy_fields("text", Target, label="A")
