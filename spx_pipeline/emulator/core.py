"""What the local Tradier server holds and its requests see: the book, the markets, faults, the log.

``EmulatorCore`` is the state every request reads and changes; the endpoints (``endpoints/``), the
request pipeline (``dispatch.py``) and the listener (``http_plumbing.py``) take it, and
``server.TradierEmulator`` adds the listener's lifecycle on top. Kept below all of them so no handler
imports the server that serves it. With ``EmulatorConfig.simulation`` it also holds a moving market
and a fill engine (``fills.py``), caught up lazily with the clock before each request is answered.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from spx_pipeline.clock import Clock, FixedClock, clock_from_env, is_pinned
from spx_pipeline.domain import market_calendar
from spx_pipeline.emulator.config import EmulatorConfig, FaultConfig
from spx_pipeline.emulator.faults import FaultInjector
from spx_pipeline.emulator.fills import FillEngine, FillRecord
from spx_pipeline.emulator.market import DEFAULT_QUOTE_TIME, Market, default_today
from spx_pipeline.emulator.market_hours import MarketHours
from spx_pipeline.emulator.price_path import PricePath
from spx_pipeline.emulator.ratelimit import RateLimiter
from spx_pipeline.emulator.state import AccountBook

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


class EmulatorCore:
    """The server's state and controls, without a listener (``TradierEmulator`` adds one)."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock if clock is not None else emulator_clock(self.config)
        self._markets: dict[date, Market] = {}
        self._markets_lock = threading.Lock()
        self.hours = MarketHours()
        self.book = AccountBook(self.config.accounts)
        simulation = self.config.simulation
        self.engine = (
            FillEngine(simulation, self.book, self.hours, self.market_for) if simulation is not None else None
        )
        self.fault_injector = FaultInjector(self.config.faults)
        self.limiter = RateLimiter(self.config.rate_limits, self.config.rate_limit_window_seconds)
        self._log_lock = threading.Lock()
        self._log_records: list[RequestRecord] = []
        # Requests being answered now: a stalled (timed-out) request is logged only when its
        # handler finishes, after the client gave up on it.
        self._in_flight = 0
        self._answered = threading.Condition(self._log_lock)
        self._stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

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
        return self.market_for(self.today)

    def market_for(self, day: date) -> Market:
        """The market of trading day ``day``, generated on first use and kept for a few days."""
        with self._markets_lock:
            market = self._markets.get(day)
            if market is None:
                if len(self._markets) >= _MARKETS_KEPT:
                    self._markets.pop(next(iter(self._markets)))
                market = self._new_market(day)
                self._markets[day] = market
            return market

    def _new_market(self, day: date) -> Market:
        """Without a simulation a pinned clock prices the day at its instant (a still market); with
        one every day is priced at 10:30 ET and moves along its seeded path from there, so the
        path never depends on which request came first."""
        at_default = datetime.combine(day, DEFAULT_QUOTE_TIME, tzinfo=market_calendar.NEW_YORK)
        simulation, path = self.config.simulation, None
        if simulation is None:
            quote_time = self.clock.now() if is_pinned(self.clock) else at_default
        else:
            quote_time = at_default
            session = self.hours.session(day)
            if session is not None:
                path = PricePath.build(
                    seed=simulation.seed,
                    session=session,
                    step_seconds=simulation.step_seconds,
                    volatility=simulation.volatility,
                    anchor=quote_time,
                )
        return Market(
            today=day,
            spot=self.config.spot,
            expirations=self.config.expirations,
            strikes_each_side=self.config.strikes_each_side,
            strike_step=self.config.strike_step,
            seed=self.config.seed,
            clock=self.clock,
            quote_time=quote_time,
            path=path,
        )

    def process_until_now(self) -> list[FillRecord]:
        """Let the simulated market catch up with the clock (fills, expiries); requests do this too."""
        if self.engine is None:
            return []
        with self.engine.lock:
            return self.engine.process_until(self.now())

    @contextlib.contextmanager
    def caught_up(self) -> Iterator[None]:
        """Hold the simulation still, caught up with the clock, while one request is answered."""
        if self.engine is None:
            yield
            return
        with self.engine.lock:
            self.engine.process_until(self.now())
            yield

    def fill_log(self) -> list[FillRecord]:
        """Every fill so far, in the order they happened (empty without a simulation)."""
        return self.engine.history if self.engine is not None else []

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

    def wait_until_answered(self, timeout: float = 30.0) -> None:
        """Wait until no request is being answered, so the log holds every request received.

        A client that timed out has moved on while the server still stalls its request; counting
        the log right then would miss it. Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        with self._answered:
            if not self._answered.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} request(s) still being answered after {timeout:.0f}s")

    def _request_started(self) -> None:
        with self._answered:
            self._in_flight += 1

    def _request_finished(self) -> None:
        with self._answered:
            self._in_flight -= 1
            self._answered.notify_all()

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
