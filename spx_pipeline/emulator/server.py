"""The loopback HTTP server that answers like Tradier's REST API: plumbing and lifecycle.

Built on stdlib ``ThreadingHTTPServer`` so it starts in milliseconds inside a test and needs no
extra dependency; HTTP/1.1 keep-alive with a Content-Length on every response so a pooled
``requests.Session`` reuses connections as it would against the real host, and a deep accept
queue because benches open 50-200 connections at once. What happens to a request between
reading it and writing the answer is ``dispatch.handle``; the endpoints are in ``endpoints/``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import threading
from dataclasses import dataclass
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from spx_pipeline.clock import Clock, FixedClock, clock_from_env, wall_epoch
from spx_pipeline.domain import market_calendar
from spx_pipeline.emulator import dispatch, faults
from spx_pipeline.emulator.config import EmulatorConfig, FaultConfig
from spx_pipeline.emulator.faults import FaultInjector
from spx_pipeline.emulator.market import DEFAULT_QUOTE_TIME, Market, default_today
from spx_pipeline.emulator.ratelimit import RateLimiter
from spx_pipeline.emulator.routing import Reply, bearer, token_fingerprint
from spx_pipeline.emulator.state import AccountBook
from spx_pipeline.emulator.wire import to_json, to_xml

_MARKETS_KEPT = 4  # trading days whose generated market stays in memory (a pinned clock may move)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server saw it; the token only as its sha256 fingerprint.

    ``status`` is 0 when the connection was reset without an answer.
    """

    method: str
    path: str
    query: str
    token_fingerprint: str | None
    status: int
    fault: str | None
    started_at: float


def _require_loopback(host: str) -> str:
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError as exc:
        raise ValueError(f"host must be a loopback IPv4 address, got {host!r}") from exc
    if address.version != 4 or not address.is_loopback:
        raise ValueError(
            f"host must be a loopback IPv4 address (the emulator never listens wider), got {host!r}"
        )
    return candidate


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: TradierEmulator) -> None:
        self.emulator = emulator
        self.to_reset: set[int] = set()
        self.reset_lock = threading.Lock()
        super().__init__(address, _Handler)

    def shutdown_request(self, request: Any) -> None:  # type: ignore[override]
        with self.reset_lock:
            abort = id(request) in self.to_reset
            self.to_reset.discard(id(request))
        if abort:
            # SO_LINGER 0 + close without shutdown(SHUT_WR): the peer gets RST, not FIN.
            self.close_request(request)
            return
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TradierEmulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back eventually

    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms per keep-alive request), which would swamp any latency bench.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, stderr noise would drown test output."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        started = wall_epoch()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        emulator = self.server.emulator
        try:
            reply, fault, reset = dispatch.handle(emulator, method, self.path, self.headers, body)
        except Exception as exc:  # an emulator bug must surface as a 500, not a dropped socket
            reply = Reply(500, text=f"Emulator error: {type(exc).__name__}: {exc}")
            fault, reset = None, False
        url = urlsplit(self.path)
        fingerprint = _fingerprint_of(self.headers.get("Authorization"))
        if reset:
            emulator._log(RequestRecord(method, url.path, url.query, fingerprint, 0, fault, started))
            self._reset()
            return
        wants_json = "application/json" in (self.headers.get("Accept") or "")
        if reply.text is not None:
            payload, ctype = reply.text.encode("utf-8"), "text/plain; charset=utf-8"
        elif wants_json or fault == faults.MALFORMED:
            payload, ctype = to_json(reply.document), "application/json"
        else:
            payload, ctype = to_xml(reply.document), "application/xml"
        if fault == faults.MALFORMED:
            payload = payload[: max(len(payload) // 2, 1)]
        emulator._log(RequestRecord(method, url.path, url.query, fingerprint, reply.status, fault, started))
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return
        with self.server.reset_lock:
            self.server.to_reset.add(id(self.connection))


def _fingerprint_of(header: str | None) -> str | None:
    token = bearer(header)
    return token_fingerprint(token) if token else None


class TradierEmulator:
    """A running (or startable) emulator; use as a context manager in tests."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self._host = _require_loopback(host)
        self._port = port
        self.clock = clock if clock is not None else emulator_clock(self.config)
        self._markets: dict[date, Market] = {}
        self._markets_lock = threading.Lock()
        self.book = AccountBook(self.config.accounts)
        self.fault_injector = FaultInjector(self.config.faults)
        self.limiter = RateLimiter(self.config.rate_limits, self.config.rate_limit_window_seconds)
        self._log_lock = threading.Lock()
        self._log_records: list[RequestRecord] = []
        self._stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----- time and market -------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def today(self) -> date:
        """The trading day the server lists from: ``config.today``, else the clock's NYSE day."""
        return self.config.today or default_today(self.clock)

    @property
    def market(self) -> Market:
        """The market of the current trading day (a pinned clock moved to another day moves it)."""
        day = self.today
        with self._markets_lock:
            market = self._markets.get(day)
            if market is None:
                if len(self._markets) >= _MARKETS_KEPT:
                    self._markets.pop(next(iter(self._markets)))
                market = Market(
                    today=day,
                    spot=self.config.spot,
                    expirations=self.config.expirations,
                    strikes_each_side=self.config.strikes_each_side,
                    strike_step=self.config.strike_step,
                    seed=self.config.seed,
                    clock=self.clock,
                )
                self._markets[day] = market
            return market

    # ----- lifecycle ---------------------------------------------------------------------

    def start(self) -> TradierEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
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

    # ----- controls and assertions ---------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self.fault_injector.config

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self.set_faults(value)

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the faults (counters restart) for the next requests; thread-safe."""
        self.fault_injector.replace(faults)

    def faults_remaining(self) -> dict[str, int]:
        return self.fault_injector.remaining()

    @property
    def requests(self) -> list[RequestRecord]:
        return self.request_log()

    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log_records)

    def request_count(self, path_prefix: str = "", method: str | None = None) -> int:
        with self._log_lock:
            return sum(
                1
                for r in self._log_records
                if (r.path.startswith(path_prefix) or r.path[3:].startswith(path_prefix))
                and (method is None or r.method == method.upper())
            )

    def reset_log(self) -> None:
        with self._log_lock:
            self._log_records.clear()

    def orders(self, account_id: str) -> list[dict[str, Any]]:
        """Orders placed (never previews) on ``account_id``, as ``GET .../orders`` shows them."""
        if account_id not in self.book.accounts:
            raise KeyError(f"unknown account_id {account_id!r}")
        return [o.to_wire(include_tags=True) for o in self.book.orders(account_id)]

    # ----- plumbing used by the request handler and the pipeline ------------------------------

    def pause(self, seconds: float) -> None:
        """Sleep for injected latency/timeouts, cut short when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log_records.append(record)


def emulator_clock(config: EmulatorConfig) -> Clock:
    """The clock a config implies: ``now`` pinned, else ``today`` at 10:30 ET, else ``SPX_NOW``/real time."""
    if config.now is not None:
        return FixedClock(config.now)
    if config.today is not None:
        return FixedClock(datetime.combine(config.today, DEFAULT_QUOTE_TIME, tzinfo=market_calendar.NEW_YORK))
    return clock_from_env()
