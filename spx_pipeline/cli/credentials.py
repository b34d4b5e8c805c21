"""``spx-pipeline keygen`` and ``spx-pipeline credentials``: the encrypted broker-token store.

Tokens are read from standard input, never from argv (argv is visible in ``ps`` and shell
history), and no output ever contains a token or the ciphertext: listings show a fingerprint.
"""

from __future__ import annotations

import getpass
import sys

import click

from spx_pipeline.cli.common import (
    CliError,
    db_url_option,
    open_app_db,
    open_existing_app_db,
    operator_errors,
)
from spx_pipeline.cli.keys import local_key, missing_key_hint
from spx_pipeline.cli.render import align_columns
from spx_pipeline.storage.app.credentials import (
    ENVIRONMENTS,
    CredentialInfo,
    CredentialsKeyError,
    CredentialStore,
    generate_key,
)
from spx_pipeline.storage.paths import ENV_CREDENTIALS_KEY


def read_token_from_stdin() -> str:
    """The token from stdin (a hidden prompt on a terminal); one trailing newline is dropped."""
    if sys.stdin is None:
        raise CliError("no standard input to read the token from; pipe it in: `... < token.txt`")
    text = getpass.getpass("access token (input hidden): ") if sys.stdin.isatty() else sys.stdin.read()
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text.strip():
        raise CliError("token on standard input is empty; pipe the broker access token in")
    return text


def _store(db_url: str | None, *, require_key: bool, read_only: bool = False) -> CredentialStore:
    """The store, with the demo's key file when no key is configured (``cli.keys``).

    ``read_only`` verbs (list) open an existing, migrated database only.
    """
    existing = open_existing_app_db(db_url) if read_only else None  # a missing one: no key talk
    key = local_key(db_url)
    db = existing or open_app_db(db_url)
    try:
        with operator_errors():
            return CredentialStore(db, key=key, require_key=require_key)
    except CliError as exc:
        if isinstance(exc.__cause__, CredentialsKeyError):
            raise CliError(exc.message + missing_key_hint()) from exc.__cause__
        raise


def _describe(info: CredentialInfo) -> str:
    state = "active" if info.is_active else "inactive"
    return f"{info.account_id} ({info.environment}, {state}, fingerprint {info.token_fingerprint})"


@click.command(
    short_help=f"Print a new Fernet key for {ENV_CREDENTIALS_KEY}.",
    help=f"Print a new Fernet key for {ENV_CREDENTIALS_KEY} (the key on stdout, advice on stderr).",
)
def keygen() -> int:
    click.echo(generate_key())
    click.echo(
        f"# keep it secret and keep it safe: tokens stored under it are lost without it.\n"
        f"# export {ENV_CREDENTIALS_KEY}='<the key above>'",
        err=True,
    )
    return 0


account_id_argument = click.argument("account_id", metavar="ACCOUNT_ID")


@click.group()
def credentials() -> None:
    """Encrypted broker access tokens (token on stdin).

    The token is read from standard input, never from argv (argv shows in `ps` and shell history).

    The key comes from SPX_CREDENTIALS_KEY, else the file SPX_CREDENTIALS_KEY_FILE names, else
    (for the local data/app.sqlite only) the demo's data/credentials.key.

    \b
    Examples:
      spx-pipeline credentials add --account-id VA12345678 --label "main" < token.txt
      spx-pipeline credentials list
      spx-pipeline credentials rotate VA12345678 < new-token.txt
      spx-pipeline credentials verify
    """


@credentials.command("add")
@click.option("--account-id", required=True, help="Tradier account number")
@click.option("--label", default=None, help="free text shown in listings")
@click.option(
    "--environment", type=click.Choice(ENVIRONMENTS), default="sandbox", show_default=True, help="broker"
)
@db_url_option
def add(account_id: str, label: str | None, environment: str, db_url: str | None) -> int:
    """Store a new account's token, read from standard input."""
    store = _store(db_url, require_key=True)
    token = read_token_from_stdin()
    with operator_errors():
        info = store.add(account_id, token, label=label, environment=environment)
    click.echo(f"added {_describe(info)}")
    return 0


@credentials.command("rotate")
@account_id_argument
@db_url_option
def rotate(account_id: str, db_url: str | None) -> int:
    """Replace an account's token, read from standard input."""
    store = _store(db_url, require_key=True)
    token = read_token_from_stdin()
    with operator_errors():
        info = store.rotate(account_id, token)
    click.echo(f"rotated {_describe(info)}")
    return 0


def _switch(account_id: str, db_url: str | None, *, active: bool) -> int:
    # Switching off needs no key (an operator can always stop an account); on, the token must decrypt.
    store = _store(db_url, require_key=active)
    with operator_errors():
        changed = store.activate(account_id) if active else store.deactivate(account_id)
    state = "active" if active else "inactive"
    verb = "activated" if active else "deactivated"
    click.echo(f"{verb} {account_id}" if changed else f"{account_id} was already {state}")
    return 0


@credentials.command("deactivate")
@account_id_argument
@db_url_option
def deactivate(account_id: str, db_url: str | None) -> int:
    """Stop syncing an account (needs no key)."""
    return _switch(account_id, db_url, active=False)


@credentials.command("activate")
@account_id_argument
@db_url_option
def activate(account_id: str, db_url: str | None) -> int:
    """Resume syncing an account (its token must decrypt)."""
    return _switch(account_id, db_url, active=True)


@credentials.command("verify")
@db_url_option
def verify(db_url: str | None) -> int:
    """Check that the key decrypts every active token."""
    store = _store(db_url, require_key=True)
    with operator_errors():
        count = store.verify_key()
    click.echo(f"the key decrypts all {count} active token(s)")
    return 0


@credentials.command("list")
@db_url_option
def list_(db_url: str | None) -> int:
    """List stored credentials (redacted: fingerprints only)."""
    store = _store(db_url, require_key=False, read_only=True)
    with operator_errors():
        infos = store.list()
    if not infos:
        click.echo(
            "no credentials stored; add one with `spx-pipeline credentials add --account-id ID < token`"
        )
        return 0
    header = ("account", "label", "environment", "active", "fingerprint", "created", "updated")
    rows = [
        (
            i.account_id,
            i.label or "",
            i.environment,
            "yes" if i.is_active else "no",
            i.token_fingerprint,
            i.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            i.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
        for i in infos
    ]
    click.echo(align_columns(header, rows))
    return 0
