"""`.env.example` lists every variable the pipeline reads, each with its meaning and default."""

import re
from pathlib import Path

from spx_pipeline.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = re.compile(r"^# ([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _example() -> str:
    return (ROOT / ".env.example").read_text(encoding="utf-8")


def _deployment_variables() -> set[str]:
    text = (ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\{env: ([A-Z_]+)\}", text)) | {"DAGSTER_HOME"}


def test_every_variable_settings_defines_is_listed_with_meaning_and_default() -> None:
    text = _example()
    listed = set(ASSIGNMENT.findall(text))
    assert set(VARIABLES.values()) <= listed
    for name in VARIABLES.values():
        # The entry's explanation starts with "# NAME:" and says what happens when it is unset.
        entry = re.search(rf"^# {name}: (.+?)\n# {name}=", text, re.MULTILINE | re.DOTALL)
        assert entry is not None, name
        assert "Default:" in entry.group(1), name


def test_the_dagster_instance_variables_are_listed_and_nothing_unknown_is() -> None:
    listed = set(ASSIGNMENT.findall(_example()))
    assert _deployment_variables() <= listed
    assert listed <= set(VARIABLES.values()) | _deployment_variables()


def test_copied_as_it_stands_it_sets_nothing() -> None:
    # Every assignment is commented out: a fresh `cp .env.example .env` changes no behaviour.
    lines = [line for line in _example().splitlines() if line.strip() and not line.startswith("#")]
    assert lines == []
