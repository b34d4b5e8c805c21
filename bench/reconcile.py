"""Reconciliation's broker reads for many accounts: a sequential loop against the concurrent sync.

Run: ``.venv/bin/python bench/reconcile.py [--accounts 100,1000] [--latency-ms 50] [--loop-max 100]``.

For each size the local Tradier server runs in a process of its own (``bench/local_server.py``)
with ``--latency-ms`` added to every request. Reconciliation reads positions and the session's
orders of every account (two requests each), turns them into rows, matches our tickets and
reconciles. The loop (one client, one account after another) runs only up to ``--loop-max``
accounts; beyond that its time is the per-account time measured at ``--loop-max`` times the
accounts, marked "(extrapolated)". Nothing is asserted; the table is the result.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from local_server import ServerProcess

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import AccountCredential, AccountResult, TradierClient, fetch_each_account
from spx_pipeline.emulator import make_accounts
from spx_pipeline.transformations.broker_state import order_frames, position_frames
from spx_pipeline.transformations.execution import reconciliation_rows

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
SESSION = date(2026, 11, 24)


@dataclass(frozen=True)
class Row:
    accounts: int
    mode: str
    wall_s: float
    requests: int
    rows: int
    extrapolated: bool = False


def reconcile(creds: list[AccountCredential], positions: list, orders: list) -> int:
    pos = position_frames(positions, run_id="bench", captured_at=NOW)
    order_frames(orders, session=SESSION, run_id="bench", captured_at=NOW)
    errors = dict(zip(pos.failures["account_id"], pos.failures["message"], strict=True))
    return len(reconciliation_rows([c.account_id for c in creds], [], pos.rows, pos.reported, errors))


def loop(base_url: str, creds: list[AccountCredential]) -> int:
    positions, orders = [], []
    for cred in creds:
        with TradierClient(cred.token, base_url=base_url) as client:
            positions.append(AccountResult(cred.account_id, client.get_positions(cred.account_id), None, 0.0))
            orders.append(AccountResult(cred.account_id, client.list_orders(cred.account_id), None, 0.0))
    return reconcile(creds, positions, orders)


def concurrent(base_url: str, creds: list[AccountCredential]) -> int:
    positions = fetch_each_account(creds, lambda c, a: c.get_positions(a), base_url=base_url)
    orders = fetch_each_account(creds, lambda c, a: c.list_orders(a), base_url=base_url)
    return reconcile(creds, positions, orders)


def measure(accounts: int, latency_ms: float, loop_max: int) -> list[Row]:
    out = []
    with ServerProcess(accounts, latency_ms=latency_ms) as server:
        creds = [AccountCredential(a.account_id, SecretToken(a.token)) for a in make_accounts(accounts)]
        server.reset()
        started = time.perf_counter()
        rows = concurrent(server.base_url, creds)
        out.append(Row(accounts, "fetch_each_account ×2 + rows", time.perf_counter() - started,
                       server.stats().requests, rows))  # fmt: skip
        sample = creds[: min(loop_max, accounts)]
        server.reset()
        started = time.perf_counter()
        rows = loop(server.base_url, sample)
        wall = (time.perf_counter() - started) * accounts / len(sample)
        out.append(Row(accounts, "sequential loop", wall, server.stats().requests * accounts // len(sample),
                       rows, extrapolated=len(sample) < accounts))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="100,1000")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--loop-max", type=int, default=100)
    args = parser.parse_args()
    rows = [row for n in args.accounts.split(",") for row in measure(int(n), args.latency_ms, args.loop_max)]
    print(f"\nreconciliation reads at {args.latency_ms:.0f} ms latency (server in its own process)\n")
    print("| accounts | mode | wall s | requests | rows | accounts/s | speedup |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size in dict.fromkeys(row.accounts for row in rows):
        group = [row for row in rows if row.accounts == size]
        slow = max(row.wall_s for row in group)
        for row in group:
            mark = " (extrapolated)" if row.extrapolated else ""
            print(
                f"| {row.accounts:,} | {row.mode} | {row.wall_s:.2f}{mark} | {row.requests:,} | "
                f"{row.rows:,} | {row.accounts / row.wall_s:,.0f} | {slow / row.wall_s:.1f}× |"
            )


if __name__ == "__main__":
    main()
