"""The emulator may use ``spx_pipeline.domain`` and the stdlib, nothing above it (nor requests/dagster)."""

from __future__ import annotations

import ast
from pathlib import Path

import spx_pipeline.emulator as package

FORBIDDEN = ("spx_pipeline.broker", "spx_pipeline.storage", "spx_pipeline.resources", "spx_pipeline.defs",
             "spx_pipeline.cli", "requests", "dagster", "urllib3")  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_emulator_imports_only_domain_and_stdlib():
    files = sorted(Path(package.__file__).parent.rglob("*.py"))
    assert len(files) >= 12
    for path in files:
        bad = {m for m in imported_modules(path) if m.startswith(FORBIDDEN)}
        assert not bad, f"{path} imports {sorted(bad)}"
