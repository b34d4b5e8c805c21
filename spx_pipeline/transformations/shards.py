"""Which accounts each step of a sharded broker read asks for, decided once per run.

A sync's broker reads split into shards that run as separate steps, so Celery workers on several
hosts share them. The run's first step plans the shards from the active credentials and hands
each shard its account ids (never a token: tokens stay in the app database and are decrypted by
the shard that uses them). Accounts that share a token stay in one shard: the balance sync asks
Tradier once per token (``/user/balances``) and paces each token against its own rate limit,
which two shards on two hosts could not share. Token groups are packed largest first onto the
shard with the fewest accounts, so shards differ by at most one group, and a run with few
accounts gets few shards (``min_accounts``), since every step costs a round trip to a worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pandas as pd

from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.portfolio import failure_row

# A shard below this many accounts is not worth a step of its own (a worker round trip, the
# resources' set-up): 16 shards start paying off from about 1,600 accounts.
DEFAULT_MIN_ACCOUNTS_PER_SHARD: Final = 100


@dataclass(frozen=True)
class Shard:
    """One step's accounts; ``key`` names the step (``s00``, ``s01``...)."""

    key: str
    account_ids: tuple[str, ...]


def shard_key(index: int) -> str:
    return f"s{index:02d}"


def plan_shards(
    token_of: Mapping[str, str], *, shards: int, min_accounts: int = DEFAULT_MIN_ACCOUNTS_PER_SHARD
) -> list[Shard]:
    """Split accounts (account id → token fingerprint) into at most ``shards`` shards.

    Every account is in exactly one shard, accounts of one token in the same one; there are never
    more shards than leave ``min_accounts`` accounts per shard on average, and always one (empty
    when there is no account, so the step that joins the shards still runs). The same accounts
    always give the same plan.
    """
    if shards < 1 or min_accounts < 1:
        raise ValueError(f"shards and min_accounts must be at least 1, got {shards} and {min_accounts}")
    groups: dict[str, list[str]] = {}
    for account_id in sorted(token_of):
        groups.setdefault(token_of[account_id], []).append(account_id)
    ordered = sorted(groups.values(), key=lambda accounts: (-len(accounts), accounts[0]))
    count = max(1, min(shards, len(ordered), math.floor(len(token_of) / min_accounts)))
    buckets: list[list[str]] = [[] for _ in range(count)]
    for accounts in ordered:
        smallest = min(range(count), key=lambda i: (len(buckets[i]), i))
        buckets[smallest].extend(accounts)
    planned = [Shard(shard_key(i), tuple(sorted(b))) for i, b in enumerate(buckets) if b]
    return planned or [Shard(shard_key(0), ())]


def shard_failure_rows(
    shard: Shard,
    stages: Sequence[str],
    *,
    error: BaseException,
    message: str,
    run_id: str,
    captured_at: datetime,
) -> pd.DataFrame:
    """``sync_failures`` rows (one per account and stage) for a shard whose step failed as a whole.

    ``message`` is the error's text with every token taken out; the row says which shard failed.
    """
    worded = f"shard {shard.key} failed: {message}"
    rows = [
        failure_row(
            run_id=run_id,
            account_id=account_id,
            stage=stage,
            captured_at=captured_at,
            error=error,
            message=worded,
        )
        for account_id in shard.account_ids
        for stage in stages
    ]
    return pd.DataFrame(rows, columns=list(column_names("sync_failures")))
