"""Balances for many accounts at once, one result per account, failures included.

A sequential loop spends its time waiting on round trips, and one stuck account delays every
account after it. Here accounts are grouped by token fingerprint (and host): each group gets one
client (one pooled Session, one shared rate limiter), runs on a bounded thread pool, and asks
``/user/balances`` once when its token holds several accounts (Tradier's documented way to avoid N
calls), falling back to per-account calls for accounts that request fails or misses. Errors are
captured per account, never raised, so one bad token cannot block the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from spx_pipeline.broker.secrets import SecretToken, redact
from spx_pipeline.broker.tradier.client import LIVE_BASE_URL, SANDBOX_BASE_URL, TradierClient
from spx_pipeline.broker.tradier.errors import TradierAuthError, TradierError
from spx_pipeline.broker.tradier.models import Balances

ENVIRONMENTS: Final[Mapping[str, str]] = {"sandbox": SANDBOX_BASE_URL, "live": LIVE_BASE_URL}


@dataclass(frozen=True, slots=True)
class AccountCredential:
    """Which account to sync with which token; ``environment`` picks the host (sandbox or live)."""

    account_id: str
    token: SecretToken
    environment: str = "sandbox"

    def __post_init__(self) -> None:
        if not isinstance(self.account_id, str) or not self.account_id:
            raise ValueError(f"account_id must be a non-empty string, got {self.account_id!r}")
        if not isinstance(self.token, SecretToken):
            raise TypeError(f"token for account {self.account_id} must be a SecretToken")
        if self.environment not in ENVIRONMENTS:
            raise ValueError(
                f"environment for account {self.account_id} is {self.environment!r}; expected one of "
                f"{sorted(ENVIRONMENTS)}"
            )


@dataclass(frozen=True, slots=True)
class BalanceResult:
    account_id: str
    balances: Balances | None
    error: TradierError | None
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.error is None


ClientFactory = Callable[[SecretToken, str], TradierClient]


def fetch_balances_many(
    credentials: Iterable[AccountCredential],
    *,
    max_workers: int = 32,
    base_url: str | None = None,
    allow_live: bool | None = None,
    client_factory: ClientFactory | None = None,
    **client_kwargs: Any,
) -> list[BalanceResult]:
    """One ``BalanceResult`` per credential, in input order.

    ``base_url`` (else ``TRADIER_BASE_URL``, else the credential's environment) selects the host;
    ``client_kwargs`` go to ``TradierClient`` (retry, timeout, registry...). ``client_factory``
    replaces client construction entirely (tests, custom transports).
    """
    creds = list(credentials)
    if max_workers < 1:
        raise ValueError(f"max_workers must be >= 1, got {max_workers}")
    if not creds:
        return []
    env_url = None if base_url else _env_base_url()
    groups: dict[tuple[str, str], list[AccountCredential]] = {}
    tokens: dict[tuple[str, str], SecretToken] = {}
    for cred in creds:
        url = base_url or env_url or ENVIRONMENTS[cred.environment]
        key = (cred.token.fingerprint, url)
        groups.setdefault(key, []).append(cred)
        tokens.setdefault(key, cred.token)

    def make_client(token: SecretToken, url: str) -> TradierClient:
        if client_factory is not None:
            return client_factory(token, url)
        return TradierClient(token, base_url=url, allow_live=allow_live, pool_maxsize=2, **client_kwargs)

    results: dict[tuple[str, str], dict[str, BalanceResult]] = {}
    workers = min(max_workers, len(groups))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tradier-balances") as pool:
        futures = {
            key: pool.submit(_fetch_group, make_client, tokens[key], key[1], members)
            for key, members in groups.items()
        }
        for key, future in futures.items():
            results[key] = future.result()
    out = []
    for cred in creds:
        url = base_url or env_url or ENVIRONMENTS[cred.environment]
        out.append(results[(cred.token.fingerprint, url)][cred.account_id])
    return out


def _env_base_url() -> str | None:
    import os

    return os.environ.get("TRADIER_BASE_URL") or None


def _fetch_group(
    make_client: Callable[[SecretToken, str], TradierClient],
    token: SecretToken,
    url: str,
    members: list[AccountCredential],
) -> dict[str, BalanceResult]:
    """All accounts of one token: at most one /user/balances, then per-account for the rest."""
    started = time.perf_counter()
    wanted = list(dict.fromkeys(cred.account_id for cred in members))
    try:
        client = make_client(token, url)
    except Exception as exc:
        error = _as_tradier_error(exc, token)
        return {acct: BalanceResult(acct, None, error, time.perf_counter() - started) for acct in wanted}
    results: dict[str, BalanceResult] = {}
    try:
        if len(wanted) > 1:
            try:
                by_number = {b.account_number: b for b in client.get_user_balances()}
            except TradierAuthError as exc:
                # The same token would fail every per-account call too: don't spend requests on it.
                elapsed = time.perf_counter() - started
                return {acct: BalanceResult(acct, None, exc, elapsed) for acct in wanted}
            except Exception:
                by_number = {}
            elapsed = time.perf_counter() - started
            for acct in wanted:
                if acct in by_number:
                    results[acct] = BalanceResult(acct, by_number[acct], None, elapsed)
        for acct in wanted:
            if acct in results:
                continue
            one_started = time.perf_counter()
            try:
                balances = client.get_balances(acct)
                results[acct] = BalanceResult(acct, balances, None, time.perf_counter() - one_started)
            except Exception as exc:
                error = _as_tradier_error(exc, token)
                results[acct] = BalanceResult(acct, None, error, time.perf_counter() - one_started)
    finally:
        client.close()
    return results


def _as_tradier_error(exc: Exception, token: SecretToken) -> TradierError:
    if isinstance(exc, TradierError):
        return exc
    try:
        text = redact(f"{type(exc).__name__}: {exc}", token.reveal())
    except ValueError:
        text = type(exc).__name__
    return TradierError(f"unexpected failure: {text}")
