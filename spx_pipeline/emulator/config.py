"""What an emulator run looks like: accounts, market parameters, rate limits and injected faults.

Everything is a frozen value so a test can build a config, hand it to a server and keep using
it as the expected answer. Demo tokens are fixed strings (they open nothing but this loopback
server) so a newcomer can paste them into curl.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from spx_pipeline.domain.tradier.enums import ACCOUNT_TYPES
from spx_pipeline.domain.tradier.rate_limits import LIVE_LIMITS, SANDBOX_LIMITS, Bucket
from spx_pipeline.emulator.echo import ECHO_SPELLINGS

AccountType = Literal["margin", "cash", "pdt"]


@dataclass(frozen=True, slots=True)
class EmulatedPosition:
    """One holding as ``/accounts/{id}/positions`` reports it (quantity < 0 means short)."""

    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    date_acquired: str = "2026-11-02T14:35:11.000Z"


@dataclass(frozen=True, slots=True)
class EmulatedAccount:
    """A brokerage account behind one token.

    ``option_buying_power`` and ``day_trade_buying_power`` default to what a plain Reg-T account
    would show (cash for options, 4x for pdt day trades) so callers only state what they test.
    """

    account_id: str
    token: str
    account_type: AccountType
    total_equity: Decimal
    cash: Decimal
    option_buying_power: Decimal | None = None
    day_trade_buying_power: Decimal | None = None
    pending_orders_count: int = 0
    pending_cash: Decimal = Decimal("0")
    classification: str = "individual"
    option_level: int = 4
    name: str = "Emulated Trader"
    positions: tuple[EmulatedPosition, ...] = ()

    def __post_init__(self) -> None:
        if not self.account_id or not self.account_id.isalnum():
            raise ValueError(f"account_id must be non-empty alphanumeric, got {self.account_id!r}")
        if not self.token or not self.token.strip():
            raise ValueError(f"token for account {self.account_id} must be non-empty")
        if self.account_type not in ACCOUNT_TYPES:
            raise ValueError(f"account_type must be one of {ACCOUNT_TYPES}, got {self.account_type!r}")
        for name in ("total_equity", "cash", "pending_cash"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))
        for name in ("option_buying_power", "day_trade_buying_power"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))
        if self.pending_orders_count < 0:
            raise ValueError(f"pending_orders_count must be >= 0, got {self.pending_orders_count}")

    @property
    def effective_option_buying_power(self) -> Decimal:
        """The number that limits option buys: cash_available on cash accounts, else option BP."""
        if self.account_type == "cash":
            return self.cash - self.pending_cash
        if self.option_buying_power is not None:
            return self.option_buying_power
        return self.cash - self.pending_cash

    @property
    def effective_day_trade_buying_power(self) -> Decimal:
        if self.day_trade_buying_power is not None:
            return self.day_trade_buying_power
        return self.effective_option_buying_power * 4


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Faults to inject. Counters mean "the next N matching requests" get that fault.

    ``failing_accounts`` fail every request naming them; ``path_prefix`` limits which paths the
    counted faults (and ``error_rate``) apply to; ``error_rate`` is a seeded random 5xx fraction.
    A counted fault is used up by the request it was assigned to, whatever that request's answer
    would otherwise have been (even a 401 or 404), so tests count requests, not successes.
    """

    latency_ms: float = 0.0
    burst_429: int = 0
    fail_5xx: int = 0
    timeouts: int = 0
    timeout_seconds: float = 5.0
    resets: int = 0
    malformed: int = 0
    failing_accounts: frozenset[str] = frozenset()
    failing_status: int = 500
    path_prefix: str | None = None
    error_rate: float = 0.0
    seed: int = 0
    # A hostile broker: every JSON answer of the paths above carries the request's Authorization
    # header in each of these spellings (names from ``emulator.echo.ECHO_SPELLINGS``).
    echo_authorization: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("burst_429", "fail_5xx", "timeouts", "resets", "malformed"):
            if getattr(self, name) < 0:
                raise ValueError(f"FaultConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.latency_ms < 0:
            raise ValueError(f"FaultConfig.latency_ms must be >= 0, got {self.latency_ms}")
        if self.timeout_seconds < 0:
            raise ValueError(f"FaultConfig.timeout_seconds must be >= 0, got {self.timeout_seconds}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"FaultConfig.error_rate must be within [0, 1], got {self.error_rate}")
        if not 400 <= self.failing_status <= 599:
            raise ValueError(f"FaultConfig.failing_status must be an HTTP error, got {self.failing_status}")
        if not isinstance(self.failing_accounts, frozenset):
            object.__setattr__(self, "failing_accounts", frozenset(self.failing_accounts))
        unknown = sorted(set(self.echo_authorization) - set(ECHO_SPELLINGS))
        if unknown:
            raise ValueError(
                f"FaultConfig.echo_authorization has unknown spellings {unknown}; "
                f"use any of {sorted(ECHO_SPELLINGS)}"
            )
        object.__setattr__(self, "echo_authorization", tuple(self.echo_authorization))


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """A moving market and an execution engine for the local server.

    The underlying walks a seeded path sampled every ``step_seconds`` of the regular session
    (``volatility`` annualised over trading time); option quotes follow it. Orders fill against
    those quotes: at most the displayed size per step when ``partial_fills``, at the touch moved by
    a seeded number of ticks drawn from ``slippage_ticks`` ((ticks, weight) pairs, positive ticks
    adverse), never through a limit. Without a SimulationConfig quotes stand still and orders rest
    until canceled, which is what preview-only callers and their tests rely on.
    """

    seed: int = 7
    step_seconds: int = 15
    volatility: float = 0.15
    slippage_ticks: tuple[tuple[int, float], ...] = ((-1, 0.25), (0, 0.45), (1, 0.22), (2, 0.08))
    partial_fills: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.step_seconds <= 3600:
            raise ValueError(
                f"SimulationConfig.step_seconds must be within [1, 3600], got {self.step_seconds}"
            )
        if not 0.0 <= self.volatility <= 5.0:
            raise ValueError(f"SimulationConfig.volatility must be within [0, 5], got {self.volatility}")
        if not self.slippage_ticks or any(weight < 0 for _, weight in self.slippage_ticks):
            raise ValueError(
                "SimulationConfig.slippage_ticks needs (ticks, weight >= 0) pairs, "
                f"got {self.slippage_ticks!r}"
            )
        if sum(weight for _, weight in self.slippage_ticks) <= 0:
            raise ValueError(
                f"SimulationConfig.slippage_ticks weights must not all be 0, got {self.slippage_ticks!r}"
            )


# An account's figures as one table row, in ``EmulatedAccount``'s own field order: id, token, type,
# total equity, cash, option and day-trade buying power (None: the Reg-T default it derives).
AccountRow = tuple[str, str, AccountType, str, str, str | None, str | None]


def account_from_row(row: AccountRow, **rest: Any) -> EmulatedAccount:
    """The account of one table row (amounts as exact decimal text); ``rest`` sets the other fields.

    The demo's accounts, here and in ``spx_pipeline.demo`` (the small margin account), are all
    rows of this shape, so their columns are read one way.
    """
    account_id, token, account_type, total_equity, cash, option_bp, day_trade_bp = row
    return EmulatedAccount(
        account_id,
        token,
        account_type,
        Decimal(total_equity),
        Decimal(cash),
        None if option_bp is None else Decimal(option_bp),
        None if day_trade_bp is None else Decimal(day_trade_bp),
        **rest,
    )


# One account of each type, each behind its own token; the numbers are fixed for docs and tests.
DEMO_ACCOUNT_ROWS: Final[tuple[AccountRow, ...]] = (
    ("VA00000001", "demo-margin-token-0001", "margin", "52480.55", "31210.40", "17798.36", None),
    ("VA00000002", "demo-cash-token-0002", "cash", "8125.75", "8125.75", None, None),
    ("VA00000003", "demo-pdt-token-0003", "pdt", "101250.40", "100820.40", "95820.40", "383281.60"),
)
# Each demo account's name, holdings (symbol, quantity (< 0: short), cost basis) and the defaults
# it differs from.
_DEMO_ACCOUNT_REST: Final[dict[str, dict[str, Any]]] = {
    "VA00000001": {
        "name": "Demo Margin",
        "pending_orders_count": 1,
        "positions": (
            EmulatedPosition("SPY", Decimal("30.00000000"), Decimal("17140.20")),
            EmulatedPosition("SPXW261218C06200000", Decimal("-2.00000000"), Decimal("-4130.00")),
        ),
    },
    "VA00000002": {"name": "Demo Cash", "classification": "individual_cash", "option_level": 2},
    "VA00000003": {
        "name": "Demo PDT",
        "positions": (EmulatedPosition("SPXW261218P05800000", Decimal("1.00000000"), Decimal("1210.00")),),
    },
}


def demo_accounts() -> list[EmulatedAccount]:
    """The accounts of ``DEMO_ACCOUNT_ROWS``: margin, cash and pdt, with their holdings."""
    return [account_from_row(row, **_DEMO_ACCOUNT_REST[row[0]]) for row in DEMO_ACCOUNT_ROWS]


def make_accounts(n: int, *, shared_token: str | None = None, seed: int = 1) -> list[EmulatedAccount]:
    """``n`` synthetic accounts (types cycle margin/cash/pdt) with seeded balances.

    One token each, or one ``shared_token`` holding all ``n`` (a multi-account login).
    Ids start at VA10000001 so they never collide with the demo accounts.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    accounts: list[EmulatedAccount] = []
    for i in range(n):
        kind: AccountType = ACCOUNT_TYPES[i % 3]  # type: ignore[assignment]
        equity = Decimal(rng.randrange(2_000_00, 250_000_00)) / 100
        cash = (equity * Decimal(rng.randrange(40, 100)) / 100).quantize(Decimal("0.01"))
        option_bp = None if kind == "cash" else (cash * Decimal("0.9")).quantize(Decimal("0.01"))
        day_trade_bp = option_bp * 4 if kind == "pdt" and option_bp is not None else None
        account_id = f"VA{10_000_001 + i:08d}"
        token = shared_token or f"synthetic-token-{seed}-{i + 1:06d}"
        name = f"Synthetic {i + 1}"
        accounts.append(
            EmulatedAccount(account_id, token, kind, equity, cash, option_bp, day_trade_bp, name=name)
        )
    return accounts


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Market and account setup for one emulator instance.

    ``today`` None means the NYSE trading day as seen from ``now`` (or the real clock);
    ``now`` None means the market clock follows real time; ``simulation`` None keeps quotes still
    and orders resting (see ``SimulationConfig``).
    """

    accounts: list[EmulatedAccount] = field(default_factory=demo_accounts)
    today: date | None = None
    now: datetime | None = None
    spot: float = 6000.0
    expirations: int = 6
    strikes_each_side: int = 40
    strike_step: int = 5
    sandbox: bool = True
    rate_limit_window_seconds: float = 60.0
    rate_limits_enabled: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = 7
    simulation: SimulationConfig | None = None
    # Orders per page of ``GET .../orders`` (None: all on page 1); Tradier's own page size is unverified.
    orders_page_size: int | None = None

    def __post_init__(self) -> None:
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError(f"EmulatorConfig.now must be timezone-aware, got {self.now!r}")
        if not self.spot > 0:
            raise ValueError(f"EmulatorConfig.spot must be > 0, got {self.spot}")
        if self.orders_page_size is not None and self.orders_page_size < 1:
            raise ValueError(f"EmulatorConfig.orders_page_size must be >= 1, got {self.orders_page_size}")
        if self.expirations < 1:
            raise ValueError(f"EmulatorConfig.expirations must be >= 1, got {self.expirations}")
        if self.strikes_each_side < 0:
            raise ValueError(f"EmulatorConfig.strikes_each_side must be >= 0, got {self.strikes_each_side}")
        if self.strike_step <= 0:
            raise ValueError(f"EmulatorConfig.strike_step must be > 0, got {self.strike_step}")
        if self.rate_limit_window_seconds <= 0:
            raise ValueError(
                f"EmulatorConfig.rate_limit_window_seconds must be > 0, got {self.rate_limit_window_seconds}"
            )
        seen: set[str] = set()
        for account in self.accounts:
            if account.account_id in seen:
                raise ValueError(f"duplicate account_id {account.account_id!r} in EmulatorConfig.accounts")
            seen.add(account.account_id)

    @property
    def rate_limits(self) -> dict[Bucket, int]:
        """Requests per window per token and bucket (sandbox: 60/60/60, production: 120/120/60)."""
        return dict(SANDBOX_LIMITS if self.sandbox else LIVE_LIMITS)
