"""Where the stores live by default, and the environment variables that move them.

Defaults are relative to the current working directory on purpose: ``make demo`` and the Dagster
dev server both run from the project root, so ``data/`` collects every local artefact in one place
(and ``.gitignore`` keeps it out of commits). Deployments set the variables instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ENV_APP_DB_URL: Final = "SPX_APP_DB_URL"
ENV_WAREHOUSE_PATH: Final = "SPX_WAREHOUSE_PATH"
ENV_CREDENTIALS_KEY: Final = "SPX_CREDENTIALS_KEY"

DEFAULT_APP_DB_URL: Final = "sqlite:///data/app.sqlite"
DEFAULT_WAREHOUSE_PATH: Final = Path("data") / "warehouse.duckdb"

# The SQL lives beside the package (sql/ at the project root) so analysts and DBAs can read it
# without opening Python; the package finds it relative to its own source tree.
SQL_ROOT: Final = Path(__file__).resolve().parents[2] / "sql"
APP_MIGRATIONS_DIR: Final = SQL_ROOT / "app"
WAREHOUSE_DDL_DIR: Final = SQL_ROOT / "warehouse"
QUERIES_DIR: Final = SQL_ROOT / "queries"


def app_db_url(explicit: str | None = None) -> str:
    """The app-database URL: explicit argument, then ``SPX_APP_DB_URL``, then the embedded SQLite."""
    if explicit:
        return explicit
    return os.environ.get(ENV_APP_DB_URL) or DEFAULT_APP_DB_URL


def warehouse_path(explicit: str | Path | None = None) -> Path:
    """The DuckDB file: explicit argument, then ``SPX_WAREHOUSE_PATH``, then ``data/warehouse.duckdb``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_WAREHOUSE_PATH)
    return Path(env) if env else DEFAULT_WAREHOUSE_PATH
