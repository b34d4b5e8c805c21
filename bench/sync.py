"""Balance sync for many accounts: the seed's sequential loop against ``fetch_balances_many``, and at scale.

Run: ``.venv/bin/python bench/sync.py [--accounts 200] [--shared 50] [--scale 1000,10000]
[--latency-ms 50] [--workers N]``.

The local Tradier server runs in a process of its own (``bench/local_server.py``), every request
paying ``--latency-ms`` (standing in for the round trip to Tradier), so the client's figures are
the client's: its CPU per request is this process's CPU over the requests the server counted.

* ``--accounts`` accounts, each behind its own token: the sequential loop (one bare
  ``requests.get`` after another, a new connection each, as the seed's worker did) against the
  concurrent sync.
* ``--shared`` accounts behind ONE token: the loop makes one request per account (and meets 429s
  once it passes the 60/min sandbox quota); ``fetch_balances_many`` makes a single
  ``/user/balances`` call.
* ``--scale`` sizes, one token each: ``fetch_balances_many`` alone, with the pool sized from the
  measured round trip (or ``--workers``), against the thread-pool bound (workers / latency).

Each mode gets a fresh server so rate-limit windows and request logs do not mix. Nothing is
asserted; the tables are the result.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from local_server import ServerProcess
from pool_size import PoolSize

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import AccountCredential, Balances, fetch_balances_many
from spx_pipeline.emulator import EmulatedAccount, make_accounts


@dataclass(frozen=True)
class Row:
    scenario: str
    mode: str
    accounts: int
    ok: int
    wall_s: float
    requests: int
    client_cpu_s: float
    server_cpu_s: float
    workers: int | None = None


def sequential(base_url: str, accounts: list[EmulatedAccount]) -> int:
    """One request after another, no session, no retry: the seed worker's shape."""
    ok = 0
    for account in accounts:
        response = requests.get(
            f"{base_url}/accounts/{account.account_id}/balances",
            headers={"Authorization": f"Bearer {account.token}", "Accept": "application/json"},
            timeout=(3.05, 15),
        )
        if response.status_code == 200:
            Balances.from_json(response.json()["balances"], account_number=account.account_id)
            ok += 1
    return ok


def concurrent(base_url: str, accounts: list[EmulatedAccount], workers: int | None) -> int:
    tokens: dict[str, SecretToken] = {}
    credentials = [
        AccountCredential(a.account_id, tokens.setdefault(a.token, SecretToken(a.token))) for a in accounts
    ]
    results = fetch_balances_many(credentials, max_workers=workers, base_url=base_url)
    return sum(1 for r in results if r.ok)


def measure(
    scenario: str,
    mode: str,
    accounts: list[EmulatedAccount],
    server: ServerProcess,
    run: Callable[[str], int],
) -> Row:
    pool_size = PoolSize()
    broker_log = logging.getLogger("spx_pipeline.broker.tradier")
    broker_log.addHandler(pool_size)
    broker_log.setLevel(logging.INFO)
    with server:
        before = server.stats()
        cpu_before, started = time.process_time(), time.perf_counter()
        ok = run(server.base_url)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        after = server.stats()
    broker_log.removeHandler(pool_size)
    requests_made = after.requests - before.requests
    return Row(
        scenario,
        mode,
        len(accounts),
        ok,
        wall,
        requests_made,
        cpu,
        after.cpu_s - before.cpu_s,
        pool_size.workers,
    )


def comparison(args: argparse.Namespace) -> list[Row]:
    one_token = {"shared_token": "bench-shared-token", "seed": 2}
    pairs = [
        (f"{args.accounts} tokens", make_accounts(args.accounts), {}),
        ("1 token", make_accounts(args.shared, **one_token), one_token),  # type: ignore[arg-type]
    ]
    rows: list[Row] = []
    for scenario, accounts, options in pairs:
        for mode in ("sequential loop", "fetch_balances_many"):
            server = ServerProcess(len(accounts), latency_ms=args.latency_ms, **options)
            if mode == "sequential loop":
                rows.append(
                    measure(scenario, mode, accounts, server, lambda url, a=accounts: sequential(url, a))
                )
            else:
                rows.append(
                    measure(
                        scenario,
                        mode,
                        accounts,
                        server,
                        lambda url, a=accounts: concurrent(url, a, args.workers),
                    )
                )
    return rows


def print_comparison(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"balance sync, server in its own process, {args.latency_ms:g} ms/request")
    print("| scenario | mode | accounts | ok | wall s | requests | speedup |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for index, row in enumerate(rows):
        baseline = rows[index - index % 2]
        speedup = baseline.wall_s / row.wall_s if row.wall_s > 0 else float("inf")
        print(
            f"| {row.scenario} | {row.mode} | {row.accounts:,} | {row.ok:,} | {row.wall_s:.3f} | "
            f"{row.requests:,} | {speedup:.1f}x |"
        )


def print_scale(rows: list[Row], latency_ms: float) -> None:
    print(f"\nfetch_balances_many at scale, one token per account, {latency_ms:g} ms/request")
    header = ["accounts", "workers", "wall s", "requests/s", "bound (workers/latency)", "ratio"]
    print("| " + " | ".join([*header, "client CPU/request", "server CPU/request"]) + " |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        rate = row.requests / row.wall_s
        bound = (row.workers or 0) / (latency_ms / 1000)
        print(
            f"| {row.accounts:,} | {row.workers} | {row.wall_s:.2f} | {rate:,.0f} | {bound:,.0f} | "
            f"{rate / bound:.2f} | {row.client_cpu_s / row.requests * 1000:.2f} ms | "
            f"{row.server_cpu_s / row.requests * 1000:.2f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200, help="accounts with one token each")
    parser.add_argument("--shared", type=int, default=50, help="accounts behind a single token")
    parser.add_argument("--scale", default="1000,10000", help="sizes for the scale table ('' skips it)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="server latency per request")
    parser.add_argument("--workers", type=int, default=None, help="max_workers (default: from the latency)")
    args = parser.parse_args()
    if args.accounts < 1 or args.shared < 1:
        parser.error("--accounts and --shared must be >= 1")
    print_comparison(comparison(args), args)
    sizes = [int(size) for size in args.scale.split(",") if size.strip()]
    scale = []
    for size in sizes:
        accounts = make_accounts(size)
        server = ServerProcess(size, latency_ms=args.latency_ms)
        scale.append(
            measure(
                f"{size} tokens",
                "fetch_balances_many",
                accounts,
                server,
                lambda url, a=accounts: concurrent(url, a, args.workers),
            )
        )
    if scale:
        if args.workers is not None:
            scale = [Row(**{**vars(row), "workers": args.workers}) for row in scale]
        print_scale(scale, args.latency_ms)


if __name__ == "__main__":
    main()
