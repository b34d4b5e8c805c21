"""The HTTP layer of the local server: a threaded loopback listener that answers like Tradier's host.

Built on stdlib ``ThreadingHTTPServer`` so it starts in milliseconds inside a test and needs no
extra dependency; HTTP/1.1 keep-alive with a Content-Length on every response so a pooled
``requests.Session`` reuses connections as it would against the real host, and a deep accept
queue because benches open 50-200 connections at once. What happens to a request between
reading it and writing the answer is ``dispatch.handle``.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from spx_pipeline.clock import wall_epoch
from spx_pipeline.domain.network import is_private_network_address
from spx_pipeline.emulator import dispatch, faults
from spx_pipeline.emulator.core import EmulatorCore, RequestRecord
from spx_pipeline.emulator.response_format import to_json, to_xml
from spx_pipeline.emulator.routing import Reply, bearer, token_fingerprint


def require_listen_host(host: str, *, private_network: bool = False) -> str:
    """A loopback IPv4 address; with ``private_network`` also a private-network IPv4 address literal
    (a host of a test or staging network, never 0.0.0.0 or a public address)."""
    if not private_network:
        return require_loopback(host)
    if is_private_network_address(host) and ipaddress.ip_address(host).version == 4:
        return str(ipaddress.ip_address(host))
    try:
        return require_loopback(host)
    except ValueError:
        raise ValueError(
            "host must be a loopback or private-network IPv4 address (the emulator never listens wider), "
            f"got {host!r}"
        ) from None


def require_loopback(host: str) -> str:
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


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorCore) -> None:
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

    server: LoopbackServer

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
        emulator = self.server.emulator
        emulator._request_started()
        try:
            self._answer(method)
        finally:
            emulator._request_finished()

    def _answer(self, method: str) -> None:
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
