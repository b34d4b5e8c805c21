"""Encrypted credential store on SQLite and PostgreSQL: lifecycle, redaction, fail-closed keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from spx_pipeline.broker.secrets import SecretToken, token_fingerprint
from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.storage.app.credentials import (
    CredentialError,
    CredentialsKeyError,
    CredentialStore,
    UnknownAccountError,
    generate_key,
    load_cipher,
)
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.token_input import check_account_id

PLANTED = "PLANTED-tok-7f3a9c2e51d84b06"


def _table_text(db: AppDatabase) -> str:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM broker_credentials")).fetchall()
    return repr(rows)


def test_add_encrypts_and_lists_redacted(credential_store: CredentialStore, app_db: AppDatabase) -> None:
    info = credential_store.add("VA000001", PLANTED, label=" main ", environment="live")
    assert info.account_id == "VA000001"
    assert info.label == "main"
    assert info.environment == "live"
    assert info.is_active
    assert info.token_fingerprint == token_fingerprint(PLANTED)
    assert info.created_at.tzinfo is not None
    assert info.last_change == "added"
    assert PLANTED not in repr(credential_store.list())
    assert not hasattr(info, "token") and not hasattr(info, "token_ciphertext")
    stored = _table_text(app_db)
    assert PLANTED not in stored
    assert info.token_fingerprint in stored


def test_active_credentials_decrypt_lazily_to_the_original_token(credential_store: CredentialStore) -> None:
    credential_store.add("VA1", PLANTED)
    credential_store.add("VA2", "other-token")
    credential_store.deactivate("VA2")
    [cred] = credential_store.active_credentials()
    assert cred.account_id == "VA1"
    assert isinstance(cred.token, SecretToken)
    assert cred.token.reveal() == PLANTED
    assert PLANTED not in repr(cred) and PLANTED not in str(cred)


def test_active_account_ids_are_the_listing_s_active_accounts_in_order(
    credential_store: CredentialStore,
) -> None:
    for account in ("VB2", "VA1", "VC3", "VA0"):
        credential_store.add(account, f"token-{account}")
    credential_store.deactivate("VC3")
    expected = [c.account_id for c in credential_store.list() if c.is_active]
    assert credential_store.active_account_ids() == expected == ["VA0", "VA1", "VB2"]


def test_tokens_decrypt_only_on_reveal_and_fail_closed_there(
    credential_store: CredentialStore, app_db: AppDatabase
) -> None:
    credential_store.add("VA1", PLANTED)
    wrong = CredentialStore(app_db, key=generate_key())
    [cred] = wrong.active_credentials(verify=False)  # no decryption has happened yet
    assert cred.token.fingerprint == token_fingerprint(PLANTED)
    with pytest.raises(CredentialsKeyError, match="does not match the stored tokens") as info:
        cred.token.reveal()
    assert PLANTED not in str(info.value)


def test_rotate_changes_token_and_bumps_change_seq(credential_store: CredentialStore) -> None:
    first = credential_store.add("VA1", PLANTED)
    rotated = credential_store.rotate("VA1", "second-token")
    assert rotated.change_seq > first.change_seq
    assert rotated.rotated_at is not None and rotated.last_change == "rotated"
    assert rotated.token_fingerprint == token_fingerprint("second-token")
    assert credential_store.active_credentials()[0].token.reveal() == "second-token"


def test_changes_since_reports_activation_rotation_and_deactivation(
    credential_store: CredentialStore,
) -> None:
    credential_store.add("VA1", "t1")
    credential_store.add("VA2", "t2")
    cursor = credential_store.latest_change_seq()
    assert [c.account_id for c in credential_store.changes_since(0)] == ["VA1", "VA2"]
    assert credential_store.changes_since(cursor) == []

    assert credential_store.deactivate("VA1") is True
    assert credential_store.deactivate("VA1") is False  # no-op does not bump
    changes = credential_store.changes_since(cursor)
    assert [(c.account_id, c.last_change, c.is_active) for c in changes] == [("VA1", "deactivated", False)]

    cursor = credential_store.latest_change_seq()
    credential_store.rotate("VA2", "t2b")
    assert credential_store.activate("VA1") is True
    changes = credential_store.changes_since(cursor)
    assert [(c.account_id, c.last_change) for c in changes] == [("VA2", "rotated"), ("VA1", "activated")]
    assert changes[0].change_seq < changes[1].change_seq == credential_store.latest_change_seq()


@pytest.mark.parametrize("token", ["", "   ", "\n"])
def test_empty_token_is_refused_naming_the_field(credential_store: CredentialStore, token: str) -> None:
    with pytest.raises(ValueError, match="token is empty"):
        credential_store.add("VA1", token)
    assert credential_store.list() == []


@pytest.mark.parametrize("account_id", ["VA-123", "A" * 64, "VA.1", "VA_1", "ＶＡ1", "VA1\n2"])
def test_account_ids_the_client_would_refuse_are_refused_at_entry(
    sqlite_app_db: AppDatabase, credentials_key: str, account_id: str
) -> None:
    """One validator: an id stored here must be one every sync can put in its URL."""
    credential_store = CredentialStore(sqlite_app_db, key=credentials_key)
    with pytest.raises(ValueError, match="account_id"):
        TradierClient("tok-000000000000", base_url="http://127.0.0.1:9/v1").get_balances(account_id)
    with pytest.raises(CredentialError, match=r"account_id .* is not valid: use 1-32 letters or digits"):
        credential_store.add(account_id, PLANTED)
    assert credential_store.list() == []


@given(account_id=st.text(alphabet=st.characters(codec="ascii"), min_size=0, max_size=40))
def test_the_store_accepts_exactly_the_ids_the_client_accepts(account_id: str) -> None:
    try:
        stored = check_account_id(account_id)
    except CredentialError:
        stored = None
    try:
        accepted = validate_account_id(account_id.strip())
    except ValueError:
        accepted = None
    assert stored == accepted


def test_bad_environment_account_and_duplicates_are_refused(credential_store: CredentialStore) -> None:
    with pytest.raises(CredentialError, match="environment 'paper' is not valid"):
        credential_store.add("VA1", PLANTED, environment="paper")
    with pytest.raises(CredentialError, match="account_id 'has space' is not valid"):
        credential_store.add("has space", PLANTED)
    with pytest.raises(CredentialError, match="whitespace inside") as info:
        credential_store.add("VA1", "two words")
    assert "two words" not in str(info.value)
    credential_store.add("VA1", PLANTED)
    with pytest.raises(CredentialError, match="'VA1' already has a credential"):
        credential_store.add("VA1", "another")
    with pytest.raises(UnknownAccountError, match="'VA9'"):
        credential_store.rotate("VA9", "x")
    with pytest.raises(UnknownAccountError):
        credential_store.deactivate("VA9")


def test_missing_key_fails_closed_naming_the_variable(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPX_CREDENTIALS_KEY", raising=False)
    monkeypatch.delenv("SPX_CREDENTIALS_KEY_FILE", raising=False)
    with pytest.raises(CredentialsKeyError, match="SPX_CREDENTIALS_KEY is not set"):
        CredentialStore(app_db)
    listing = CredentialStore(app_db, require_key=False)
    assert listing.list() == []
    with pytest.raises(CredentialsKeyError, match="SPX_CREDENTIALS_KEY is not set"):
        listing.active_credentials()


def test_malformed_key_is_refused_without_echoing_it(app_db: AppDatabase) -> None:
    bad = "not-a-real-key-0123456789"
    with pytest.raises(CredentialsKeyError, match="malformed") as info:
        CredentialStore(app_db, key=bad)
    assert bad not in str(info.value)
    assert info.value.__cause__ is None


def test_wrong_key_is_detected_before_any_token_is_handed_out(
    credential_store: CredentialStore, app_db: AppDatabase
) -> None:
    credential_store.add("VA1", PLANTED)
    wrong_key = generate_key()
    wrong = CredentialStore(app_db, key=wrong_key)
    with pytest.raises(CredentialsKeyError, match="does not match the stored tokens") as info:
        wrong.active_credentials()
    text = str(info.value)
    assert PLANTED not in text and wrong_key not in text
    with pytest.raises(CredentialsKeyError):
        wrong.verify_key()
    with pytest.raises(CredentialsKeyError):
        wrong.activate("VA1")
    assert credential_store.verify_key() == 1


def test_key_can_be_rolled_with_a_comma_separated_list(credential_store: CredentialStore, app_db: AppDatabase,
                                                       credentials_key: str) -> None:  # fmt: skip
    credential_store.add("VA1", PLANTED)
    new_key = generate_key()
    rolled = CredentialStore(app_db, key=f"{new_key},{credentials_key}")
    assert rolled.verify_key() == 1
    rolled.rotate("VA1", PLANTED)  # re-encrypts under the new key
    assert CredentialStore(app_db, key=new_key).active_credentials()[0].token.reveal() == PLANTED


def test_generated_keys_are_distinct_fernet_keys() -> None:
    a, b = generate_key(), generate_key()
    assert a != b and len(a) == 44
    assert load_cipher(a).decrypt(load_cipher(a).encrypt(b"x")) == b"x"


def test_planted_token_is_absent_from_the_sqlite_file(
    sqlite_app_db: AppDatabase, credentials_key: str
) -> None:
    store = CredentialStore(sqlite_app_db, key=credentials_key)
    store.add("VA1", PLANTED)
    store.rotate("VA1", PLANTED + "-rotated")
    sqlite_app_db.dispose()
    path = sqlite_app_db.engine.url.database
    assert path is not None
    data = Path(path).read_bytes()
    assert PLANTED.encode() not in data
    assert token_fingerprint(PLANTED + "-rotated").encode() in data  # the file is really being searched


@pytest.mark.parametrize("bad", ["tok\x00en-123", "tok\x7fen-123", "token-€-123"])
def test_tokens_the_http_layer_would_refuse_are_refused_at_entry_without_echoing_them(
    sqlite_app_db: AppDatabase, credentials_key: str, bad: str
) -> None:
    store = CredentialStore(sqlite_app_db, key=credentials_key)
    with pytest.raises(CredentialError, match="token is not usable") as info:
        store.add("ACCBAD", bad)
    assert bad not in str(info.value)
    assert store.list() == []


def test_adding_accounts_decrypts_no_stored_token(
    credential_store: CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key check compares stored key ids: adding the n-th account costs no decryption."""
    from cryptography.fernet import Fernet

    decrypted: list[bytes] = []
    real = Fernet.decrypt

    def counting(self: Fernet, token: bytes | str, ttl: int | None = None) -> bytes:
        decrypted.append(token if isinstance(token, bytes) else token.encode())
        return real(self, token, ttl)

    monkeypatch.setattr(Fernet, "decrypt", counting)
    for n in range(12):
        credential_store.add(f"VA{n}", f"{PLANTED}-{n}")
    credential_store.rotate("VA3", PLANTED)
    assert decrypted == []
    assert credential_store.verify_key() == 12  # the sync-time check still decrypts each, once


def test_key_ids_name_the_encrypting_key_and_never_the_key_or_token(
    credential_store: CredentialStore, app_db: AppDatabase, credentials_key: str
) -> None:
    credential_store.add("VA1", PLANTED)
    with app_db.engine.connect() as conn:
        (stored,) = conn.execute(sa.text("SELECT key_id FROM broker_credentials")).one()
    assert stored == credential_store.keys.encrypting_id
    assert len(stored) == 16 and stored not in credentials_key and stored not in PLANTED
    other = generate_key()
    with pytest.raises(CredentialsKeyError, match="does not decrypt 1 of 1 active stored token"):
        CredentialStore(app_db, key=other).add("VA2", PLANTED)
    CredentialStore(app_db, key=f"{other},{credentials_key}").add("VA2", PLANTED)  # a rolled key opens it


def test_tokens_stored_before_key_ids_are_checked_once_and_stamped(
    credential_store: CredentialStore, app_db: AppDatabase
) -> None:
    credential_store.add("VA1", PLANTED)
    with app_db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE broker_credentials SET key_id = NULL"))
    with pytest.raises(CredentialsKeyError, match="does not decrypt 1 of 1"):
        CredentialStore(app_db, key=generate_key()).add("VA2", PLANTED)
    credential_store.add("VA2", PLANTED)
    with app_db.engine.connect() as conn:
        ids = {row[0] for row in conn.execute(sa.text("SELECT key_id FROM broker_credentials"))}
    assert ids == {credential_store.keys.encrypting_id}


def _chosen_the_old_way(store: CredentialStore, wanted: str | None) -> object:
    """What the market data step did before ``active_credential``: verify every token, then choose."""
    store.verify_key()
    chosen = [c for c in store.active_credentials(verify=False) if wanted is None or c.account_id == wanted]
    return chosen[0] if chosen else None


def _outcome(choose: object) -> object:
    try:
        credential = choose()  # type: ignore[operator]
    except CredentialsKeyError as exc:
        return ("refused", str(exc))
    return None if credential is None else (credential.account_id, credential.token.reveal())


def _copy_ciphertext(db: AppDatabase, source: str, target: str) -> None:
    table = sa.table("broker_credentials", sa.column("account_id"), sa.column("token_ciphertext"))
    with db.engine.begin() as conn:
        text = conn.execute(sa.select(table.c.token_ciphertext).where(table.c.account_id == source)).scalar()
        conn.execute(table.update().where(table.c.account_id == target).values(token_ciphertext=text))


def test_one_active_credential_is_chosen_and_refused_as_verifying_every_token_would(
    credential_store: CredentialStore, app_db: AppDatabase
) -> None:
    for account in ("VA3", "VA1", "VA2", "VA4"):
        credential_store.add(account, f"{PLANTED}-{account}")
    credential_store.deactivate("VA2")
    wrong = CredentialStore(app_db, key=generate_key())
    wanted_ones = [None, "VA1", "VA2", "VA3", "VA9"]

    def compare(store: CredentialStore) -> list[object]:
        new = [_outcome(lambda w=w: store.active_credential(w)) for w in wanted_ones]
        assert new == [_outcome(lambda w=w: _chosen_the_old_way(store, w)) for w in wanted_ones]
        return new

    assert compare(credential_store) == [
        ("VA1", f"{PLANTED}-VA1"), ("VA1", f"{PLANTED}-VA1"), None, ("VA3", f"{PLANTED}-VA3"), None,
    ]  # fmt: skip
    refused = compare(wrong)  # a wrong key: the first active account's token names it, as before
    assert all(r == refused[0] for r in refused) and "account 'VA1' cannot be decrypted" in str(refused[0])
    _copy_ciphertext(app_db, "VA4", "VA3")  # another account's token under VA3
    expected = ("refused", "the token stored for account 'VA3' does not match its fingerprint; "
                "re-enter it with `credentials rotate`")  # fmt: skip
    assert _outcome(lambda: credential_store.active_credential("VA3")) == expected
    assert _outcome(lambda: _chosen_the_old_way(credential_store, "VA3")) == expected
    # The one difference: a step that uses VA1's token no longer stops for VA3's; the sync still does.
    assert _outcome(lambda: credential_store.active_credential(None)) == ("VA1", f"{PLANTED}-VA1")
    assert _outcome(lambda: _chosen_the_old_way(credential_store, None)) == expected
    _copy_ciphertext(app_db, "VA4", "VA1")  # now the first active token is wrong too: it is named first
    assert all("'VA1' does not match its fingerprint" in str(r) for r in compare(credential_store))
