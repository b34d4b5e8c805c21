"""Balances for many accounts at once, one result per account, failures included.

The concurrency, connection sharing and 429 handling are ``account_sync``'s; what is particular to
balances is the batching: a token that holds several accounts asks ``/user/balances`` once
(Tradier's documented way to avoid N calls), falling back to per-account calls for the accounts
that request fails or misses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from spx_pipeline.broker.tradier.account_sync import (
    DEFAULT_RATE_LIMIT_BUDGET,
    AccountCredential,
    AccountResult,
    as_tradier_error,
    sync_accounts,
    workers_for_latency,
)
from spx_pipeline.broker.tradier.client import TradierClient
from spx_pipeline.broker.tradier.errors import TradierAuthError, TradierError
from spx_pipeline.broker.tradier.models import Balances

__all__ = [
    "DEFAULT_RATE_LIMIT_BUDGET",
    "AccountCredential",
    "BalanceResult",
    "fetch_balances_many",
    "workers_for_latency",
]


class BalanceResult(AccountResult[Balances]):
    """One account's balances, or the error that stands for them."""

    __slots__ = ()

    @property
    def balances(self) -> Balances | None:
        return self.value


def fetch_balances_many(credentials: Iterable[AccountCredential], **options: Any) -> list[BalanceResult]:
    """One ``BalanceResult`` per credential, in input order (options: ``account_sync.sync_accounts``)."""
    return sync_accounts(credentials, _fetch_group, _failed, **options)


def _failed(account: str, error: TradierError, elapsed: float) -> BalanceResult:
    return BalanceResult(account, None, error, elapsed)


def _fetch_group(client: TradierClient, wanted: list[str]) -> dict[str, BalanceResult]:
    """All accounts of one token: at most one /user/balances, then per-account for the rest."""
    started = time.perf_counter()
    results: dict[str, BalanceResult] = {}
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
            results[acct] = BalanceResult(
                acct, client.get_balances(acct), None, time.perf_counter() - one_started
            )
        except Exception as exc:
            error = as_tradier_error(exc, client.transport.redactor)
            results[acct] = BalanceResult(acct, None, error, time.perf_counter() - one_started)
    return results
