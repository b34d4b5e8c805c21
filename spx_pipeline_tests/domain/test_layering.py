"""The domain layer stays pure: no Dagster, no HTTP. Imports are read with ast, not grepped."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "spx_pipeline" / "domain"
BANNED = ("dagster", "requests")


def imported_modules(source: str) -> set[str]:
    """Top-level package names a module imports, including imports nested in functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_domain_modules_exist() -> None:
    assert len(list(DOMAIN.glob("*.py"))) >= 5


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_neither_dagster_nor_requests(path: Path) -> None:
    banned = imported_modules(path.read_text()) & set(BANNED)
    assert not banned, f"{path.name} imports {sorted(banned)}"


def test_detector_sees_nested_and_from_imports() -> None:
    source = (
        "import os\nfrom dagster import asset\ndef f():\n    import requests.adapters\nfrom . import ticks\n"
    )
    assert imported_modules(source) == {"os", "dagster", "requests"}
