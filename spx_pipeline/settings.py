"""Runtime settings read from the environment at the moment they matter.

Flags are read per call (not at import) so a schedule tick or sensor evaluation always sees the
current value, the way the seed's worker re-read ``TRADIER_PORTFOLIO_SYNC_ENABLED``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SYNC_FLAG = "TRADIER_PORTFOLIO_SYNC_ENABLED"
CREDENTIALS_KEY_VAR = "SPX_CREDENTIALS_KEY"
CREDENTIALS_KEY_FILE_VAR = "SPX_CREDENTIALS_KEY_FILE"
APP_DB_URL_VAR = "SPX_APP_DB_URL"
WAREHOUSE_PATH_VAR = "SPX_WAREHOUSE_PATH"
MARKET_DATA_ACCOUNT_VAR = "TRADIER_MARKET_DATA_ACCOUNT"
CREATE_DIRS_VAR = "SPX_CREATE_DIRS"


class SettingError(ValueError):
    """A setting (environment variable or option) has a value that cannot work; the message names it."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class FlagState:
    """A flag's value plus the sentence to show when it keeps something off."""

    enabled: bool
    reason: str


def read_flag(name: str, *, default: bool = False) -> FlagState:
    """Parse a boolean flag; an unrecognized value keeps the feature off and says why."""
    raw = os.environ.get(name)
    if raw is None:
        state = "on" if default else "off"
        return FlagState(default, f"{name} is not set (default: {state})")
    value = raw.strip().lower()
    if value in _TRUE:
        return FlagState(True, f"{name}={raw!r} is on")
    if value in _FALSE:
        return FlagState(False, f"{name}={raw!r} is off")
    return FlagState(
        False,
        f"{name}={raw!r} is not a recognized value (use 1/true/yes/on or 0/false/no/off); treated as off",
    )


def sync_flag() -> FlagState:
    """The gate for scheduled and sensor-driven portfolio syncs (default off, as in the seed)."""
    return read_flag(SYNC_FLAG, default=False)


def credentials_key_from_env() -> str | None:
    """The Fernet key from ``SPX_CREDENTIALS_KEY``, or the file named by ``SPX_CREDENTIALS_KEY_FILE``.

    None when neither is set: callers fail closed with the store's own error.
    """
    key = os.environ.get(CREDENTIALS_KEY_VAR)
    if key and key.strip():
        return key.strip()
    key_file = os.environ.get(CREDENTIALS_KEY_FILE_VAR)
    if key_file:
        path = Path(key_file)
        if path.is_dir():
            raise SettingError(
                f"{CREDENTIALS_KEY_FILE_VAR}={key_file!r} is a directory; name the key file itself"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SettingError(f"{CREDENTIALS_KEY_FILE_VAR}={key_file!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise SettingError(f"{CREDENTIALS_KEY_FILE_VAR}={key_file!r} cannot be read: {reason}") from None
        return text.strip() or None
    return None


def create_dirs_allowed() -> bool:
    """``SPX_CREATE_DIRS`` on: stores may create missing parent directories outside ``data/``."""
    return read_flag(CREATE_DIRS_VAR, default=False).enabled
