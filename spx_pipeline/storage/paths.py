"""Where the stores live by default, and the environment variables that move them.

Defaults are relative to the current working directory on purpose: ``make demo`` and the Dagster
dev server both run from the project root, so ``data/`` collects every local artefact in one place
(and ``.gitignore`` keeps it out of commits). Deployments set the variables instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from spx_pipeline.settings import (
    APP_DB_URL_VAR,
    CREATE_DIRS_VAR,
    CREDENTIALS_KEY_VAR,
    WAREHOUSE_PATH_VAR,
    SettingError,
    Settings,
)

# The storage layer's names for the variables (defined once, in ``spx_pipeline.settings``).
ENV_APP_DB_URL: Final = APP_DB_URL_VAR
ENV_WAREHOUSE_PATH: Final = WAREHOUSE_PATH_VAR
ENV_CREDENTIALS_KEY: Final = CREDENTIALS_KEY_VAR

DEFAULT_APP_DB_URL: Final = "sqlite:///data/app.sqlite"
DEFAULT_DATA_DIR: Final = Path("data")
DEFAULT_WAREHOUSE_PATH: Final = DEFAULT_DATA_DIR / "warehouse.duckdb"

# The SQL lives beside the package (sql/ at the project root) so analysts and DBAs can read it
# without opening Python; the package finds it relative to its own source tree.
SQL_ROOT: Final = Path(__file__).resolve().parents[2] / "sql"
APP_MIGRATIONS_DIR: Final = SQL_ROOT / "app"
WAREHOUSE_DDL_DIR: Final = SQL_ROOT / "warehouse"
QUERIES_DIR: Final = SQL_ROOT / "queries"
ANALYST_VIEWS_DIR: Final = SQL_ROOT / "analyst"


def app_db_url(explicit: str | None = None) -> str:
    """The app-database URL: explicit argument, then ``SPX_APP_DB_URL``, then the embedded SQLite."""
    if explicit:
        return explicit
    return Settings.from_env().app_db_url or DEFAULT_APP_DB_URL


def warehouse_path(explicit: str | Path | None = None) -> Path:
    """The DuckDB file: explicit argument, then ``SPX_WAREHOUSE_PATH``, then ``data/warehouse.duckdb``."""
    if explicit:
        return Path(explicit)
    env = Settings.from_env().warehouse_path
    return Path(env) if env else DEFAULT_WAREHOUSE_PATH


def warehouse_setting(explicit: str | Path | None = None) -> str:
    """The name to quote when the warehouse path is wrong: where the value came from."""
    if explicit:
        return "warehouse path"
    return ENV_WAREHOUSE_PATH if Settings.from_env().warehouse_path else "the default warehouse path"


def prepare_parent_dir(path: Path, *, setting: str, value: object) -> None:
    """Make sure ``path`` can be created: its directory exists, or may be created, and is a directory.

    A mistyped location (``sqlite:////nonexistent/dir/app.sqlite``) must not silently grow a directory
    tree and an empty store somewhere on the disk: missing directories are only created inside the
    project's ``data/`` (the defaults live there), or anywhere when ``SPX_CREATE_DIRS`` is on.
    Every refusal names the setting and its value, and changes nothing.
    """
    parent = path.expanduser().parent
    for ancestor in [parent, *parent.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise SettingError(
                    f"{setting}={str(value)!r} cannot be used: {ancestor} is a file, not a directory"
                )
            break
    if parent.is_dir():
        return
    data_dir = DEFAULT_DATA_DIR.resolve()
    resolved = parent.resolve()
    inside_data = resolved == data_dir or data_dir in resolved.parents
    if not (inside_data or Settings.from_env().create_dirs.enabled):
        raise SettingError(
            f"{setting}={str(value)!r} cannot be used: directory {parent} does not exist; create it first "
            f"(or set {CREATE_DIRS_VAR}=true to let spx-pipeline create missing directories)"
        )
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(
            f"{setting}={str(value)!r} cannot be used: creating {parent} failed: {exc.strerror or exc}"
        ) from None
