"""Balance sync for many accounts: the seed's sequential loop against ``fetch_balances_many``.

Run: ``.venv/bin/python bench/sync.py [--accounts 200] [--shared 50] [--latency-ms 50] [--workers 32]``.

Two scenarios, each measured side by side in this one run against the local emulator (every
request pays ``--latency-ms`` of server latency, standing in for the round trip to Tradier):

* ``--accounts`` accounts, each behind its own token: the sequential loop (one bare
  ``requests.get`` after another, a new connection each, as the seed's worker did) against the
  bounded thread pool with one pooled client per token.
* ``--shared`` accounts behind ONE token: the loop makes one request per account (and meets 429s
  once it passes the 60/min sandbox quota); ``fetch_balances_many`` makes a single
  ``/user/balances`` call.

Each mode gets a fresh emulator so rate-limit windows and request logs do not mix. Requests and
429s are counted from the emulator's own log. Nothing is asserted; the table is the result.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import AccountCredential, Balances, fetch_balances_many
from spx_pipeline.emulator import EmulatedAccount, EmulatorConfig, FaultConfig, TradierEmulator, make_accounts


@dataclass(frozen=True)
class Row:
    scenario: str
    mode: str
    accounts: int
    wall_s: float
    requests: int
    rate_limited: int
    ok: int


def sequential(emu: TradierEmulator, accounts: list[EmulatedAccount]) -> int:
    """One request after another, no session, no retry: the seed worker's shape."""
    ok = 0
    for account in accounts:
        response = requests.get(
            f"{emu.base_url}/accounts/{account.account_id}/balances",
            headers={"Authorization": f"Bearer {account.token}", "Accept": "application/json"},
            timeout=(3.05, 15),
        )
        if response.status_code == 200:
            Balances.from_json(response.json()["balances"])
            ok += 1
    return ok


def concurrent(emu: TradierEmulator, accounts: list[EmulatedAccount], workers: int) -> int:
    tokens: dict[str, SecretToken] = {}
    credentials = [
        AccountCredential(a.account_id, tokens.setdefault(a.token, SecretToken(a.token))) for a in accounts
    ]
    results = fetch_balances_many(credentials, max_workers=workers, base_url=emu.base_url)
    return sum(1 for r in results if r.ok)


def measure(
    scenario: str,
    mode: str,
    accounts: list[EmulatedAccount],
    latency_ms: float,
    run: Callable[[TradierEmulator], int],
) -> Row:
    config = EmulatorConfig(accounts=accounts, faults=FaultConfig(latency_ms=latency_ms))
    with TradierEmulator(config) as emu:
        started = time.perf_counter()
        ok = run(emu)
        wall = time.perf_counter() - started
        log = emu.request_log()
    return Row(scenario, mode, len(accounts), wall, len(log), sum(1 for r in log if r.status == 429), ok)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200, help="accounts with one token each")
    parser.add_argument("--shared", type=int, default=50, help="accounts behind a single token")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="emulated server latency per request")
    parser.add_argument("--workers", type=int, default=32, help="fetch_balances_many max_workers")
    args = parser.parse_args()
    if args.accounts < 1 or args.shared < 1:
        parser.error("--accounts and --shared must be >= 1")

    own = make_accounts(args.accounts)
    shared = make_accounts(args.shared, shared_token="bench-shared-token", seed=2)
    pairs = [
        (f"{args.accounts} tokens", own),
        ("1 token", shared),
    ]
    rows: list[Row] = []
    for scenario, accounts in pairs:
        rows.append(
            measure(
                scenario, "sequential loop", accounts, args.latency_ms, lambda e, a=accounts: sequential(e, a)
            )
        )
        rows.append(
            measure(
                scenario,
                "fetch_balances_many",
                accounts,
                args.latency_ms,
                lambda e, a=accounts: concurrent(e, a, args.workers),
            )
        )

    header = (
        f"{'scenario':<12} {'mode':<20} {'accounts':>8} {'ok':>5} {'wall s':>8} "
        f"{'requests':>8} {'429s':>5} {'speedup':>8}"
    )
    print(f"balance sync, emulator latency {args.latency_ms:g} ms/request, {args.workers} workers")
    print(header)
    print("-" * len(header))
    for index, row in enumerate(rows):
        baseline = rows[index - index % 2]
        speedup = baseline.wall_s / row.wall_s if row.wall_s > 0 else float("inf")
        print(
            f"{row.scenario:<12} {row.mode:<20} {row.accounts:>8} {row.ok:>5} {row.wall_s:>8.3f} "
            f"{row.requests:>8} {row.rate_limited:>5} {speedup:>7.1f}x"
        )


if __name__ == "__main__":
    main()
