"""The loopback HTTP server that answers like Tradier's REST API.

Built on stdlib ``ThreadingHTTPServer`` so it starts in milliseconds inside a test and needs no
extra dependency; HTTP/1.1 keep-alive with a Content-Length on every response so a pooled
``requests.Session`` reuses connections as it would against the real host, and a deep accept
queue because benches open 50-200 connections at once.

Request pipeline (order matters, tests depend on it):

1. latency, then counted network faults: ``reset`` (socket closed with RST, no response,
   before anything is processed) and ``timeout`` (sleep, then handle normally — so an order
   POST that "timed out" at the client *was* placed, the ambiguous case clients must handle);
2. auth: missing/unknown bearer token → 401, plain text ``Invalid Access Token`` (what Tradier
   sends); a token naming an account it does not hold → 401 ``Unauthorized Account: <id>``
   (Tradier's exact answer is unverified; 401 keeps it an auth failure, not a retryable one);
3. ``failing_accounts`` → ``failing_status`` (401 uses the same Tradier 401 body);
4. unknown path → 404 (not counted against rate limits);
5. rate limits per token and bucket, ``X-Ratelimit-*`` headers on every counted response,
   429 with body ``Rate limit exceeded`` (Tradier's body is unverified); injected ``burst_429``
   looks the same with Available 0;
6. injected 5xx (counted or ``error_rate``) → 503 with a plain-text body;
7. the endpoint itself; ``malformed`` then replaces the answer with HTTP 200 and the first half
   of the JSON text.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from spx_pipeline.clock import Clock, FixedClock, clock_from_env, wall_epoch
from spx_pipeline.domain import market_calendar as mc
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.emulator import faults as fk
from spx_pipeline.emulator.config import EmulatedAccount, EmulatorConfig, FaultConfig
from spx_pipeline.emulator.faults import FaultInjector
from spx_pipeline.emulator.market import DEFAULT_QUOTE_TIME, Market, default_today
from spx_pipeline.emulator.ratelimit import RateLimiter, bucket_for
from spx_pipeline.emulator.state import (
    BUY_SIDES,
    COMMISSION_PER_CONTRACT,
    MULTIPLIER,
    OPEN_STATUSES,
    AccountBook,
    StoredOrder,
)
from spx_pipeline.emulator.wire import collection, to_json, to_xml

INVALID_TOKEN = "Invalid Access Token"
RATE_LIMITED = "Rate limit exceeded"
NOT_ENOUGH_BP = "You do not have enough buying power for this trade."
TAG_RE = re.compile(r"^[A-Za-z0-9-]{1,255}$")
SIDES = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
DURATIONS = ("day", "gtc", "pre", "post")
_MARKETS_KEPT = 4  # trading days whose generated market stays in memory (a pinned clock may move)
_ACCOUNT_PATH = re.compile(r"^/v1/accounts/([^/]+)(?:/|$)")


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


@dataclass(slots=True)
class _Reply:
    status: int
    document: Any = None  # rendered per Accept
    text: str | None = None  # plain-text body (auth errors, 5xx, 429)
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    """An endpoint refusal rendered as ``{"errors": {"error": message}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class _Call:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    accounts: list[EmulatedAccount]
    match: re.Match[str]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").strip().lower() == "true"


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
        try:
            reply, fault, reset = self.server.emulator._handle(method, self.path, self.headers, body)
        except Exception as exc:  # an emulator bug must surface as a 500, not a dropped socket
            reply = _Reply(500, text=f"Emulator error: {type(exc).__name__}: {exc}")
            fault, reset = None, False
        url = urlsplit(self.path)
        fingerprint = _fingerprint_of(self.headers.get("Authorization"))
        if reset:
            self.server.emulator._log(
                RequestRecord(method, url.path, url.query, fingerprint, 0, fault, started)
            )
            self._reset()
            return
        wants_json = "application/json" in (self.headers.get("Accept") or "")
        if reply.text is not None:
            payload, ctype = reply.text.encode("utf-8"), "text/plain; charset=utf-8"
        elif wants_json or fault == fk.MALFORMED:
            payload, ctype = to_json(reply.document), "application/json"
        else:
            payload, ctype = to_xml(reply.document), "application/xml"
        if fault == fk.MALFORMED:
            payload = payload[: max(len(payload) // 2, 1)]
        self.server.emulator._log(
            RequestRecord(method, url.path, url.query, fingerprint, reply.status, fault, started)
        )
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


def token_fingerprint(token: str) -> str:
    """sha256[:12], the same fingerprint the broker layer logs (the emulator may not import it)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def _fingerprint_of(header: str | None) -> str | None:
    token = _bearer(header)
    return token_fingerprint(token) if token else None


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


Route = tuple[str, re.Pattern[str], Callable[["TradierEmulator", _Call], Any]]


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
        self._faults = FaultInjector(self.config.faults)
        self._limiter = RateLimiter(self.config.rate_limits, self.config.rate_limit_window_seconds)
        self._log_lock = threading.Lock()
        self._log_records: list[RequestRecord] = []
        self._stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----- time and market -------------------------------------------------------------------

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
        return self._faults.config

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self.set_faults(value)

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the faults (counters restart) for the next requests; thread-safe."""
        self._faults.replace(faults)

    def faults_remaining(self) -> dict[str, int]:
        return self._faults.remaining()

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

    # ----- plumbing used by the handler ----------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log_records.append(record)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _now(self) -> datetime:
        return self.clock.now()

    def _handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[_Reply, str | None, bool]:
        """(reply, fault name, reset?) for one request; see the module docstring for the order."""
        url = urlsplit(raw_path)
        path = url.path.rstrip("/") or "/"
        account_match = _ACCOUNT_PATH.match(path)
        plan = self._faults.plan(path, account_match.group(1) if account_match else None)
        self._sleep(plan.latency_seconds)
        if plan.kind == fk.RESET:
            return _Reply(0), fk.RESET, True
        fault: str | None = None
        if plan.kind == fk.TIMEOUT:
            self._sleep(plan.timeout_seconds)
            fault = fk.TIMEOUT

        token = _bearer(headers.get("Authorization"))
        accounts = self.book.by_token.get(token or "")
        if not accounts:
            return _Reply(401, text=INVALID_TOKEN), fault, False
        if account_match and account_match.group(1) not in {a.account_id for a in accounts}:
            return _Reply(401, text=f"Unauthorized Account: {account_match.group(1)}"), fault, False
        if plan.kind == fk.FAILING_ACCOUNT:
            text = (
                INVALID_TOKEN if plan.status == 401 else f"Injected failure for account (HTTP {plan.status})"
            )
            return _Reply(plan.status, text=text), fk.FAILING_ACCOUNT, False

        route = _match_route(method, path)
        if route is None:
            return _Reply(404, text=f"Not Found: {method} {path}"), fault, False
        handler, match = route

        limit_headers: dict[str, str] = {}
        fingerprint = token_fingerprint(token or "")
        bucket = bucket_for(method, path)
        if plan.kind == fk.BURST_429:
            decision = self._limiter.exhausted(fingerprint, bucket)
            return _Reply(429, text=RATE_LIMITED, headers=decision.headers()), fk.BURST_429, False
        if self.config.rate_limits_enabled:
            decision = self._limiter.hit(fingerprint, bucket)
            limit_headers = decision.headers()
            if not decision.allowed:
                return _Reply(429, text=RATE_LIMITED, headers=limit_headers), fault, False
        if plan.kind in (fk.FAIL_5XX, fk.RANDOM_5XX):
            return (
                _Reply(plan.status, text="Service Unavailable (injected fault)", headers=limit_headers),
                plan.kind,
                False,
            )

        form: dict[str, list[str]] = {}
        if method in ("POST", "PUT") and body:
            ctype = (headers.get("Content-Type") or "").lower()
            text = body.decode("utf-8", errors="replace")
            if "json" in ctype or text.lstrip().startswith(("{", "[")):
                reply = _error(
                    400, "Request body must be form-encoded (application/x-www-form-urlencoded), not JSON"
                )
                reply.headers.update(limit_headers)
                return reply, fault, False
            form = parse_qs(text, keep_blank_values=True)
        call = _Call(method, path, parse_qs(url.query, keep_blank_values=True), form, accounts, match)
        try:
            result = handler(self, call)
            reply = result if isinstance(result, _Reply) else _Reply(200, document=result)
        except _ApiError as exc:
            reply = _error(exc.status, exc.message)
        reply.headers.update(limit_headers)
        if plan.kind == fk.MALFORMED:
            reply.status = 200
            fault = fk.MALFORMED
        return reply, fault, False

    # ----- endpoints: user and accounts ------------------------------------------------------

    def _profile(self, call: _Call) -> Any:
        first = call.accounts[0]
        rows = [
            {
                "account_number": a.account_id,
                "classification": a.classification,
                "date_created": "2021-03-01T14:02:11.000Z",
                "day_trader": a.account_type == "pdt",
                "option_level": a.option_level,
                "status": "active",
                "type": "cash" if a.account_type == "cash" else "margin",
                "last_update_date": "2021-03-01T14:02:11.000Z",
            }
            for a in call.accounts
        ]
        return {
            "profile": {
                "account": collection(rows),
                "id": f"id-{token_fingerprint(first.token)}",
                "name": first.name,
            }
        }

    def _user_balances(self, call: _Call) -> Any:
        """Shape constructed from the per-account body; Tradier's exact document is unverified."""
        rows = [
            {"account_number": a.account_id, "balances": self.book.balances(a.account_id)}
            for a in call.accounts
        ]
        return {"accounts": {"account": collection(rows)}}

    def _balances(self, call: _Call) -> Any:
        return {"balances": self.book.balances(call.match.group(1))}

    def _positions(self, call: _Call) -> Any:
        rows = self.book.positions(call.match.group(1))
        return {"positions": {"position": collection(rows)} if rows else "null"}

    def _list_orders(self, call: _Call) -> Any:
        """All orders fit on page 1; later pages are "null", as Tradier pages past the end."""
        page = call.param("page") or "1"
        if not page.isdigit() or int(page) < 1:
            raise _ApiError(400, f"page must be a positive integer, got {page!r}")
        rows = [
            o.to_wire(include_tags=call.flag("includeTags")) for o in self.book.orders(call.match.group(1))
        ]
        if not rows or int(page) > 1:
            return {"orders": "null"}
        return {"orders": {"order": collection(rows)}}

    def _get_order(self, call: _Call) -> Any:
        stored = self._stored(call)
        return {"order": stored.to_wire(include_tags=True)}

    def _stored(self, call: _Call) -> StoredOrder:
        account_id, raw_id = call.match.group(1), call.match.group(2)
        stored = self.book.order(account_id, int(raw_id)) if raw_id.isdigit() else None
        if stored is None:
            raise _ApiError(404, f"Order {raw_id} not found for account {account_id}")
        return stored

    # ----- endpoints: orders ---------------------------------------------------------------

    def _place_order(self, call: _Call) -> Any:
        account_id = call.match.group(1)
        if call.param("class") == "oco":
            return self._preview_oco(_validate_oco(call))
        order = _validate_order(call)
        contract = order["contract"]
        unit = self._unit_price(order, contract)
        qty = order["quantity"]
        commission = COMMISSION_PER_CONTRACT * qty
        premium = (unit * qty * MULTIPLIER).quantize(Decimal("0.01"))
        buying = order["side"] in BUY_SIDES
        requirement = Decimal("0.00") if buying else self._short_requirement(order) * qty
        cost = premium + commission if buying else requirement
        if buying and cost > self.book.available_buying_power(account_id):
            return _Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
        if order["preview"]:
            return {
                "order": {
                    "status": "ok",
                    "result": True,
                    "commission": commission,
                    "cost": premium + commission,
                    "fees": Decimal("0.00"),
                    "symbol": order["symbol"],
                    "quantity": qty,
                    "side": order["side"],
                    "type": order["type"],
                    "duration": order["duration"],
                    "price": unit,
                    "order_cost": premium if buying else -premium,
                    "margin_change": requirement,
                    "option_requirement": requirement,
                    "request_date": self._now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                    "extended_hours": False,
                    "class": "option",
                    "strategy": "option",
                    "day_trades": 0,
                }
            }
        stored = self.book.place(
            account_id,
            symbol=order["symbol"],
            option_symbol=order["option_symbol"],
            side=order["side"],
            quantity=qty,
            order_type=order["type"],
            duration=order["duration"],
            price=order["price"],
            stop=order["stop"],
            tag=order["tag"],
            cost=cost if buying else Decimal("0"),
            now=self._now(),
        )
        if stored is None:  # lost a race for the same buying power
            return _Reply(200, document={"errors": {"error": NOT_ENOUGH_BP}})
        return {"order": {"id": stored.id, "status": "ok", "partner_id": stored.partner_id}}

    def _preview_oco(self, legs: list[dict[str, Any]]) -> Any:
        """Price an OCO: at most one leg executes, so the commission is the larger leg's.

        Only previews are served: the emulator's book holds single-leg orders, and placing a
        linked pair it could not cancel as one would misrepresent Tradier.
        """
        if not legs[0]["preview"]:
            raise _ApiError(400, "the emulator previews class=oco (preview=true) but does not place it")
        qty = max(leg["quantity"] for leg in legs)
        commission = COMMISSION_PER_CONTRACT * qty
        return {
            "order": {
                "status": "ok",
                "result": True,
                "commission": commission,
                "cost": commission,
                "fees": Decimal("0.00"),
                "symbol": legs[0]["symbol"],
                "quantity": qty,
                "side": legs[0]["side"],
                "type": "oco",
                "duration": legs[0]["duration"],
                "order_cost": Decimal("0.00"),
                "margin_change": Decimal("0.00"),
                "request_date": self._now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "extended_hours": False,
                "class": "oco",
                "strategy": "oco",
                "day_trades": 0,
            }
        }

    def _unit_price(self, order: dict[str, Any], contract: Any) -> Decimal:
        if order["type"] in ("limit", "stop_limit"):
            return order["price"]
        if order["type"] == "stop":
            return order["stop"]
        quote = self.market.option_quote(contract, greeks=False)
        if quote is None:
            raise _ApiError(400, f"option_symbol {order['option_symbol']!r} has no market")
        side_price = quote["ask"] if order["side"] in BUY_SIDES else quote["bid"]
        return Decimal(str(side_price or quote["ask"]))

    def _short_requirement(self, order: dict[str, Any]) -> Decimal:
        """Per-contract requirement for a short index option, a Reg-T-like simplification.

        premium + max(15% of the index - out-of-the-money amount, 10% of the strike/index), x100.
        Real house requirements differ; only opening sells carry it.
        """
        if order["side"] != "sell_to_open":
            return Decimal("0.00")
        contract = order["contract"]
        spot = Decimal(str(self.market.spot))
        strike = contract.strike
        otm = max(strike - spot, Decimal(0)) if contract.right == "C" else max(spot - strike, Decimal(0))
        floor = Decimal("0.10") * (spot if contract.right == "C" else strike)
        unit = self._unit_price({**order, "side": "sell_to_open"}, contract)
        per = unit + max(Decimal("0.15") * spot - otm, floor)
        return (per * MULTIPLIER).quantize(Decimal("0.01"))

    def _modify_order(self, call: _Call) -> Any:
        account_id = call.match.group(1)
        stored = self._stored(call)
        if "quantity" in call.form:
            raise _ApiError(400, "quantity cannot be modified; cancel and place a new order")
        changes: dict[str, Any] = {}
        new_type = call.form.get("type", [None])[0]
        if new_type is not None:
            if new_type not in ORDER_TYPES:
                raise _ApiError(400, f"type is invalid: {new_type!r} (one of {', '.join(ORDER_TYPES)})")
            changes["type"] = new_type
        duration = call.form.get("duration", [None])[0]
        if duration is not None:
            if duration not in DURATIONS:
                raise _ApiError(400, f"duration is invalid: {duration!r} (one of {', '.join(DURATIONS)})")
            if stored.duration in ("pre", "post") or duration in ("pre", "post"):
                raise _ApiError(400, "the session of a pre/post order cannot be changed")
            changes["duration"] = duration
        for name, attr in (("price", "price"), ("stop", "stop")):
            raw = call.form.get(name, [None])[0]
            if raw is not None:
                changes[attr] = _positive_decimal(name, raw)
        if not changes:
            raise _ApiError(400, "nothing to modify: send type, duration, price or stop")
        if stored.status not in OPEN_STATUSES:
            return _Reply(
                200,
                document={
                    "errors": {"error": f"Order {stored.id} is {stored.status} and cannot be modified"}
                },
            )
        final_type = changes.get("type", stored.type)
        final_price = changes.get("price", stored.price)
        final_stop = changes.get("stop", stored.stop)
        if final_type in ("limit", "stop_limit") and final_price is None:
            raise _ApiError(400, f"price is required for type {final_type}")
        if final_type in ("stop", "stop_limit") and final_stop is None:
            raise _ApiError(400, f"stop is required for type {final_type}")
        if stored.side in BUY_SIDES and final_price is not None and final_type in ("limit", "stop_limit"):
            changes["reserved"] = (
                final_price * stored.quantity * MULTIPLIER + COMMISSION_PER_CONTRACT * stored.quantity
            )
        updated = self.book.modify(account_id, stored.id, changes, now=self._now())
        return {"order": {"id": updated.id, "status": "ok", "partner_id": updated.partner_id}}

    def _cancel_order(self, call: _Call) -> Any:
        stored = self._stored(call)
        if stored.status not in OPEN_STATUSES:
            return _Reply(
                200,
                document={
                    "errors": {"error": f"Order {stored.id} is {stored.status} and cannot be canceled"}
                },
            )
        canceled = self.book.cancel(call.match.group(1), stored.id, now=self._now())
        return {"order": {"id": canceled.id, "status": "ok"}}

    # ----- endpoints: market data ----------------------------------------------------------

    def _expirations(self, call: _Call) -> Any:
        symbol = _required(call, "symbol")
        dates = self.market.expirations(symbol, include_all_roots=call.flag("includeAllRoots"))
        if not dates:
            return {"expirations": "null"}
        if call.flag("strikes"):
            rows = [
                {"date": d.isoformat(), "strikes": {"strike": collection(self.market.strikes)}} for d in dates
            ]
            return {"expirations": {"expiration": collection(rows)}}
        return {"expirations": {"date": collection([d.isoformat() for d in dates])}}

    def _chains(self, call: _Call) -> Any:
        symbol = _required(call, "symbol")
        raw = _required(call, "expiration")
        try:
            expiration = date.fromisoformat(raw)
        except ValueError as exc:
            raise _ApiError(400, f"expiration must be YYYY-MM-DD, got {raw!r}") from exc
        rows = self.market.chain(symbol, expiration, greeks=call.flag("greeks"))
        return {"options": {"option": collection(rows)} if rows else "null"}

    def _quotes(self, call: _Call) -> Any:
        raw = _required(call, "symbols")
        greeks = call.flag("greeks")
        found: list[dict[str, Any]] = []
        unmatched: list[str] = []
        for symbol in (s.strip().upper() for s in raw.split(",")):
            if not symbol:
                continue
            if symbol == "SPX":
                found.append(self.market.index_quote())
                continue
            try:
                quote = self.market.option_quote(parse_option_symbol(symbol), greeks=greeks)
            except ValueError:
                quote = None
            if quote is None:
                unmatched.append(symbol)
            else:
                found.append(quote)
        body: dict[str, Any] = {}
        if found:
            body["quote"] = collection(found)
        if unmatched:
            body["unmatched_symbols"] = {"symbol": collection(unmatched)}
        return {"quotes": body or "null"}

    def _clock(self, call: _Call) -> Any:
        return self.market.clock()

    def _calendar(self, call: _Call) -> Any:
        now = self._now().astimezone(mc.NEW_YORK)
        month_raw = call.param("month") or str(now.month)
        year_raw = call.param("year") or str(now.year)
        if not month_raw.isdigit() or not 1 <= int(month_raw) <= 12:
            raise _ApiError(400, f"month must be 1-12, got {month_raw!r}")
        if not year_raw.isdigit():
            raise _ApiError(400, f"year must be a 4-digit year, got {year_raw!r}")
        month, year = int(month_raw), int(year_raw)
        try:
            days = self.market.calendar_days(year, month)
        except (ValueError, KeyError) as exc:
            raise _ApiError(400, f"no calendar for {year}-{month:02d}: {exc}") from exc
        return {"calendar": {"month": month, "year": year, "days": {"day": collection(days)}}}


def emulator_clock(config: EmulatorConfig) -> Clock:
    """The clock a config implies: ``now`` pinned, else ``today`` at 10:30 ET, else ``SPX_NOW``/real time."""
    if config.now is not None:
        return FixedClock(config.now)
    if config.today is not None:
        return FixedClock(datetime.combine(config.today, DEFAULT_QUOTE_TIME, tzinfo=mc.NEW_YORK))
    return clock_from_env()


def _error(status: int, message: str) -> _Reply:
    return _Reply(status, document={"errors": {"error": message}})


def _required(call: _Call, name: str) -> str:
    value = call.param(name)
    if value is None or not value.strip():
        raise _ApiError(400, f"Missing required parameter: {name}")
    return value.strip()


def _positive_decimal(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise _ApiError(400, f"{name} must be a number, got {raw!r}") from exc
    if not value.is_finite() or value <= 0:
        raise _ApiError(400, f"{name} must be a positive number, got {raw!r}")
    return value


def _validate_order(call: _Call) -> dict[str, Any]:
    """Check a single-leg option order form the way Tradier does; 400 naming field and value."""
    klass = _required(call, "class")
    if klass != "option":
        raise _ApiError(400, f"class is invalid: {klass!r} (the emulator accepts class=option or oco)")
    return {**_validate_leg(call, ""), **_validate_common(call)}


def _validate_oco(call: _Call) -> list[dict[str, Any]]:
    """An OCO of two single-leg option orders (keys ``side[0]``, ``stop[1]``...; i from 0).

    Tradier's rules: the two legs differ in ``type`` and share the same ``option_symbol``; one
    ``duration`` for both (tradier-api.md §3.2). The preview shape is constructed, not captured.
    """
    common = _validate_common(call)
    legs = [{**_validate_leg(call, f"[{i}]"), **common} for i in (0, 1)]
    if legs[0]["type"] == legs[1]["type"]:
        raise _ApiError(400, f"OCO legs must differ in type, both are {legs[0]['type']!r}")
    if legs[0]["option_symbol"] != legs[1]["option_symbol"]:
        raise _ApiError(
            400,
            f"OCO legs must share option_symbol, got {legs[0]['option_symbol']!r} and "
            f"{legs[1]['option_symbol']!r}",
        )
    return legs


def _validate_leg(call: _Call, suffix: str) -> dict[str, Any]:
    symbol = _required(call, f"symbol{suffix}").upper()
    option_symbol = _required(call, f"option_symbol{suffix}")
    try:
        contract = parse_option_symbol(option_symbol)
    except ValueError as exc:
        raise _ApiError(400, f"option_symbol{suffix} is invalid: {option_symbol!r} ({exc})") from exc
    if symbol not in (contract.underlying, contract.root):
        raise _ApiError(400, f"symbol{suffix} {symbol!r} does not match option_symbol {option_symbol!r}")
    side = _required(call, f"side{suffix}")
    if side not in SIDES:
        raise _ApiError(400, f"side{suffix} is invalid: {side!r} (one of {', '.join(SIDES)})")
    raw_qty = _required(call, f"quantity{suffix}")
    if not raw_qty.isdigit() or int(raw_qty) < 1:
        raise _ApiError(400, f"quantity{suffix} must be a positive integer, got {raw_qty!r}")
    order_type = _required(call, f"type{suffix}")
    if order_type not in ORDER_TYPES:
        raise _ApiError(400, f"type{suffix} is invalid for class option: {order_type!r}")
    price = stop = None
    if order_type in ("limit", "stop_limit"):
        price = _positive_decimal(f"price{suffix}", _required(call, f"price{suffix}"))
    if order_type in ("stop", "stop_limit"):
        stop = _positive_decimal(f"stop{suffix}", _required(call, f"stop{suffix}"))
    return {
        "symbol": symbol,
        "option_symbol": contract.tradier,
        "contract": contract,
        "side": side,
        "quantity": int(raw_qty),
        "type": order_type,
        "price": price,
        "stop": stop,
    }


def _validate_common(call: _Call) -> dict[str, Any]:
    duration = _required(call, "duration")
    if duration not in DURATIONS:
        raise _ApiError(400, f"duration is invalid: {duration!r} (one of {', '.join(DURATIONS)})")
    tag = call.param("tag")
    if tag is not None and not TAG_RE.match(tag):
        raise _ApiError(400, f"tag is invalid: {tag!r} (1-255 letters, digits or '-')")
    preview = (call.param("preview") or "false").strip().lower()
    if preview not in ("true", "false"):
        raise _ApiError(400, f"preview must be true or false, got {preview!r}")
    return {"duration": duration, "tag": tag, "preview": preview == "true"}


_ROUTES: list[Route] = [
    ("GET", re.compile(r"^/v1/user/profile$"), TradierEmulator._profile),
    ("GET", re.compile(r"^/v1/user/balances$"), TradierEmulator._user_balances),
    ("GET", re.compile(r"^/v1/accounts/([^/]+)/balances$"), TradierEmulator._balances),
    ("GET", re.compile(r"^/v1/accounts/([^/]+)/positions$"), TradierEmulator._positions),
    ("GET", re.compile(r"^/v1/accounts/([^/]+)/orders$"), TradierEmulator._list_orders),
    ("POST", re.compile(r"^/v1/accounts/([^/]+)/orders$"), TradierEmulator._place_order),
    ("GET", re.compile(r"^/v1/accounts/([^/]+)/orders/([^/]+)$"), TradierEmulator._get_order),
    ("PUT", re.compile(r"^/v1/accounts/([^/]+)/orders/([^/]+)$"), TradierEmulator._modify_order),
    ("DELETE", re.compile(r"^/v1/accounts/([^/]+)/orders/([^/]+)$"), TradierEmulator._cancel_order),
    ("GET", re.compile(r"^/v1/markets/options/expirations$"), TradierEmulator._expirations),
    ("GET", re.compile(r"^/v1/markets/options/chains$"), TradierEmulator._chains),
    ("GET", re.compile(r"^/v1/markets/quotes$"), TradierEmulator._quotes),
    ("POST", re.compile(r"^/v1/markets/quotes$"), TradierEmulator._quotes),
    ("GET", re.compile(r"^/v1/markets/clock$"), TradierEmulator._clock),
    ("GET", re.compile(r"^/v1/markets/calendar$"), TradierEmulator._calendar),
]


def _match_route(
    method: str, path: str
) -> tuple[Callable[[TradierEmulator, _Call], Any], re.Match[str]] | None:
    for route_method, pattern, handler in _ROUTES:
        if route_method == method:
            match = pattern.match(path)
            if match is not None:
                return handler, match
    return None
