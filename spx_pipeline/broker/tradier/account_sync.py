"""Ask the broker something for many accounts at once, one result per account, failures included.

A sequential loop spends its time waiting on round trips, and one stuck account delays every
account after it. Here accounts are grouped by token fingerprint (and host): each group gets one
client (one rate limiter) and runs on a bounded thread pool. Errors are captured per account,
never raised, so one bad token cannot block the rest. All clients share one pooled Session (the
token travels per request, so a connection serves account after account), and unless told the
pool has as many workers as keep the client's one core busy for the measured round trip.

Tradier's rate-limit windows last a minute, longer than one call's retry budget, so a 429 is not
slept out inside the call: the account fails fast, and once the first pass is done the accounts a
429 refused are asked again after their window resets, as long as the call's
``rate_limit_budget`` (seconds of waiting, per call) allows. The limiters are the call's own
(unless a registry is passed), so an exhausted window of one run never stalls another run.
Balances (``balance_sync``), positions and orders all go through here.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from spx_pipeline.broker.secrets import Redactor, SecretToken, decrypted_by_fingerprint
from spx_pipeline.broker.tradier.client import TradierClient
from spx_pipeline.broker.tradier.errors import TradierError, TradierRateLimitError
from spx_pipeline.broker.tradier.hosts import BaseUrlError, base_url_for
from spx_pipeline.broker.tradier.ratelimit import RateLimiterRegistry
from spx_pipeline.broker.tradier.transport import pooled_session
from spx_pipeline.clock import wall_epoch
from spx_pipeline.domain.tradier.enums import ENVIRONMENTS
from spx_pipeline.settings import Settings

log = logging.getLogger("spx_pipeline.broker.tradier")

# Seconds one call may spend waiting for 429-refused accounts' windows to reset: a Tradier window
# (60 s) plus slack. Beyond it the accounts are reported rate limited and the run moves on.
DEFAULT_RATE_LIMIT_BUDGET: Final = 75.0
_RESET_MARGIN: Final = 0.25  # the server's window must really be over when we ask again
_MAX_PASSES: Final = 3
# The client's CPU per request (one core at a time: the interpreter lock), as bench/sync.py
# measures it against the local server in a process of its own. A pool keeps that core busy with
# latency / CPU workers; fewer leave it idle while requests wait, more only add contention. At
# 0.6 ms a 50 ms round trip needs 84 workers, hence the cap (at 64 the pool, not the CPU, bounded
# a 10,000-account sync).
CLIENT_CPU_PER_REQUEST_S: Final = 0.0006
MAX_WORKERS: Final = 96
_PROBE_GROUPS: Final = 8  # accounts fetched first to measure the round trip the pool is sized for

T = TypeVar("T")


def workers_for_latency(
    latency_s: float, *, cpu_per_request_s: float = CLIENT_CPU_PER_REQUEST_S, cap: int = MAX_WORKERS
) -> int:
    """The pool that keeps one core busy: ceil(latency / CPU per request), within 8..cap."""
    return max(min(_PROBE_GROUPS, cap), min(cap, math.ceil(latency_s / cpu_per_request_s)))


@dataclass(frozen=True, slots=True)
class AccountCredential:
    """Which account to ask with which token; ``environment`` picks the host (sandbox or live)."""

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
class AccountResult(Generic[T]):
    """What the broker answered for one account, or the error that stands for it (never both)."""

    account_id: str
    value: T | None
    error: TradierError | None
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.error is None


R = TypeVar("R", bound=AccountResult[Any])
ClientFactory = Callable[[SecretToken, str], TradierClient]
# Asks for every account of one token with that token's client: account id -> result.
GroupFetch = Callable[[TradierClient, list[str]], dict[str, R]]
# The result that stands for an account when its client could not even be built.
Failed = Callable[[str, TradierError, float], R]


def sync_accounts(
    credentials: Iterable[AccountCredential],
    group_fetch: GroupFetch[R],
    failed: Failed[R],
    *,
    max_workers: int | None = None,
    base_url: str | None = None,
    allow_live: bool | None = None,
    client_factory: ClientFactory | None = None,
    rate_limit_budget: float = DEFAULT_RATE_LIMIT_BUDGET,
    redactor: Redactor | None = None,
    **client_kwargs: Any,
) -> list[R]:
    """One result per credential, in input order.

    ``base_url`` (else ``TRADIER_BASE_URL``, else the credential's environment) selects the host;
    ``client_kwargs`` go to ``TradierClient`` (retry, timeout, registry, sleep, clock...).
    ``client_factory`` replaces client construction entirely (tests, custom transports). Every
    body and message is redacted of every spelling of every token in ``credentials`` (by
    ``redactor`` when the caller built one that covers them all). Without ``max_workers`` the
    pool is sized from the round trip of the first accounts (``workers_for_latency``).
    """
    creds = list(credentials)
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be >= 1, got {max_workers}")
    if rate_limit_budget < 0:
        raise ValueError(f"rate_limit_budget must be >= 0, got {rate_limit_budget}")
    if not creds:
        return []
    sleep: Callable[[float], None] = client_kwargs.get("sleep", time.sleep)
    clock: Callable[[], float] = client_kwargs.get("clock", wall_epoch)
    if client_kwargs.get("registry") is None:
        client_kwargs["registry"] = RateLimiterRegistry(clock=clock, sleep=sleep)
    # Each token decrypted once for the whole sync (its redactor, then every request it makes).
    clear = decrypted_by_fingerprint(cred.token for cred in creds)
    covered = redactor is not None and all(redactor.covers(fingerprint) for fingerprint in clear)
    redact_all = redactor if redactor is not None and covered else Redactor(clear.values())
    # One reading of the environment (the caller's ``environ``, else the process's) for every client.
    settings = Settings.from_env(client_kwargs.pop("environ", None))
    # One pool of connections for every client of the sync: tokens travel per request, so a
    # connection opened for one account is reused for the next instead of one handshake each.
    pool_size = MAX_WORKERS if max_workers is None else max_workers
    given = client_kwargs.pop("session", None)  # the caller's own (it closes it)
    shared = None if client_factory or given is not None else pooled_session(pool_size)

    def url_of(cred: AccountCredential) -> str:
        return base_url_for(cred.environment, base_url, settings)

    def make_client(token: SecretToken, url: str) -> TradierClient:
        token = clear.get(token.fingerprint, token)
        if client_factory is not None:
            client = client_factory(token, url)
        else:
            client = TradierClient(
                token,
                base_url=url,
                allow_live=allow_live,
                settings=settings,
                session=given or shared,
                **client_kwargs,
            )
        client.transport.redactor = redact_all
        return client

    def key_of(cred: AccountCredential) -> _Key:
        return (cred.token.fingerprint, url_of(cred), cred.account_id)

    run = _Pass(url_of, make_client, group_fetch, failed, max_workers)
    try:
        results = run(creds)
        waited = 0.0
        for _ in range(_MAX_PASSES - 1):
            limited = {
                key_of(cred): cred
                for cred in creds
                if isinstance(results[key_of(cred)].error, TradierRateLimitError)
            }
            if not limited:
                break
            now = clock()
            resets = {key: _reset_at(results[key].error, now) for key in limited}
            left = rate_limit_budget - waited
            due = {key: at for key, at in resets.items() if at - now + _RESET_MARGIN <= left}
            if not due:
                log.warning(
                    "%d account(s) rate limited past this sync's %.0fs budget; reported as failed",
                    len(limited),
                    rate_limit_budget,
                )
                break
            wait = max(0.0, max(due.values()) - now + _RESET_MARGIN)
            log.warning(
                "%d account(s) refused by a 429; asking again in %.1fs when the window resets",
                len(due),
                wait,
            )
            sleep(wait)
            waited += wait
            results.update(run([limited[key] for key in due]))
        return [results[key_of(cred)] for cred in creds]
    finally:
        if shared is not None:
            shared.close()


def fetch_each_account(
    credentials: Iterable[AccountCredential],
    fetch: Callable[[TradierClient, str], T],
    **options: Any,
) -> list[AccountResult[T]]:
    """``fetch(client, account_id)`` for every account (one request each), through ``sync_accounts``."""

    def group(client: TradierClient, accounts: list[str]) -> dict[str, AccountResult[T]]:
        results: dict[str, AccountResult[T]] = {}
        for account in accounts:
            started = time.perf_counter()
            try:
                results[account] = AccountResult(
                    account, fetch(client, account), None, time.perf_counter() - started
                )
            except Exception as exc:
                error = as_tradier_error(exc, client.transport.redactor)
                results[account] = AccountResult(account, None, error, time.perf_counter() - started)
        return results

    def failed(account: str, error: TradierError, elapsed: float) -> AccountResult[T]:
        return AccountResult(account, None, error, elapsed)

    return sync_accounts(credentials, group, failed, **options)


def _reset_at(error: TradierError | None, now: float) -> float:
    """When a 429-refused account may be asked again; a minute when the broker did not say."""
    reset = getattr(error, "reset_at", None)
    return float(reset) if reset is not None else now + 60.0


_Key = tuple[str, str, str]  # token fingerprint, host URL, account id


class _Pass(Generic[R]):
    """One concurrent pass: the accounts grouped by (token, host), one client per group."""

    def __init__(
        self,
        url_of: Callable[[AccountCredential], str],
        make_client: Callable[[SecretToken, str], TradierClient],
        group_fetch: GroupFetch[R],
        failed: Failed[R],
        max_workers: int | None,
    ) -> None:
        self.url_of, self.make_client = url_of, make_client
        self.group_fetch, self.failed, self.max_workers = group_fetch, failed, max_workers

    def __call__(self, creds: list[AccountCredential]) -> dict[_Key, R]:
        groups: dict[tuple[str, str], list[AccountCredential]] = {}
        tokens: dict[tuple[str, str], SecretToken] = {}
        for cred in creds:
            key = (cred.token.fingerprint, self.url_of(cred))
            groups.setdefault(key, []).append(cred)
            tokens.setdefault(key, cred.token)
        batches = list(groups.items())
        results: dict[_Key, R] = {}

        def run(batch: list[tuple[tuple[str, str], list[AccountCredential]]], workers: int) -> None:
            # Each worker takes the next group until none is left: one task per worker, not one
            # Future (a Condition and its lock) per group, which at 10,000 accounts cost the
            # submitting thread more than the groups' own work.
            pending = iter(batch)
            taking = threading.Lock()

            def drain() -> dict[_Key, R]:
                found: dict[_Key, R] = {}
                while True:
                    with taking:
                        item = next(pending, None)
                    if item is None:
                        return found
                    (fingerprint, url), members = item
                    for account_id, result in self._group(tokens[(fingerprint, url)], url, members).items():
                        found[(fingerprint, url, account_id)] = result

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tradier-sync") as pool:
                for task in [pool.submit(drain) for _ in range(workers)]:
                    results.update(task.result())

        if self.max_workers is not None:
            run(batches, min(self.max_workers, len(batches)))
        else:
            probe, rest = batches[:_PROBE_GROUPS], batches[_PROBE_GROUPS:]
            run(probe, len(probe))
            if rest:
                latency = statistics.median(result.elapsed_s for result in results.values())
                workers = workers_for_latency(latency)
                log.info("account sync: %d workers for a %.0f ms round trip", workers, latency * 1000)
                run(rest, min(workers, len(rest)))
        return results

    def _group(self, token: SecretToken, url: str, members: list[AccountCredential]) -> dict[str, R]:
        started = time.perf_counter()
        wanted = list(dict.fromkeys(cred.account_id for cred in members))
        try:
            client = self.make_client(token, url)
        except Exception as exc:
            error = as_tradier_error(exc, None)
            return {acct: self.failed(acct, error, time.perf_counter() - started) for acct in wanted}
        try:
            return self.group_fetch(client, wanted)
        finally:
            client.close()


def as_tradier_error(exc: Exception, redactor: Redactor | None) -> TradierError:
    """Any failure as a TradierError whose text holds no token."""
    if isinstance(exc, TradierError):
        return exc
    if isinstance(exc, BaseUrlError):  # the host guard's own reason: built from the URL, no secret
        return TradierError(f"not sent: {redactor(str(exc)) if redactor else exc}")
    text = f"{type(exc).__name__}: {exc}"
    # No redactor (the client could not even be built): the text may hold anything, keep the class.
    return TradierError(f"unexpected failure: {redactor(text) if redactor else type(exc).__name__}")
