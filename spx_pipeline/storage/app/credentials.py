"""Broker access tokens encrypted at rest with Fernet, keyed by ``SPX_CREDENTIALS_KEY``.

The app database only ever holds
the Fernet ciphertext and a sha256 fingerprint; the clear token exists in memory only inside a
``SecretToken`` that decrypts when the HTTP transport asks for it. Without a key, or with the
wrong one, every path that needs a token fails closed with ``CredentialsKeyError`` before any sync
starts (``verify_key``), and no message ever contains a key or a token.

``SPX_CREDENTIALS_KEY`` may hold several comma-separated keys: the first encrypts, all decrypt, so
a key can be rolled without downtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import sqlalchemy as sa
from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy.engine import Connection

from spx_pipeline.broker.secrets import SecretToken, token_fingerprint
from spx_pipeline.domain.tradier.enums import ENVIRONMENTS
from spx_pipeline.storage.app.credential_keys import (
    CredentialKeys,
    CredentialsKeyError,
    check_keys_open_stored_tokens,
    generate_key,
    load_cipher,
    load_keys,
)
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import app_counters, broker_credentials
from spx_pipeline.storage.app.token_input import (
    CredentialError,
    check_account_id,
    check_environment,
    check_token,
    clean_label,
)
from spx_pipeline.storage.paths import ENV_CREDENTIALS_KEY

# Re-exported: the key and input helpers are part of the credential store's public names.
__all__ = [
    "ENVIRONMENTS",
    "CredentialError",
    "CredentialInfo",
    "CredentialStore",
    "CredentialsKeyError",
    "StoredCredential",
    "UnknownAccountError",
    "generate_key",
    "load_cipher",
]

Environment = Literal["sandbox", "live"]
ChangeKind = Literal["added", "rotated", "activated", "deactivated"]

_CHANGE_COUNTER: Final = "broker_credentials.change_seq"


class UnknownAccountError(CredentialError):
    """No credential is stored for the account."""


@dataclass(frozen=True)
class CredentialInfo:
    """Redacted view of one stored credential: safe to print, log and copy to the warehouse."""

    account_id: str
    label: str | None
    environment: str
    is_active: bool
    token_fingerprint: str
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None
    rotated_at: datetime | None
    deactivated_at: datetime | None
    change_seq: int
    last_change: str


@dataclass(frozen=True)
class StoredCredential:
    """An active credential ready for the broker client; the token decrypts on first use."""

    account_id: str
    label: str | None
    environment: str
    token: SecretToken


_ROWS: Final = RowMapping(CredentialInfo, broker_credentials)


class CredentialStore:
    """Encrypted broker credentials in the app database.

    By default the key is resolved (and checked) at construction. ``require_key=False`` defers
    that to the first operation that touches a token (add, rotate, activate, decrypting), so
    listings, change tracking and deactivation work without it: an operator can always switch an
    account off.
    """

    def __init__(self, appdb: AppDatabase, key: str | None = None, *, require_key: bool = True) -> None:
        self._db = appdb
        self._key = key
        self._keys: CredentialKeys | None = None
        if require_key:
            self._keys = load_keys(key)  # missing or malformed keys fail here, before any work

    @property
    def keys(self) -> CredentialKeys:
        if self._keys is None:
            self._keys = load_keys(self._key)
        return self._keys

    @property
    def cipher(self) -> MultiFernet:
        return self.keys.cipher

    # -- writes ---------------------------------------------------------------------------

    def add(
        self,
        account_id: str,
        token: str,
        *,
        label: str | None = None,
        environment: str = "sandbox",
    ) -> CredentialInfo:
        """Store a new account's token (encrypted); an existing account is an error: use rotate."""
        account_id = check_account_id(account_id)
        env = check_environment(environment)
        clean = check_token(token)
        self._check_key_opens_stored_tokens()
        ciphertext = self._encrypt(clean)
        now = self._db.clock.now()
        with self._db.engine.begin() as conn:
            if _row(conn, account_id) is not None:
                raise CredentialError(
                    f"account {account_id!r} already has a credential; use `credentials rotate` to replace "
                    "its token"
                )
            info = CredentialInfo(
                account_id=account_id,
                label=clean_label(label),
                environment=env,
                is_active=True,
                token_fingerprint=token_fingerprint(clean),
                created_at=now,
                updated_at=now,
                activated_at=now,
                rotated_at=None,
                deactivated_at=None,
                change_seq=_next_seq(conn),
                last_change="added",
            )
            try:
                conn.execute(
                    broker_credentials.insert().values(
                        **_ROWS.values(info, token_ciphertext=ciphertext, key_id=self.keys.encrypting_id)
                    )
                )
            except sa.exc.IntegrityError:
                raise CredentialError(f"account {account_id!r} already has a credential") from None
        return self.get(account_id)

    def rotate(self, account_id: str, token: str) -> CredentialInfo:
        """Replace an account's token; its active flag stays as it is."""
        clean = check_token(token)
        self._check_key_opens_stored_tokens(replacing=account_id)
        ciphertext = self._encrypt(clean)
        now = self._db.clock.now()
        with self._db.engine.begin() as conn:
            self._require(conn, account_id)
            conn.execute(
                broker_credentials.update()
                .where(broker_credentials.c.account_id == account_id)
                .values(
                    token_ciphertext=ciphertext,
                    token_fingerprint=token_fingerprint(clean),
                    key_id=self.keys.encrypting_id,
                    updated_at=now,
                    rotated_at=now,
                    change_seq=_next_seq(conn),
                    last_change="rotated",
                )
            )
        return self.get(account_id)

    def deactivate(self, account_id: str) -> bool:
        """Stop syncing the account; False when it was already inactive. Needs no key."""
        return self._set_active(account_id, active=False)

    def activate(self, account_id: str) -> bool:
        """Resume syncing; the stored token must decrypt with the current key first."""
        with self._db.engine.connect() as conn:
            row = self._require(conn, account_id)
        self._decrypt(row.token_ciphertext, account_id)
        return self._set_active(account_id, active=True)

    # -- reads ----------------------------------------------------------------------------

    def get(self, account_id: str) -> CredentialInfo:
        with self._db.engine.connect() as conn:
            return _info(self._require(conn, account_id))

    def list(self) -> list[CredentialInfo]:
        """Every credential, redacted, by account id."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(sa.select(broker_credentials).order_by(broker_credentials.c.account_id))
            return [_info(row) for row in rows]

    def active_account_ids(self) -> list[str]:
        """The accounts whose credential is active, by account id: one column read, nothing decoded."""
        query = (
            sa.select(broker_credentials.c.account_id)
            .where(broker_credentials.c.is_active.is_(True))
            .order_by(broker_credentials.c.account_id)
        )
        with self._db.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def changes_since(self, seq: int) -> list[CredentialInfo]:
        """Credentials whose latest change is newer than ``seq`` (a sensor cursor), oldest first.

        ``last_change`` tells what happened (added/rotated/activated/deactivated). Only the
        latest change per account is visible, which is all a sensor needs to decide to re-sync.
        """
        with self._db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(broker_credentials)
                .where(broker_credentials.c.change_seq > seq)
                .order_by(broker_credentials.c.change_seq)
            )
            return [_info(row) for row in rows]

    def latest_change_seq(self) -> int:
        """The newest change number (0 when nothing was ever stored)."""
        with self._db.engine.connect() as conn:
            value = conn.execute(
                sa.select(app_counters.c.value).where(app_counters.c.name == _CHANGE_COUNTER)
            ).scalar_one_or_none()
        return int(value or 0)

    def verify_key(self) -> int:
        """Decrypt every active token now so a wrong key fails before any sync; returns the count.

        Also checks each decrypted token against its stored fingerprint, which catches a row whose
        ciphertext was copied from another account.
        """
        _ = self.cipher  # no key fails closed even when no account is active yet
        rows = self._active_rows()
        for row in rows:
            self._verify_row(row)
        return len(rows)

    def active_credentials(self, *, verify: bool = True) -> list[StoredCredential]:
        """Active accounts with lazily decrypted tokens; ``verify`` checks the key up front."""
        if verify:
            self.verify_key()
        else:
            _ = self.cipher  # a missing key still fails here, not in the middle of a sync
        return [self._stored(row) for row in self._active_rows()]

    def active_credential(self, account_id: str | None = None) -> StoredCredential | None:
        """The active credential of ``account_id`` (None: the first active one by account id), or None.

        For a step that uses one token (the market data): it reads and decrypts at most two rows, not
        every account's. The key is verified, as ``verify_key`` does, on the first active token,
        where ``verify_key`` itself would report a wrong key (so the error is the same), and on the
        token returned; a bad row among the other accounts is the sync's to find.
        """
        _ = self.cipher  # no key fails closed even when no account is active
        active = broker_credentials.c.is_active.is_(True)
        first = sa.select(broker_credentials).where(active).order_by(broker_credentials.c.account_id).limit(1)
        with self._db.engine.connect() as conn:
            rows = list(conn.execute(first))
            if account_id is not None and (not rows or rows[0].account_id != account_id):
                rows += conn.execute(
                    sa.select(broker_credentials).where(active, broker_credentials.c.account_id == account_id)
                )
        for row in rows:
            self._verify_row(row)
        chosen = [row for row in rows if account_id is None or row.account_id == account_id]
        return self._stored(chosen[0]) if chosen else None

    # -- internals ------------------------------------------------------------------------

    def _check_key_opens_stored_tokens(self, *, replacing: str | None = None) -> None:
        with self._db.engine.begin() as conn:
            check_keys_open_stored_tokens(conn, self.keys, replacing=replacing)

    def _active_rows(self) -> list[sa.Row[tuple[object, ...]]]:
        with self._db.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(broker_credentials)
                    .where(broker_credentials.c.is_active.is_(True))
                    .order_by(broker_credentials.c.account_id)
                )
            )

    def _verify_row(self, row: sa.Row[tuple[object, ...]]) -> None:
        clear = self._decrypt(row.token_ciphertext, row.account_id)
        if token_fingerprint(clear) != row.token_fingerprint:
            raise CredentialsKeyError(
                f"the token stored for account {row.account_id!r} does not match its fingerprint; "
                "re-enter it with `credentials rotate`"
            )

    def _stored(self, row: sa.Row[tuple[object, ...]]) -> StoredCredential:
        return StoredCredential(
            account_id=row.account_id,
            label=row.label,
            environment=row.environment,
            token=SecretToken(
                self._decryptor(row.token_ciphertext, row.account_id), fingerprint=row.token_fingerprint
            ),
        )

    def _set_active(self, account_id: str, *, active: bool) -> bool:
        now = self._db.clock.now()
        with self._db.engine.begin() as conn:
            row = self._require(conn, account_id)
            if bool(row.is_active) == active:
                return False
            values: dict[str, object] = {
                "is_active": active,
                "updated_at": now,
                "change_seq": _next_seq(conn),
                "last_change": "activated" if active else "deactivated",
            }
            values["activated_at" if active else "deactivated_at"] = now
            conn.execute(
                broker_credentials.update()
                .where(broker_credentials.c.account_id == account_id)
                .values(**values)
            )
        return True

    def _require(self, conn: Connection, account_id: str) -> sa.Row[tuple[object, ...]]:
        row = _row(conn, account_id)
        if row is None:
            raise UnknownAccountError(f"no credential is stored for account {account_id!r}")
        return row

    def _encrypt(self, token: str) -> str:
        return self.cipher.encrypt(token.encode("utf-8")).decode("ascii")

    def _decrypt(self, ciphertext: str, account_id: str) -> str:
        try:
            return self.cipher.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise CredentialsKeyError(
                f"{ENV_CREDENTIALS_KEY} does not match the stored tokens (account {account_id!r} cannot "
                "be decrypted): use the key the tokens were stored with, or re-enter them with "
                "`credentials rotate`"
            ) from None

    def _decryptor(self, ciphertext: str, account_id: str) -> Callable[[], str]:
        def decrypt() -> str:
            return self._decrypt(ciphertext, account_id)

        return decrypt

    def __repr__(self) -> str:
        return f"CredentialStore({self._db!r})"


def _row(conn: Connection, account_id: str) -> sa.Row[tuple[object, ...]] | None:
    return conn.execute(
        sa.select(broker_credentials).where(broker_credentials.c.account_id == account_id)
    ).one_or_none()


def _next_seq(conn: Connection) -> int:
    # UPDATE first: it takes the row lock, so concurrent writers get distinct, increasing numbers.
    conn.execute(
        app_counters.update()
        .where(app_counters.c.name == _CHANGE_COUNTER)
        .values(value=app_counters.c.value + 1)
    )
    counter = sa.select(app_counters.c.value).where(app_counters.c.name == _CHANGE_COUNTER)
    return int(conn.execute(counter).scalar_one())


def _info(row: sa.Row[tuple[object, ...]]) -> CredentialInfo:
    return _ROWS.read(row._mapping)
