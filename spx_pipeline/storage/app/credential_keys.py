"""The credential store's Fernet keys: loaded fail-closed, named without being revealed, checked cheaply.

``SPX_CREDENTIALS_KEY`` may hold several comma-separated keys: the first encrypts, all decrypt, so a
key can be rolled without downtime. Each key has an id, a keyed digest (HMAC-SHA256 of a fixed
label under the key's own bytes, truncated), stored beside every token it encrypted: whether the
current keys open the stored tokens is then a set comparison, not a decryption of every token. The
id says nothing about the key (nor the token) to whoever reads the table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Connection

from spx_pipeline.settings import CREDENTIALS_KEY_FILE_VAR, credentials_key_from_env
from spx_pipeline.storage.app.tables import broker_credentials
from spx_pipeline.storage.paths import ENV_CREDENTIALS_KEY

_KEY_ID_LABEL: Final = b"spx-pipeline credential key id v1"


class CredentialsKeyError(RuntimeError):
    """The encryption key is missing, malformed, or does not decrypt the stored tokens."""


@dataclass(frozen=True)
class CredentialKeys:
    """The loaded keys: one Fernet per key (first encrypts) and their ids, in the same order."""

    fernets: tuple[Fernet, ...]
    ids: tuple[str, ...]

    @property
    def cipher(self) -> MultiFernet:
        return MultiFernet(list(self.fernets))

    @property
    def encrypting_id(self) -> str:
        return self.ids[0]


def generate_key() -> str:
    """A new random Fernet key (urlsafe base64 text) for ``SPX_CREDENTIALS_KEY``."""
    return Fernet.generate_key().decode("ascii")


def key_id(key: bytes) -> str:
    """The id of one Fernet key (its urlsafe base64 text): 16 hex characters, not reversible."""
    raw = base64.urlsafe_b64decode(key)
    return hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def load_keys(key: str | None = None) -> CredentialKeys:
    """The keys in ``key`` (else ``SPX_CREDENTIALS_KEY`` / ``SPX_CREDENTIALS_KEY_FILE``).

    Missing or malformed keys fail closed with ``CredentialsKeyError``.
    """
    text = key if key is not None else credentials_key_from_env()
    if text is None or not text.strip():
        raise CredentialsKeyError(
            f"{ENV_CREDENTIALS_KEY} is not set (nor {CREDENTIALS_KEY_FILE_VAR}): broker tokens cannot "
            "be encrypted or decrypted, so nothing is synced. Create a key with `spx-pipeline keygen` "
            "and export it."
        )
    fernets: list[Fernet] = []
    ids: list[str] = []
    for position, part in enumerate((p.strip() for p in text.split(",")), start=1):
        try:
            encoded = part.encode("ascii")
            fernets.append(Fernet(encoded))
            ids.append(key_id(encoded))
        except (ValueError, UnicodeEncodeError, binascii.Error):
            # Deliberately no `from exc` detail: the message of a base64 error can quote the key.
            raise CredentialsKeyError(
                f"{ENV_CREDENTIALS_KEY} key #{position} is malformed: a Fernet key is 32 bytes of "
                "urlsafe base64 (44 characters), as printed by `spx-pipeline keygen`"
            ) from None
    return CredentialKeys(fernets=tuple(fernets), ids=tuple(ids))


def load_cipher(key: str | None = None) -> MultiFernet:
    """The cipher for ``key`` (see ``load_keys``): the first key encrypts, every key decrypts."""
    return load_keys(key).cipher


def check_keys_open_stored_tokens(
    conn: Connection, keys: CredentialKeys, *, replacing: str | None = None
) -> None:
    """Refuse to encrypt under keys that cannot decrypt the active tokens already stored.

    A valid but wrong key would otherwise store the new token happily, and every later sync
    would fail for every account (the stored tokens and the new one need different keys).
    The token being replaced by a rotation is exempt, and so are inactive accounts: after a
    lost key an operator deactivates the accounts, rotates each, and activates them again.
    Each row names the key that encrypted it (``key_id``), so this compares ids and decrypts
    nothing; rows stored before ids existed are decrypted once and stamped (in ``conn``'s
    transaction).
    """
    table = broker_credentials
    active = table.c.is_active.is_(True)
    if replacing is not None:
        active = active & (table.c.account_id != replacing)
    unreadable, total, examples = 0, 0, []
    by_key = conn.execute(
        sa.select(table.c.key_id, sa.func.count(), sa.func.min(table.c.account_id))
        .where(active & table.c.key_id.is_not(None))
        .group_by(table.c.key_id)
    )
    for stored_id, count, first in by_key:
        total += int(count)
        if stored_id not in keys.ids:
            unreadable += int(count)
            examples.append(str(first))
    legacy = conn.execute(
        sa.select(table.c.account_id, table.c.token_ciphertext)
        .where(active & table.c.key_id.is_(None))
        .order_by(table.c.account_id)
    ).all()
    for account_id, ciphertext in legacy:
        total += 1
        found = _id_of_key_that_opens(keys, ciphertext)
        if found is None:
            unreadable += 1
            examples.append(str(account_id))
        else:
            conn.execute(table.update().where(table.c.account_id == account_id).values(key_id=found))
    if unreadable:
        raise CredentialsKeyError(
            f"{ENV_CREDENTIALS_KEY} does not decrypt {unreadable} of {total} active stored "
            f"token(s) (e.g. account {min(examples)!r}); nothing was stored: use the key the tokens "
            "were stored with (several keys may be given, comma-separated, to roll to a new one)"
        )


def _id_of_key_that_opens(keys: CredentialKeys, ciphertext: str) -> str | None:
    """The id of the first key that decrypts ``ciphertext`` (None when none does)."""
    for fernet, found in zip(keys.fernets, keys.ids, strict=True):
        try:
            fernet.decrypt(ciphertext.encode("ascii"))
        except InvalidToken:
            continue
        return found
    return None
