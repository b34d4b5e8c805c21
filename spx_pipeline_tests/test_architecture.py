"""The layers of docs/architecture.md hold in the code: no import circle between files, no import upward.

Every import counts, wherever it stands: at the top, inside a function (a lazy import is still a
dependency) and under ``TYPE_CHECKING`` (the annotation still needs the other module to mean
anything). The layer list is read from the document's ``layers`` block, so it is written once; the
checker is tried on small synthetic packages too, so a checker that found nothing would fail here.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = "spx_pipeline"
_LAYERS_BLOCK = re.compile(r"^```layers\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Import:
    """``source`` (a module) imports ``target`` (a module of the same package) at ``path:line``."""

    source: str
    target: str
    path: str
    line: int


def read_layers(text: str) -> list[list[str]]:
    """The ``layers`` block: one layer a line, top first; entries of a layer separated by commas.

    An entry is a top-level module or package of the package (``cli``, ``clock``) or a subpackage
    (``storage.app``); a file belongs to the longest entry that is a prefix of its module name.
    """
    found = _LAYERS_BLOCK.search(text)
    if found is None:
        raise AssertionError("docs/architecture.md has no ```layers block")
    layers = []
    for raw in found.group("body").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            layers.append([entry.strip() for entry in line.split(",") if entry.strip()])
    return layers


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by dotted name (a package by its ``__init__``)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(root: Path, package: str) -> list[Import]:
    """Every import of a module of ``package`` by a module of it, anywhere in the file."""
    modules = modules_of(root, package)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found = []
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                # ``from pkg import mod`` imports the module ``pkg.mod``; ``from mod import name`` the module.
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name != package and not name.startswith(package + "."):
                    continue
                target = resolve(name)
                if target is not None and target != module:
                    found.append(Import(module, target, str(path.relative_to(root)), node.lineno))
    return found


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def violations(root: Path, package: str, layers: list[list[str]]) -> list[str]:
    """One line per problem, naming the files: a circle, an import upward or sideways, an unlisted entry."""
    rank = {f"{package}.{entry}": len(layers) - i for i, layer in enumerate(layers) for entry in layer}

    def entry_of(module: str) -> str | None:
        name = module
        while name and name not in rank:
            name = name.rpartition(".")[0]
        return name or None

    imports = imports_of(root, package)
    problems = []
    files = {imp.source: imp.path for imp in imports}
    files.update({m: str(p.relative_to(root)) for m, p in modules_of(root, package).items()})
    for group in cycles(imports):
        members = set(group)
        edges = dict.fromkeys(
            f"{imp.path}:{imp.line} -> {files[imp.target]}"
            for imp in imports
            if imp.source in members and imp.target in members
        )
        problems.append(f"import circle between {', '.join(files[m] for m in group)}: " + "; ".join(edges))
    for module in sorted(files):
        if module != package and entry_of(module) is None:
            problems.append(f"{files[module]} is in no layer of the ```layers block")
    for imp in imports:
        source, target = entry_of(imp.source), entry_of(imp.target)
        if source is None or target is None or source == target:
            continue
        if rank[target] >= rank[source]:
            where = "above" if rank[target] > rank[source] else "beside"
            problems.append(
                f"{imp.path}:{imp.line} imports {files[imp.target]} "
                f"({target.removeprefix(package + '.')} is {where} {source.removeprefix(package + '.')})"
            )
    return problems


def test_the_package_keeps_its_layers() -> None:
    layers = read_layers(DOC.read_text(encoding="utf-8"))
    problems = violations(ROOT, PACKAGE, layers)
    assert not problems, "\n".join(problems)


def test_every_layer_entry_exists() -> None:
    """A layer naming something that is not there would let a misspelt entry hide a file."""
    modules = modules_of(ROOT, PACKAGE)
    missing = [
        entry
        for layer in read_layers(DOC.read_text(encoding="utf-8"))
        for entry in layer
        if f"{PACKAGE}.{entry}" not in modules
    ]
    assert not missing


# -- the checker on synthetic packages ------------------------------------------------------------

SYNTHETIC_LAYERS = """
Text before.

```layers
top            # a comment
middle, side
bottom
```
"""


def write_package(root: Path, files: dict[str, str]) -> None:
    """The files, and an empty ``__init__.py`` in every directory of the package that has none."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    package = root / "pkg"
    for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()


def test_layers_block_format() -> None:
    assert read_layers(SYNTHETIC_LAYERS) == [["top"], ["middle", "side"], ["bottom"]]
    with pytest.raises(AssertionError, match="no ```layers block"):
        read_layers("```\ncli\n```")


@pytest.mark.parametrize(
    "how",
    [
        "from pkg.middle.b import B\n",
        "def f():\n    from pkg.middle import b\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.middle.b import B\n",
        "from . import b\n",
    ],
    ids=["top-level", "in-a-function", "type-checking", "relative"],
)
def test_a_circle_is_found_however_it_is_imported(tmp_path: Path, how: str) -> None:
    write_package(
        tmp_path,
        {
            "pkg/middle/a.py": how,
            "pkg/middle/b.py": "import pkg.middle.a\n",
            "pkg/top.py": "",
            "pkg/side.py": "",
            "pkg/bottom.py": "",
        },
    )
    problems = violations(tmp_path, "pkg", read_layers(SYNTHETIC_LAYERS))
    assert len(problems) == 1, problems
    assert problems[0].startswith("import circle between pkg/middle/a.py, pkg/middle/b.py: ")
    assert "pkg/middle/b.py:1 -> pkg/middle/a.py" in problems[0]


def test_a_longer_circle_is_one_problem(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/bottom/a.py": "from pkg.bottom import b\n",
            "pkg/bottom/b.py": "from pkg.bottom import c\n",
            "pkg/bottom/c.py": "def f():\n    import pkg.bottom.a\n",
            "pkg/top.py": "",
            "pkg/middle.py": "",
            "pkg/side.py": "",
        },
    )
    problems = violations(tmp_path, "pkg", read_layers(SYNTHETIC_LAYERS))
    assert problems == [
        "import circle between pkg/bottom/a.py, pkg/bottom/b.py, pkg/bottom/c.py: "
        "pkg/bottom/a.py:1 -> pkg/bottom/b.py; pkg/bottom/b.py:1 -> pkg/bottom/c.py; "
        "pkg/bottom/c.py:2 -> pkg/bottom/a.py"
    ]


def test_an_import_upward_or_sideways_is_named(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/top.py": "import pkg.bottom\n",  # downward: fine
            "pkg/middle.py": "def f():\n    from pkg.top import X\n",  # upward, lazily
            "pkg/side.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg import middle\n",
            "pkg/bottom.py": "",
        },
    )
    problems = violations(tmp_path, "pkg", read_layers(SYNTHETIC_LAYERS))
    assert sorted(problems) == [
        "pkg/middle.py:2 imports pkg/top.py (top is above middle)",
        "pkg/side.py:3 imports pkg/middle.py (middle is beside side)",
    ]


def test_a_file_in_no_layer_is_named(tmp_path: Path) -> None:
    write_package(tmp_path, {"pkg/top.py": "", "pkg/middle.py": "", "pkg/side.py": "", "pkg/bottom.py": ""})
    write_package(tmp_path, {"pkg/extra/thing.py": "from pkg import bottom\n"})
    problems = violations(tmp_path, "pkg", read_layers(SYNTHETIC_LAYERS))
    assert sorted(problems) == [
        "pkg/extra/__init__.py is in no layer of the ```layers block",
        "pkg/extra/thing.py is in no layer of the ```layers block",
    ]
