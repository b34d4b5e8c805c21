"""What an operator may type for a credential: checked at entry, with messages that never echo a token."""

from __future__ import annotations

from spx_pipeline.broker.secrets import check_token_text
from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.domain.tradier.enums import ENVIRONMENTS


class CredentialError(ValueError):
    """An operator-level problem with a credential: bad input, unknown or duplicate account."""


def check_account_id(account_id: str) -> str:
    """The broker client's own rule (``domain.accounts``), so a stored account can always be synced."""
    text = account_id.strip() if isinstance(account_id, str) else account_id
    try:
        return validate_account_id(text)
    except ValueError:
        raise CredentialError(
            f"account_id {account_id!r} is not valid: use 1-32 letters or digits (the broker's account "
            "number, e.g. VA12345678)"
        ) from None


def check_environment(environment: str) -> str:
    if environment not in ENVIRONMENTS:
        raise CredentialError(f"environment {environment!r} is not valid: use 'sandbox' or 'live'")
    return environment


def check_token(token: str) -> str:
    # Messages here never include the value: a mistyped token is still a secret.
    if not isinstance(token, str) or not token.strip():
        raise CredentialError("token is empty: pass the broker access token on standard input")
    clean = token.strip()
    if any(ch.isspace() for ch in clean):
        raise CredentialError("token contains whitespace inside it; an access token is a single word")
    try:
        # Refuse at entry what the HTTP layer would refuse at the first sync (control, non-ASCII).
        check_token_text(clean)
    except ValueError as exc:
        raise CredentialError(f"token is not usable: {exc}") from None
    return clean


def clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    text = label.strip()
    return text or None
