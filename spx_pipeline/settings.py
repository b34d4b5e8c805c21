"""Every environment variable the pipeline reads, read in one place into one frozen ``Settings``.

``Settings.from_env()`` reads them all in one pass; components take the object when they start
work (a resource opening its store or client, a CLI command, a schedule tick, a sensor
evaluation) and never read ``os.environ`` themselves. It is not cached between calls on purpose:
a flag switched off (``TRADIER_PORTFOLIO_SYNC_ENABLED``) must be seen at the next tick. The
variable names are public (the README's table) and defined
once here; ``VARIABLES`` maps each field to its variable, so resources can later declare them as
``dg.EnvVar`` fields one for one. A value that cannot work is one ``SettingError`` naming the
variable and the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from spx_pipeline.clock import NOW_VAR, Clock, clock_from_env

APP_DB_URL_VAR: Final = "SPX_APP_DB_URL"
WAREHOUSE_PATH_VAR: Final = "SPX_WAREHOUSE_PATH"
WAREHOUSE_BACKEND_VAR: Final = "SPX_WAREHOUSE_BACKEND"
WAREHOUSE_BACKENDS: Final = ("duckdb", "parquet")
CREATE_DIRS_VAR: Final = "SPX_CREATE_DIRS"
CREDENTIALS_KEY_VAR: Final = "SPX_CREDENTIALS_KEY"
CREDENTIALS_KEY_FILE_VAR: Final = "SPX_CREDENTIALS_KEY_FILE"
TRADIER_BASE_URL_VAR: Final = "TRADIER_BASE_URL"
ALLOW_LIVE_VAR: Final = "TRADIER_ALLOW_LIVE"
ALLOW_PRIVATE_NETWORK_VAR: Final = "TRADIER_ALLOW_PRIVATE_NETWORK"
MARKET_DATA_ACCOUNT_VAR: Final = "TRADIER_MARKET_DATA_ACCOUNT"
SYNC_FLAG: Final = "TRADIER_PORTFOLIO_SYNC_ENABLED"
EXECUTOR_VAR: Final = "SPX_EXECUTOR"
CELERY_BROKER_URL_VAR: Final = "SPX_CELERY_BROKER_URL"
CELERY_BACKEND_URL_VAR: Final = "SPX_CELERY_BACKEND_URL"
IO_DIR_VAR: Final = "SPX_IO_DIR"
SYNC_SHARDS_VAR: Final = "SPX_SYNC_SHARDS"
# The legacy PDT rule's day-trade allowance for accounts that are not PDT-qualified (on by default;
# brokers may keep the legacy rule until 2027-10-20, and a broker's rejection wins either way).
DAY_TRADE_GUARD_VAR: Final = "SPX_DAY_TRADE_GUARD"

# How a run executes its steps: all in the run's process (the default), one process per step, or
# on Celery workers (other hosts), which need the ``celery`` extra and a broker.
EXECUTORS: Final = ("in_process", "multiprocess", "celery")
DEFAULT_CELERY_URL: Final = "redis://127.0.0.1:6379/0"
# The broker reads of a sync split into this many steps when steps run in other processes
# (``SPX_SYNC_SHARDS``); in one process a shard per step would only add steps, so one.
DEFAULT_SYNC_SHARDS: Final = 16
MAX_SYNC_SHARDS: Final = 256

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class SettingError(ValueError):
    """A setting (environment variable or option) has a value that cannot work; the message names it."""


@dataclass(frozen=True, slots=True)
class FlagState:
    """A flag's value plus the sentence to show when it keeps something off."""

    enabled: bool
    reason: str


def parse_flag(name: str, raw: str | None, *, default: bool = False) -> FlagState:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); anything else keeps it off and says why."""
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


def _text(env: Mapping[str, str], name: str) -> str | None:
    """The value as set (each consumer judges blanks its own way, as before); None when unset or empty."""
    return env.get(name) or None


@dataclass(frozen=True, slots=True)
class Settings:
    """The environment, parsed: None (or an off flag) for every variable that is not set."""

    app_db_url: str | None = None
    warehouse_path: str | None = None
    warehouse_backend: str | None = None
    create_dirs: FlagState = field(default_factory=lambda: parse_flag(CREATE_DIRS_VAR, None))
    credentials_key: str | None = field(default=None, repr=False)
    credentials_key_file: str | None = None
    tradier_base_url: str | None = None
    allow_live: FlagState = field(default_factory=lambda: parse_flag(ALLOW_LIVE_VAR, None))
    allow_private_network: FlagState = field(
        default_factory=lambda: parse_flag(ALLOW_PRIVATE_NETWORK_VAR, None)
    )
    market_data_account: str | None = None
    portfolio_sync: FlagState = field(default_factory=lambda: parse_flag(SYNC_FLAG, None))
    now: str | None = None
    executor: str | None = None
    celery_broker_url: str | None = field(default=None, repr=False)
    celery_backend_url: str | None = field(default=None, repr=False)
    io_dir: str | None = None
    sync_shards: str | None = None
    day_trade_guard_flag: FlagState = field(
        default_factory=lambda: parse_flag(DAY_TRADE_GUARD_VAR, None, default=True)
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """One read of every variable (``environ`` for tests and callers that hold a mapping)."""
        env = os.environ if environ is None else environ
        return cls(
            app_db_url=_text(env, APP_DB_URL_VAR),
            warehouse_path=_text(env, WAREHOUSE_PATH_VAR),
            warehouse_backend=_text(env, WAREHOUSE_BACKEND_VAR),
            create_dirs=parse_flag(CREATE_DIRS_VAR, env.get(CREATE_DIRS_VAR)),
            credentials_key=(env.get(CREDENTIALS_KEY_VAR) or "").strip() or None,
            credentials_key_file=_text(env, CREDENTIALS_KEY_FILE_VAR),
            tradier_base_url=_text(env, TRADIER_BASE_URL_VAR),
            allow_live=parse_flag(ALLOW_LIVE_VAR, env.get(ALLOW_LIVE_VAR)),
            allow_private_network=parse_flag(ALLOW_PRIVATE_NETWORK_VAR, env.get(ALLOW_PRIVATE_NETWORK_VAR)),
            market_data_account=_text(env, MARKET_DATA_ACCOUNT_VAR),
            portfolio_sync=parse_flag(SYNC_FLAG, env.get(SYNC_FLAG)),
            now=_text(env, NOW_VAR),
            executor=_text(env, EXECUTOR_VAR),
            celery_broker_url=_text(env, CELERY_BROKER_URL_VAR),
            celery_backend_url=_text(env, CELERY_BACKEND_URL_VAR),
            io_dir=_text(env, IO_DIR_VAR),
            sync_shards=_text(env, SYNC_SHARDS_VAR),
            day_trade_guard_flag=_guard_flag(env.get(DAY_TRADE_GUARD_VAR)),
        )

    @property
    def day_trade_guard(self) -> bool:
        """Whether exits that would be day trades count against the five-session allowance."""
        return self.day_trade_guard_flag.enabled

    def executor_kind(self) -> str:
        """``SPX_EXECUTOR`` checked against ``EXECUTORS`` (blank or unset: ``in_process``)."""
        raw = self.executor
        value = (raw or "").strip().lower().replace("-", "_") or "in_process"
        if value not in EXECUTORS:
            raise SettingError(f"{EXECUTOR_VAR}={raw!r} is not one of {', '.join(EXECUTORS)}")
        return value

    def sync_shard_count(self) -> int:
        """How many steps a sync's broker reads split into (``SPX_SYNC_SHARDS``); 1 keeps one step.

        Unset: one when the run executes in its own process (``in_process``), where more steps only
        add overhead, and ``DEFAULT_SYNC_SHARDS`` when steps run in other processes or on workers.
        """
        raw = self.sync_shards
        if raw is None or not raw.strip():
            return 1 if self.executor_kind() == "in_process" else DEFAULT_SYNC_SHARDS
        try:
            count = int(raw.strip())
        except ValueError:
            count = 0
        if not 1 <= count <= MAX_SYNC_SHARDS:
            raise SettingError(f"{SYNC_SHARDS_VAR}={raw!r} is not a whole number from 1 to {MAX_SYNC_SHARDS}")
        return count

    def celery_urls(self) -> tuple[str, str]:
        """Broker and result backend of the Celery executor and its workers (Redis on loopback by default).

        Not in ``repr``: a broker URL may carry a password.
        """
        return (
            self.celery_broker_url or DEFAULT_CELERY_URL,
            self.celery_backend_url or self.celery_broker_url or DEFAULT_CELERY_URL,
        )

    def read_credentials_key(self) -> str | None:
        """The Fernet key: ``SPX_CREDENTIALS_KEY``, else the file ``SPX_CREDENTIALS_KEY_FILE`` names.

        None when neither is set: callers fail closed with the store's own error.
        """
        if self.credentials_key:
            return self.credentials_key
        key_file = self.credentials_key_file
        if not key_file:
            return None
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

    def warehouse_backend_name(self) -> str:
        """``duckdb`` (the default: one file, one writer at a time) or ``parquet`` (many writers)."""
        raw = self.warehouse_backend
        if raw is None or not raw.strip():
            return WAREHOUSE_BACKENDS[0]
        name = raw.strip().lower()
        if name not in WAREHOUSE_BACKENDS:
            raise SettingError(
                f"{WAREHOUSE_BACKEND_VAR}={raw!r} is not a warehouse backend; "
                f"use {' or '.join(WAREHOUSE_BACKENDS)}"
            )
        return name

    def clock(self, *, default: Clock | None = None) -> Clock:
        """``SPX_NOW`` pins the clock; unset means ``default`` or real time (``clock.clock_from_env``)."""
        return clock_from_env({} if self.now is None else {NOW_VAR: self.now}, default=default)


# Field → variable, for tooling and for declaring the same variables as ``dg.EnvVar`` fields.
VARIABLES: Final[Mapping[str, str]] = {
    "app_db_url": APP_DB_URL_VAR,
    "warehouse_path": WAREHOUSE_PATH_VAR,
    "warehouse_backend": WAREHOUSE_BACKEND_VAR,
    "create_dirs": CREATE_DIRS_VAR,
    "credentials_key": CREDENTIALS_KEY_VAR,
    "credentials_key_file": CREDENTIALS_KEY_FILE_VAR,
    "tradier_base_url": TRADIER_BASE_URL_VAR,
    "allow_live": ALLOW_LIVE_VAR,
    "allow_private_network": ALLOW_PRIVATE_NETWORK_VAR,
    "market_data_account": MARKET_DATA_ACCOUNT_VAR,
    "portfolio_sync": SYNC_FLAG,
    "now": NOW_VAR,
    "executor": EXECUTOR_VAR,
    "celery_broker_url": CELERY_BROKER_URL_VAR,
    "celery_backend_url": CELERY_BACKEND_URL_VAR,
    "io_dir": IO_DIR_VAR,
    "sync_shards": SYNC_SHARDS_VAR,
    "day_trade_guard_flag": DAY_TRADE_GUARD_VAR,
}


def _guard_flag(raw: str | None) -> FlagState:
    """On unless explicitly off: a mistyped value must not switch a safety guard off."""
    state = parse_flag(DAY_TRADE_GUARD_VAR, raw, default=True)
    if raw is not None and raw.strip().lower() not in _FALSE and not state.enabled:
        return FlagState(True, f"{DAY_TRADE_GUARD_VAR}={raw!r} is not a recognized value; the guard stays on")
    return state


def sync_flag() -> FlagState:
    """The gate for scheduled and sensor-driven portfolio syncs (default off)."""
    return Settings.from_env().portfolio_sync


def credentials_key_from_env() -> str | None:
    """The Fernet key of the current environment (``Settings.read_credentials_key``)."""
    return Settings.from_env().read_credentials_key()
