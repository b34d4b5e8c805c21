"""The local Tradier server in a process of its own, for benchmarks of the client.

In the same process the server's handler threads and the client's workers share one interpreter
lock, so a benchmark would measure the two fighting over it rather than the client. Here the
server runs in a child process (spawned, so nothing of the parent's state leaks in) on its own
core, with ``accounts`` generated accounts and ``latency_ms`` added to every request; the parent
asks it for its request count and its CPU seconds over a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts


@dataclass(frozen=True)
class ServerStats:
    requests: int
    cpu_s: float  # user + system seconds of the server process


def _serve(
    conn: Connection,
    accounts: int,
    latency_ms: float,
    account_options: dict[str, Any],
    options: dict[str, Any],
) -> None:
    accounts_made = make_accounts(accounts, **account_options)
    config = EmulatorConfig(accounts=accounts_made, faults=FaultConfig(latency_ms=latency_ms), **options)
    with TradierEmulator(config) as emulator:
        conn.send(emulator.base_url)
        while True:
            command = conn.recv()
            if command == "stats":
                times = os.times()
                conn.send(ServerStats(emulator.request_count(), times.user + times.system))
            elif command == "reset":
                emulator.reset_log()
                conn.send(None)
            else:
                conn.send(None)
                return


class ServerProcess:
    """``with ServerProcess(1000, latency_ms=50) as server: server.base_url, server.stats()``.

    ``accounts`` are ``make_accounts(accounts, shared_token=..., seed=...)``; other keywords go to
    ``EmulatorConfig``.
    """

    def __init__(
        self,
        accounts: int,
        *,
        latency_ms: float,
        shared_token: str | None = None,
        seed: int = 1,
        **options: Any,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        account_options = {"shared_token": shared_token, "seed": seed}
        self._process = context.Process(
            target=_serve,
            args=(child, accounts, latency_ms, account_options, options),
            name="tradier-server",
            daemon=True,
        )
        self.base_url = ""

    def __enter__(self) -> ServerProcess:
        self._process.start()
        if not self._conn.poll(120):
            self._process.kill()
            raise RuntimeError("the local Tradier server did not start within 120 s")
        self.base_url = self._conn.recv()
        return self

    def stats(self) -> ServerStats:
        self._conn.send("stats")
        return self._conn.recv()

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
            self._conn.poll(10)
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
