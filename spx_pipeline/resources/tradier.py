"""Tradier REST access as a Dagster resource.

The resource holds only where to connect and how hard to push; tokens come from the credential
store per call, so one run can sync many accounts, each with its own token and rate limits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import dagster as dg
from pydantic import PrivateAttr

from spx_pipeline.broker.secrets import Redactor, SecretToken
from spx_pipeline.broker.tradier import (
    AccountCredential,
    AccountResult,
    BalanceResult,
    TradierClient,
    fetch_balances_many,
    fetch_each_account,
)
from spx_pipeline.broker.tradier.balance_sync import DEFAULT_RATE_LIMIT_BUDGET
from spx_pipeline.broker.tradier.hosts import base_url_for
from spx_pipeline.broker.tradier.ratelimit import RateLimiterRegistry
from spx_pipeline.broker.tradier.transport import DEFAULT_TIMEOUT, RetryPolicy

T = TypeVar("T")


class TradierResource(dg.ConfigurableResource):
    """base_url=None means TRADIER_BASE_URL or the sandbox; live needs allow_live."""

    base_url: str | None = None
    allow_live: bool | None = None
    # Which stored credential pays for market data (``TRADIER_MARKET_DATA_ACCOUNT``); None = the first.
    market_data_account: str | None = None
    # Concurrent balance requests; None sizes the pool from the broker's measured round trip.
    max_workers: int | None = None
    # How long one response may take and how many tries a read gets: a stuck broker costs at most
    # about read_timeout_seconds x max_attempts per account, never the whole run.
    read_timeout_seconds: float = DEFAULT_TIMEOUT[1]
    max_attempts: int = 4
    # Seconds a balance sync may wait for 429-refused accounts' rate-limit windows to reset.
    rate_limit_budget_seconds: float = DEFAULT_RATE_LIMIT_BUDGET
    _registry: RateLimiterRegistry | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Rate-limit state belongs to the run: a window one run exhausted must not make the next
        # run in the same process wait; the broker's headers teach each run the real state.
        self._registry = RateLimiterRegistry()

    def _client_kwargs(self) -> dict[str, object]:
        if self._registry is None:
            self._registry = RateLimiterRegistry()
        return {
            "timeout": (DEFAULT_TIMEOUT[0], self.read_timeout_seconds),
            "retry": RetryPolicy(max_attempts=self.max_attempts),
            "registry": self._registry,
        }

    def _sync_options(self) -> dict[str, object]:
        """What every many-account read is given (``account_sync.sync_accounts``'s options), said once."""
        return {
            "max_workers": self.max_workers,
            "base_url": self.base_url,
            "allow_live": self.allow_live,
            "rate_limit_budget": self.rate_limit_budget_seconds,
            **self._client_kwargs(),
        }

    def client(self, token: SecretToken, environment: str = "sandbox") -> TradierClient:
        """A client on the same host the balance sync uses for this credential.

        ``base_url`` (else ``TRADIER_BASE_URL``) wins; otherwise the credential's environment picks
        the sandbox or the production host, so a live token is never sent to the sandbox.
        """
        return TradierClient(
            token,
            base_url=base_url_for(environment, self.base_url),
            allow_live=self.allow_live,
            **self._client_kwargs(),  # type: ignore[arg-type]
        )

    def fetch_balances(
        self, credentials: Sequence[AccountCredential], *, redactor: Redactor | None = None
    ) -> list[BalanceResult]:
        """Balances for every credential, concurrently; one result per account, failures included.

        ``redactor``: the caller's, when it holds one of every credential's token (built once).
        """
        return fetch_balances_many(credentials, redactor=redactor, **self._sync_options())

    def fetch_each(
        self,
        credentials: Sequence[AccountCredential],
        fetch: Callable[[TradierClient, str], T],
        *,
        redactor: Redactor | None = None,
    ) -> list[AccountResult[T]]:
        """``fetch(client, account_id)`` for every credential, concurrently, failures included."""
        return fetch_each_account(credentials, fetch, redactor=redactor, **self._sync_options())
