"""``TradierEmulator``: the local Tradier-compatible server's lifecycle on top of its state.

What one server holds (the accounts' book, each trading day's market, fault and rate-limit state,
the request log) is ``core.EmulatorCore``; this adds the listener (``http_plumbing.py``), started
and stopped here. The order a request goes through is in ``dispatch.py``, the endpoints in
``endpoints/``.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from spx_pipeline.clock import Clock
from spx_pipeline.emulator.config import EmulatorConfig
from spx_pipeline.emulator.core import EmulatorCore, RequestRecord, emulator_clock
from spx_pipeline.emulator.http_plumbing import LoopbackServer, require_listen_host

__all__ = ["RequestRecord", "TradierEmulator", "emulator_clock"]


class TradierEmulator(EmulatorCore):
    """A running (or startable) emulator; use as a context manager in tests."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        private_network: bool = False,
    ) -> None:
        # Loopback only, unless the caller asks for an address of a private network (workers on
        # other hosts of a test network; clients need TRADIER_ALLOW_PRIVATE_NETWORK to use it).
        self._host = require_listen_host(host, private_network=private_network)
        self._port = port
        super().__init__(config, clock=clock)
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ---------------------------------------------------------------------

    def start(self) -> TradierEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = LoopbackServer((self._host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"tradier-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._conn_lock:
            open_connections = list(self._connections)
            self._connections.clear()
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> TradierEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/v1"
