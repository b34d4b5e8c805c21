"""Pick one SPX option per setup and size it for every account, doing the chain work once.

Input chain: a DataFrame with Tradier chain columns. Required: ``symbol`` (any OSI/Tradier/Massive
spelling; root, expiry, right and strike are read from it, so ``root_symbol``/``option_type``/
``strike``/``expiration_date`` may be absent), ``bid``, ``ask`` and a delta, either a flat ``delta``
column or a ``greeks`` column of dicts as Tradier nests it. Optional: ``volume`` and
``open_interest`` (missing counts fail a positive minimum), and the quote time as a ``quote_time``
column or ``bid_date``/``ask_date`` (datetimes or epoch numbers, converted by ``domain.quotes``); a
row's age is that of its staler side, and an undated row is stale.

Selection, per setup (bullish → calls, bearish → puts):

1. Expiry: today's (``as_of``) series when listed and the account passes the 0DTE policy, else
   the first listed expiry after ``as_of``. An account the policy blocks is *not* blocked when a
   later expiry qualifies: it gets that contract and ``blocked_reason`` keeps the policy sentence
   so the roll stays visible. Expirations before ``as_of`` are never candidates.
2. Filters, in order, each naming itself when it empties the list: root in ``config.roots``
   (SPXW: the AM-settled SPX series is not a 0DTE vehicle), a bid > 0 and a positive tick price,
   quote age (only when ``now`` is passed; when the market is closed at ``now`` the reason says so),
   spread ≤ ``max_spread_pct`` of mid (compared exactly, in integer 1/10,000 dollars), volume and
   open interest minimums, a delta present and within ``max_delta_distance`` of the target.
3. Delta nearest the target (absolute delta for puts); ties go to the cheaper ask, then the
   lower strike.
4. Entry limit: the mid rounded *up* to the SPX tick (a buy) but never above the ask rounded
   *down*, so the order is at most the ask and always on a valid tick.
5. Sizing (``sizing_batch.size_positions``) at that limit price with ``setup.stop_premium``, against
   what is left of the account's budgets: setups are walked in ``setup_order`` (priority, then id)
   and each one's cost, same-day cost and risk are booked before the next is sized, so an
   account's buying power (and day-trade buying power, and daily max risk) is spent once.

Every row is exactly one of tradable (``blocked`` False, at least one contract) or blocked (with a
``blocked_reason``): no contract qualified, the policy left no alternative, or the contract sized
to zero contracts, in which case the reason is the sizing sentence naming the binding limit. A
setup whose sizing fails is blocked for every account with the error; the other setups go on.

Speed: filtering and candidate selection run once per (direction, expiry) and once per setup;
per account only the 0DTE mask, sizing (numpy over all accounts) and reason strings remain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from spx_pipeline.domain.chain_filter import ChainIndex, Pick, prepare_chain, spread_basis_points
from spx_pipeline.domain.sizing import (
    DEFAULT_FEE,
    MAX_PREMIUM,
    RiskContext,
    ZeroDtePolicy,
    evaluate_0dte,
    floor_units,
    stop_premium_value,
    to_money,
)
from spx_pipeline.domain.sizing_batch import (
    CommittedArrays,
    RiskArrays,
    size_positions,
    units_to_decimal,
    zero_dte_allowed,
)

Direction = Literal["bullish", "bearish"]
DIRECTIONS: tuple[str, ...] = ("bullish", "bearish")

_CONTRACT_COLUMNS = (
    "symbol",
    "symbol_osi",
    "symbol_massive",
    "root_symbol",
    "expiration_date",
    "strike",
    "option_type",
    "bid",
    "ask",
    "mid",
    "limit_price",
    "delta",
)
# contract_recommendations in sql/warehouse/001_core_tables.sql, minus run_id and generated_at.
RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "as_of_date",
    "setup_id",
    "account_id",
    "risk_fingerprint",
    "direction",
    "target_delta",
    *_CONTRACT_COLUMNS,
    "suggested_contracts",
    "suggested_cost",
    "binding_constraint",
    "sizing_reason",
    "blocked",
    "blocked_reason",
)


MAX_T1_GAIN = Decimal(10)  # +1,000%: a T1 target beyond that is a typo, not a plan
MAX_PRIORITY = 1_000_000


def _four_places(amount: Decimal, field: str, value: object) -> Decimal:
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValueError(f"{field} {value!r} has more than 4 decimal places")
    return amount


def _positive_fraction(value: object, field: str, *, allow_one: bool = False) -> Decimal:
    amount = to_money(value, field)  # type: ignore[arg-type]
    if amount is None or amount <= 0 or amount > 1 or (amount == 1 and not allow_one):
        upper = "1]" if allow_one else "1)"
        raise ValueError(f"{field} must be in (0, {upper}, got {value!r}")
    return _four_places(amount, field, value)


@dataclass(frozen=True, slots=True)
class Setup:
    """A trade idea: which way, how much delta, and how the exits are planned.

    Every field is range-checked here, and the setup store validates through this class, so a
    stored setup can always be sized. ``priority`` orders the setups of an account when they share
    its budgets: lower numbers are sized first, ties by ``setup_id``.
    """

    setup_id: str
    direction: Direction
    target_delta: float = 0.40
    stop_premium: Decimal | None = None
    t1_gain_pct: Decimal = Decimal("0.5")
    t1_fraction: Decimal = Decimal("0.5")
    runner_stop_limit_offset: Decimal | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.setup_id, str) or not self.setup_id.strip():
            raise ValueError(f"setup_id must be a non-empty string, got {self.setup_id!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'bullish' or 'bearish', got {self.direction!r}")
        delta = self.target_delta
        if isinstance(delta, bool) or not isinstance(delta, int | float | Decimal | np.floating):
            raise ValueError(f"target_delta must be a number in (0, 1), got {delta!r}")
        delta = float(delta)
        if not math.isfinite(delta) or not 0 < delta < 1:
            raise ValueError(f"target_delta must be in (0, 1), got {self.target_delta!r}")
        object.__setattr__(self, "target_delta", delta)
        object.__setattr__(self, "stop_premium", stop_premium_value(self.stop_premium))
        gain = to_money(self.t1_gain_pct, "t1_gain_pct", maximum=None)
        if gain is None or gain <= 0 or gain > MAX_T1_GAIN:
            raise ValueError(f"t1_gain_pct must be in (0, {MAX_T1_GAIN}], got {self.t1_gain_pct!r}")
        object.__setattr__(self, "t1_gain_pct", _four_places(gain, "t1_gain_pct", self.t1_gain_pct))
        object.__setattr__(
            self, "t1_fraction", _positive_fraction(self.t1_fraction, "t1_fraction", allow_one=True)
        )
        offset = stop_premium_value(self.runner_stop_limit_offset, "runner_stop_limit_offset")
        object.__setattr__(self, "runner_stop_limit_offset", offset)
        priority = self.priority
        if isinstance(priority, bool) or not isinstance(priority, int | np.integer):
            raise ValueError(f"priority must be a whole number, got {priority!r}")
        if abs(int(priority)) > MAX_PRIORITY:
            raise ValueError(
                f"priority must be between -{MAX_PRIORITY:,} and {MAX_PRIORITY:,}, got {priority!r}"
            )
        object.__setattr__(self, "priority", int(priority))

    @property
    def option_type(self) -> str:
        return "call" if self.direction == "bullish" else "put"


def setup_order(setups: Sequence[Setup]) -> list[Setup]:
    """The order an account's budgets are spent in: priority (lower first), then setup id."""
    return sorted(setups, key=lambda setup: (setup.priority, setup.setup_id))


@dataclass(frozen=True, slots=True)
class SelectionConfig:
    """Liquidity thresholds (reference §3.2: spread ≤ 5-10% of mid, bid > 0, volume ≥ 100-500).

    Open interest defaults to 0 because intraday OI is yesterday's figure; for 0DTE, volume and
    spread are the live signals. ``max_quote_age`` applies only when a ``now`` is passed.
    """

    max_spread_pct: float = 0.10
    min_volume: int = 100
    min_open_interest: int = 0
    require_bid: bool = True
    max_quote_age: timedelta | None = timedelta(minutes=5)
    max_delta_distance: float | None = 0.15
    roots: tuple[str, ...] = ("SPXW",)
    fee_per_contract: Decimal = DEFAULT_FEE
    default_max_risk: Decimal | None = None

    def __post_init__(self) -> None:
        spread_basis_points(self.max_spread_pct)
        for name in ("min_volume", "min_open_interest"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_quote_age is not None and self.max_quote_age <= timedelta(0):
            raise ValueError(f"max_quote_age must be positive or None, got {self.max_quote_age!r}")
        if self.max_delta_distance is not None and not 0 < self.max_delta_distance <= 1:
            raise ValueError(f"max_delta_distance must be in (0, 1] or None, got {self.max_delta_distance!r}")
        if not self.roots or not all(isinstance(r, str) and r for r in self.roots):
            raise ValueError(f"roots must be a non-empty tuple of root symbols, got {self.roots!r}")
        object.__setattr__(self, "roots", tuple(self.roots))
        fee = to_money(self.fee_per_contract, "fee_per_contract", maximum=MAX_PREMIUM)
        fee = DEFAULT_FEE if fee is None else _four_places(fee, "fee_per_contract", self.fee_per_contract)
        object.__setattr__(self, "fee_per_contract", fee)
        object.__setattr__(
            self, "default_max_risk", floor_units(to_money(self.default_max_risk, "default_max_risk"))
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One row of ``contract_recommendations`` (without run_id/generated_at)."""

    as_of_date: date
    setup_id: str
    account_id: str
    risk_fingerprint: str
    direction: str
    target_delta: float
    symbol: str | None
    symbol_osi: str | None
    symbol_massive: str | None
    root_symbol: str | None
    expiration_date: date | None
    strike: Decimal | None
    option_type: str | None
    bid: float | None
    ask: float | None
    mid: float | None
    limit_price: Decimal | None
    delta: float | None
    suggested_contracts: int
    suggested_cost: Decimal
    binding_constraint: str | None
    sizing_reason: str
    blocked: bool
    blocked_reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Recommendation:
        def clean(value: Any) -> Any:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None
            if isinstance(value, np.generic):
                return value.item()
            return value

        values = {name: clean(row[name]) for name in RECOMMENDATION_COLUMNS}
        values["suggested_contracts"] = int(values["suggested_contracts"])
        values["blocked"] = bool(values["blocked"])
        return cls(**values)

    def as_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RECOMMENDATION_COLUMNS}


# --- recommend --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Accounts:
    ids: list[str]
    contexts: list[RiskContext]
    fingerprints: np.ndarray
    risk: RiskArrays
    policy_notes: dict[int, str]  # 0DTE block sentences, built once per account and shared by setups


def _accounts(contexts: Mapping[str, RiskContext]) -> _Accounts:
    ids = list(contexts)
    ctxs = []
    for account_id in ids:
        ctx = contexts[account_id]
        if not isinstance(ctx, RiskContext):
            raise TypeError(f"contexts[{account_id!r}] must be a RiskContext, got {type(ctx).__name__}")
        ctxs.append(ctx)
    return _Accounts(
        ids=ids,
        contexts=ctxs,
        fingerprints=np.array([c.fingerprint() for c in ctxs], dtype=object),
        risk=RiskArrays.from_contexts(ctxs),
        policy_notes={},
    )


def recommend(
    chain: pd.DataFrame,
    setups: Sequence[Setup],
    contexts: Mapping[str, RiskContext],
    as_of: date,
    *,
    policy: ZeroDtePolicy | None = None,
    config: SelectionConfig | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """One row per (setup, account) with the columns of ``contract_recommendations``.

    Rows come setup by setup in ``setup_order``, the order each account's budgets are spent in.
    """
    policy = policy or ZeroDtePolicy()
    config = config or SelectionConfig()
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {as_of!r}")
    if now is not None and now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    for setup in setups:
        if not isinstance(setup, Setup):
            raise TypeError(f"setups must hold Setup objects, got {type(setup).__name__}")
    accounts = _accounts(contexts)
    index = ChainIndex(prepare_chain(chain, quote_times=now is not None), config, now)
    allowed = zero_dte_allowed(accounts.risk, policy)
    committed = CommittedArrays.zeros(len(accounts.ids))
    frames = []
    for setup in setup_order(setups):
        try:
            frames.append(
                _recommend_setup(
                    index,
                    setup,
                    accounts=accounts,
                    allowed=allowed,
                    as_of=as_of,
                    policy=policy,
                    config=config,
                    committed=committed,
                )
            )
        except ValueError as exc:  # one setup that cannot be sized must not sink the others
            frames.append(
                _failed_setup(setup, accounts, as_of, f"Setup {setup.setup_id} could not be sized: {exc}")
            )
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in RECOMMENDATION_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(RECOMMENDATION_COLUMNS)]


def _empty_column(name: str, n: int) -> np.ndarray:
    """No contract: NaN in the float columns, None elsewhere (the dtypes a sized frame has)."""
    if name in ("bid", "ask", "mid", "delta"):
        return np.full(n, np.nan)
    column = np.empty(n, dtype=object)
    column[:] = None
    return column


def _failed_setup(setup: Setup, accounts: _Accounts, as_of: date, reason: str) -> pd.DataFrame:
    n = len(accounts.ids)
    return pd.DataFrame(
        {
            "as_of_date": [as_of] * n,
            "setup_id": setup.setup_id,
            "account_id": accounts.ids,
            "risk_fingerprint": accounts.fingerprints,
            "direction": setup.direction,
            "target_delta": setup.target_delta,
            **{name: _empty_column(name, n) for name in _CONTRACT_COLUMNS},
            "suggested_contracts": np.zeros(n, dtype=np.int64),
            "suggested_cost": [Decimal("0.0000")] * n,
            "binding_constraint": "invalid_setup",
            "sizing_reason": reason,
            "blocked": True,
            "blocked_reason": reason,
        }
    )


def _recommend_setup(
    index: ChainIndex,
    setup: Setup,
    *,
    accounts: _Accounts,
    allowed: np.ndarray,
    as_of: date,
    policy: ZeroDtePolicy,
    config: SelectionConfig,
    committed: CommittedArrays,
) -> pd.DataFrame:
    n = len(accounts.ids)
    listed = index.expirations(setup.option_type, as_of)
    same_day = as_of in listed
    later = [e for e in listed if e > as_of]
    next_pick = index.pick(setup, later[0]) if later else None
    day_pick = index.pick(setup, as_of) if same_day else None
    if not listed:
        none = Pick(
            None, f"no {setup.option_type} on roots {', '.join(config.roots)} expires on or after {as_of}"
        )
        picks, choice = [none], np.zeros(n, dtype=np.int64)
    elif same_day:
        picks = [day_pick, next_pick]  # type: ignore[list-item]
        choice = np.where(allowed, 0, 1)
    else:
        picks, choice = [next_pick], np.zeros(n, dtype=np.int64)  # type: ignore[list-item]
    # A row is a same-day trade when it holds today's series (closing it today is a day trade).
    same_day_rows = (choice == 0) & same_day

    # Contract columns: take from a tiny table of candidate rows (vectorized over accounts).
    empty = dict.fromkeys(_CONTRACT_COLUMNS)
    table = [p.row if p is not None and p.row is not None else empty for p in picks]
    has_contract = np.array([t is not empty for t in table])[choice]
    columns: dict[str, Any] = {}
    for name in _CONTRACT_COLUMNS:
        values = np.empty(len(table), dtype=object)
        values[:] = [t[name] for t in table]
        columns[name] = values[choice]
    for name in ("bid", "ask", "mid", "delta"):
        columns[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=np.float64)

    premiums = np.array([np.nan if t["limit_price"] is None else float(t["limit_price"]) for t in table])[
        choice
    ]
    batch = size_positions(
        accounts.risk,
        premiums,
        stop_premium=setup.stop_premium,
        fee_per_contract=config.fee_per_contract,
        default_max_risk=config.default_max_risk,
        same_day=same_day_rows,
        committed=committed,
    )
    contracts = np.where(has_contract, batch.contracts, 0).astype(np.int64)

    blocked = ~has_contract | (contracts == 0)
    blocked_reason = np.full(n, None, dtype=object)
    sized_rows = np.flatnonzero(has_contract).tolist()
    sentences = dict(
        zip(
            sized_rows,
            batch.reasons(
                accounts.risk, columns["limit_price"], stop_premium=setup.stop_premium, rows=sized_rows
            ),
            strict=True,
        )
    )
    sizing_reason = np.empty(n, dtype=object)
    binding = batch.binding_constraint.copy()
    cost = np.empty(n, dtype=object)
    for i in range(n):
        pick = picks[choice[i]]
        policy_note = None
        if same_day and not allowed[i]:
            policy_note = accounts.policy_notes.get(i)
            if policy_note is None:
                policy_note = accounts.policy_notes[i] = evaluate_0dte(accounts.contexts[i], policy).reason
        if has_contract[i]:
            sizing_reason[i] = sentences[i]
            cost[i] = units_to_decimal(batch.cost_units[i])
            notes = []
            if policy_note is not None:
                expiry = columns["expiration_date"][i]
                notes.append(f"{policy_note} Recommending the {expiry.isoformat()} expiration instead.")
            if contracts[i] == 0:
                notes.append(sizing_reason[i])  # sized to nothing: the binding limit is the reason
            blocked_reason[i] = " ".join(notes) or None
        else:
            binding[i] = "no_contract"
            cost[i] = Decimal("0.0000")
            sizing_reason[i] = "No trade: no contract qualified, nothing to size."
            chain_reason = pick.reason if pick is not None else "no later expiration is listed"
            if policy_note is None:
                blocked_reason[i] = chain_reason[0].upper() + chain_reason[1:] + "."
            elif not later:
                blocked_reason[i] = f"{policy_note} No later expiration is listed."
            else:
                blocked_reason[i] = (
                    f"{policy_note} The next expiration has no qualifying contract: {chain_reason}."
                )
    committed.add(batch, same_day_rows)
    frame = pd.DataFrame(
        {
            "as_of_date": [as_of] * n,
            "setup_id": setup.setup_id,
            "account_id": accounts.ids,
            "risk_fingerprint": accounts.fingerprints,
            "direction": setup.direction,
            "target_delta": setup.target_delta,
            **columns,
            "suggested_contracts": contracts,
            "suggested_cost": cost,
            "binding_constraint": binding,
            "sizing_reason": sizing_reason,
            "blocked": blocked,
            "blocked_reason": blocked_reason,
        }
    )
    return frame


def select_contract(
    chain: pd.DataFrame,
    setup: Setup,
    ctx: RiskContext,
    as_of: date,
    *,
    policy: ZeroDtePolicy | None = None,
    config: SelectionConfig | None = None,
    now: datetime | None = None,
    account_id: str = "",
) -> Recommendation:
    """The recommendation for one setup and one account (same code path as ``recommend``)."""
    frame = recommend(chain, [setup], {account_id: ctx}, as_of, policy=policy, config=config, now=now)
    return Recommendation.from_row(frame.iloc[0].to_dict())
