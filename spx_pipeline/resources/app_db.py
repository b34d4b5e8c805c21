"""The app database (credentials, setups, trades, account limits) as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from spx_pipeline.settings import SettingError, Settings
from spx_pipeline.storage.app.acknowledgements import AcknowledgementStore
from spx_pipeline.storage.app.credentials import CredentialStore
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.limits import LimitStore
from spx_pipeline.storage.app.setups import SetupStore
from spx_pipeline.storage.app.trades import TradeStore


class AppDatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy URL; None means SPX_APP_DB_URL or the SQLite file under data/.

    The Fernet key is deliberately not a config field: it is read from SPX_CREDENTIALS_KEY
    (or SPX_CREDENTIALS_KEY_FILE) when the store is opened, so it never lands in run config.
    """

    url: str | None = None
    # The variable ``url`` was declared from (``dg.EnvVar``), so a bad value's message names it.
    setting: str | None = None
    _database: AppDatabase | None = PrivateAttr(default=None)

    def database(self) -> AppDatabase:
        """The app database, migrated to the latest version (missing tables are created)."""
        if self._database is None:
            try:
                database = AppDatabase(self.url, setting=self.setting)
            except SettingError as exc:
                # A wrong setting is the operator's to fix: say which, without a code traceback.
                raise dg.Failure(description=str(exc)) from None
            database.upgrade()
            self._database = database
        return self._database

    def credential_store(self, *, verify: bool = True) -> CredentialStore:
        """Credential store whose key is verified before anything is synced (fail closed).

        ``verify=False`` (a shard of a sync whose plan step verified it) skips decrypting every
        active token up front; each token still decrypts, or fails closed, when it is used.
        """
        try:
            key = Settings.from_env().read_credentials_key()
        except SettingError as exc:
            raise dg.Failure(description=str(exc)) from None
        store = CredentialStore(self.database(), key=key)
        if verify:
            store.verify_key()
        return store

    def setup_store(self) -> SetupStore:
        return SetupStore(self.database())

    def credential_listing(self) -> CredentialStore:
        """Store for redacted listings and change tracking only: needs no key, decrypts nothing."""
        return CredentialStore(self.database(), key=None, require_key=False)

    def trade_store(self) -> TradeStore:
        """Trades, their orders and events: the system of record for what is sent to the broker."""
        return TradeStore(self.database())

    def acknowledgement_store(self) -> AcknowledgementStore:
        """Positions an operator acknowledged (``spx-pipeline positions acknowledge``)."""
        return AcknowledgementStore(self.database())

    def limit_store(self) -> LimitStore:
        """Per-account risk limits set with ``spx-pipeline limits set``."""
        return LimitStore(self.database())
