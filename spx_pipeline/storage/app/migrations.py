"""Reading the ordered app-database migrations in ``sql/app``.

Migrations are plain SQL files named ``NNNN_description.sql``. They must run unchanged on SQLite
and PostgreSQL, so there is no procedural SQL and statements are split on a ``;`` that ends a line;
keeping the splitter this dumb is what makes it safe (no string or dollar-quote parsing to get
wrong).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from spx_pipeline.storage.paths import APP_MIGRATIONS_DIR

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<slug>[a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migration files or the database's migration history cannot be reconciled."""


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, file name, statements and their checksum."""

    version: int
    name: str
    path: Path
    checksum: str
    statements: tuple[str, ...]


def split_statements(sql: str, *, source: str = "<sql>") -> list[str]:
    """Split on ``;`` at the end of a line; whole-line ``--`` comments are dropped."""
    statements: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        current.append(line.rstrip())
        if stripped.endswith(";"):
            statement = "\n".join(current).rstrip().removesuffix(";").strip()
            if statement:
                statements.append(statement)
            current = []
    if current:
        tail = " ".join(part.strip() for part in current)[:60]
        raise MigrationError(f"{source}: last statement does not end with ';' at line end: {tail!r}")
    return statements


def statements_checksum(statements: list[str]) -> str:
    """sha256 over the statements with whitespace normalized.

    Comments, blank lines and line endings (a Windows checkout) do not count as a change; any
    change to what the database executes does.
    """
    normalized = "\n;\n".join(" ".join(statement.split()) for statement in statements)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """All migrations in ``directory`` in version order; bad names and duplicate versions are errors."""
    folder = directory or APP_MIGRATIONS_DIR
    if not folder.is_dir():
        raise MigrationError(f"migration directory {folder} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file name {path.name!r} does not match NNNN_description.sql (lowercase)"
            )
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"migration version {version:04d} is used by both {found[version].name} and {path.name}"
            )
        statements = split_statements(path.read_text(encoding="utf-8"), source=path.name)
        if not statements:
            raise MigrationError(f"migration {path.name} contains no statements")
        found[version] = Migration(
            version=version,
            name=path.name,
            path=path,
            checksum=statements_checksum(statements),
            statements=tuple(statements),
        )
    return [found[version] for version in sorted(found)]
