"""``spx-pipeline keygen`` and ``spx-pipeline credentials``: the encrypted broker-token store.

Tokens are read from standard input, never from argv (argv is visible in ``ps`` and shell
history), and no output ever contains a token or the ciphertext: listings show a fingerprint.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from spx_pipeline.cli import CliError
from spx_pipeline.cli.db import add_db_url_argument, open_app_db, operator_errors
from spx_pipeline.storage.credentials import ENVIRONMENTS, CredentialInfo, CredentialStore, generate_key
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


def _store(args: argparse.Namespace, *, require_key: bool) -> CredentialStore:
    db = open_app_db(args.db_url)
    with operator_errors():
        return CredentialStore(db, require_key=require_key)


def _describe(info: CredentialInfo) -> str:
    state = "active" if info.is_active else "inactive"
    return f"{info.account_id} ({info.environment}, {state}, fingerprint {info.token_fingerprint})"


def _keygen(args: argparse.Namespace) -> int:
    key = generate_key()
    print(key)
    print(
        f"# keep it secret and keep it safe: tokens stored under it are lost without it.\n"
        f"# export {ENV_CREDENTIALS_KEY}='<the key above>'",
        file=sys.stderr,
    )
    return 0


def _add(args: argparse.Namespace) -> int:
    store = _store(args, require_key=True)
    token = read_token_from_stdin()
    with operator_errors():
        info = store.add(args.account_id, token, label=args.label, environment=args.environment)
    print(f"added {_describe(info)}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    store = _store(args, require_key=True)
    token = read_token_from_stdin()
    with operator_errors():
        info = store.rotate(args.account_id, token)
    print(f"rotated {_describe(info)}")
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    store = _store(args, require_key=False)
    with operator_errors():
        changed = store.deactivate(args.account_id)
    print(f"deactivated {args.account_id}" if changed else f"{args.account_id} was already inactive")
    return 0


def _activate(args: argparse.Namespace) -> int:
    store = _store(args, require_key=True)
    with operator_errors():
        changed = store.activate(args.account_id)
    print(f"activated {args.account_id}" if changed else f"{args.account_id} was already active")
    return 0


def _verify(args: argparse.Namespace) -> int:
    store = _store(args, require_key=True)
    with operator_errors():
        count = store.verify_key()
    print(f"{ENV_CREDENTIALS_KEY} decrypts all {count} active token(s)")
    return 0


def _list(args: argparse.Namespace) -> int:
    store = _store(args, require_key=False)
    with operator_errors():
        infos = store.list()
    if not infos:
        print("no credentials stored; add one with `spx-pipeline credentials add --account-id ID < token`")
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
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keygen_help = f"print a new Fernet key for {ENV_CREDENTIALS_KEY} (the key on stdout, advice on stderr)"
    keygen = subparsers.add_parser("keygen", help=keygen_help, description=keygen_help)
    keygen.set_defaults(func=_keygen)

    parser = subparsers.add_parser("credentials", help="encrypted broker access tokens (token on stdin)")
    verbs = parser.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        add_db_url_argument(sub)
        return sub

    add = verb("add", _add, "store a new account's token, read from standard input")
    add.add_argument("--account-id", required=True, help="Tradier account number")
    add.add_argument("--label", default=None, help="free text shown in listings")
    add.add_argument("--environment", choices=ENVIRONMENTS, default="sandbox", help="default: sandbox")

    verb("list", _list, "list stored credentials (redacted: fingerprints only)")

    rotate = verb("rotate", _rotate, "replace an account's token, read from standard input")
    rotate.add_argument("account_id", metavar="ACCOUNT_ID")

    deactivate = verb("deactivate", _deactivate, "stop syncing an account (needs no key)")
    deactivate.add_argument("account_id", metavar="ACCOUNT_ID")

    activate = verb("activate", _activate, "resume syncing an account (its token must decrypt)")
    activate.add_argument("account_id", metavar="ACCOUNT_ID")

    verb("verify", _verify, f"check that {ENV_CREDENTIALS_KEY} decrypts every active token")
