"""Which credentials key a CLI verb uses when none is configured: the demo's ``data/credentials.key``.

``make demo`` writes its key to ``data/credentials.key`` and its store to ``data/app.sqlite``; an
operator who then types ``spx-pipeline credentials list`` from the project root means that store,
so the key file is used for it (and said so on stderr). Any other database never gets the demo key
silently: a token encrypted under the wrong key is lost to the pipeline. The message says instead
which variable to set, with the path.
"""

from __future__ import annotations

from pathlib import Path

import click

from spx_pipeline.settings import CREDENTIALS_KEY_FILE_VAR, CREDENTIALS_KEY_VAR, SettingError, Settings
from spx_pipeline.storage.paths import DEFAULT_DATA_DIR

DEMO_KEY_FILE = DEFAULT_DATA_DIR / "credentials.key"


def _uses_local_store(db_url: str | None, settings: Settings) -> bool:
    return db_url is None and settings.app_db_url is None


def local_key(db_url: str | None) -> str | None:
    """The demo key's text when no key is configured and the verb works on ``data/app.sqlite``."""
    settings = Settings.from_env()
    if settings.credentials_key or settings.credentials_key_file:
        return None
    if not (_uses_local_store(db_url, settings) and DEMO_KEY_FILE.is_file()):
        return None
    try:
        key = Settings(credentials_key_file=str(DEMO_KEY_FILE)).read_credentials_key()
    except SettingError:
        return None
    click.echo(
        f"using the local key {DEMO_KEY_FILE} ({CREDENTIALS_KEY_VAR} and {CREDENTIALS_KEY_FILE_VAR} "
        "are not set)",
        err=True,
    )
    return key


def missing_key_hint() -> str:
    """What to add to a missing-key error when the demo's key file is there but not used."""
    if not DEMO_KEY_FILE.is_file():
        return ""
    path = Path(DEMO_KEY_FILE).resolve()
    return (
        f" The demo's key {DEMO_KEY_FILE} is used only for the local data/app.sqlite; if it is the key of "
        f"this database: export {CREDENTIALS_KEY_FILE_VAR}={path}"
    )
