"""Contract selection: one SPX option per setup, sized for every account, the chain work done once.

Filtering and the nearest-delta pick run once per (direction, expiry) and once per setup; per
account only the 0DTE choice, sizing (numpy over all accounts) and the sentences remain. An account
the 0DTE policy blocks is rolled to the next expiry rather than blocked, with the policy sentence
kept so the roll stays visible. Setups are walked in ``setup_order`` and each one's cost and risk
are booked before the next is sized, so an account's budgets are spent once. Every row is tradable
(at least one contract) xor blocked with a reason; a setup that cannot be sized blocks only itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from spx_pipeline.domain.chain_filter import ChainIndex, Pick
from spx_pipeline.domain.chain_prep import prepare_chain
from spx_pipeline.domain.execution.guardrails import Guardrail
from spx_pipeline.domain.money import exact_units, units_to_decimal
from spx_pipeline.domain.recommendation import CONTRACT_COLUMNS, RECOMMENDATION_COLUMNS, Recommendation
from spx_pipeline.domain.risk_context import RiskArrays, RiskContext
from spx_pipeline.domain.selection_config import SelectionConfig
from spx_pipeline.domain.setups import Setup, runner_refusal, setup_order
from spx_pipeline.domain.sizing import Committed
from spx_pipeline.domain.sizing_batch import CommittedArrays, SizingBatch, size_positions
from spx_pipeline.domain.zero_dte import ZeroDtePolicy, evaluate_0dte, zero_dte_allowed

__all__ = ["SelectionConfig", "recommend", "select_contract"]


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
    guardrails: Sequence[Guardrail] = (),
    committed: Mapping[str, Committed] | None = None,
    already_traded: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """One row per (setup, account) with the columns of ``contract_recommendations``.

    Rows come setup by setup in ``setup_order``, the order each account's budgets are spent in.
    ``guardrails`` (from realized slippage) add expected slippage to each contract's cost and risk
    and block a setup whose p90 slippage is above its limit; without them nothing changes.
    ``committed`` is what each account's earlier trades of the session already took (sizing starts
    from what is left), and ``already_traded`` maps (account, setup) to why that pair gets no new
    trade this session: its row is blocked with that reason and spends nothing.
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
    booked = CommittedArrays.for_accounts(accounts.ids, committed or {})
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
                    committed=booked,
                    guardrails=guardrails,
                    held={
                        i: why
                        for i, account in enumerate(accounts.ids)
                        if (why := (already_traded or {}).get((account, setup.setup_id))) is not None
                    },
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


def _setup_rows(setup: Setup, accounts: _Accounts, as_of: date, columns: dict[str, Any]) -> pd.DataFrame:
    """One row per account for ``setup``: the identifying columns, then ``columns``."""
    return pd.DataFrame(
        {
            "as_of_date": [as_of] * len(accounts.ids),
            "setup_id": setup.setup_id,
            "account_id": accounts.ids,
            "risk_fingerprint": accounts.fingerprints,
            "direction": setup.direction,
            "target_delta": setup.target_delta,
            **columns,
        }
    )


def _failed_setup(setup: Setup, accounts: _Accounts, as_of: date, reason: str) -> pd.DataFrame:
    n = len(accounts.ids)
    columns = {
        **{name: _empty_column(name, n) for name in CONTRACT_COLUMNS},
        "suggested_contracts": np.zeros(n, dtype=np.int64),
        "suggested_cost": [Decimal("0.0000")] * n,
        "binding_constraint": "invalid_setup",
        "sizing_reason": reason,
        "blocked": True,
        "blocked_reason": reason,
    }
    return _setup_rows(setup, accounts, as_of, columns)


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
    guardrails: Sequence[Guardrail] = (),
    held: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """``held``: rows (by account index) that get no new trade (already traded), with the reason."""
    n = len(accounts.ids)
    held = held or {}
    rails = _rails_of(guardrails, setup.setup_id, accounts.ids)
    slippage = [Decimal(0) if r is None else r.expected_slippage_per_contract for r in rails]
    rail_blocked = np.array([r is not None and r.blocked_reason is not None for r in rails], dtype=bool)
    slippage_units = (
        [exact_units(value, "expected_slippage_per_contract") for value in slippage] if guardrails else 0
    )
    traded = np.zeros(n, dtype=bool)
    traded[list(held)] = True
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
    empty = dict.fromkeys(CONTRACT_COLUMNS)
    table = [p.row if p is not None and p.row is not None else empty for p in picks]
    has_contract = np.array([t is not empty for t in table])[choice]
    columns: dict[str, Any] = {}
    for name in CONTRACT_COLUMNS:
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
        slippage_units=slippage_units,
    )
    # A breakeven runner's stop-limit sits the offset below the entry: where that leaves no tick, the
    # row could never be ticketed, so it is blocked before it books any budget.
    # At most two contracts (today's, the next expiry's): one verdict per candidate row, not per account.
    verdicts = [
        None
        if row is empty or not row["limit_price"]
        else runner_refusal(setup, Decimal(str(row["limit_price"])))
        for row in table
    ]
    runner_note = [verdicts[c] for c in choice.tolist()]
    runner_blocked = np.array([note is not None for note in runner_note], dtype=bool) & has_contract & ~traded
    contracts = np.where(has_contract & ~rail_blocked & ~traded & ~runner_blocked, batch.contracts, 0)
    contracts = contracts.astype(np.int64)

    blocked = ~has_contract | (contracts == 0)
    blocked_reason = np.full(n, None, dtype=object)
    sized_rows = np.flatnonzero(has_contract).tolist()
    sentences = dict(
        zip(
            sized_rows,
            batch.reasons(columns["limit_price"], rows=sized_rows),
            strict=True,
        )
    )
    sizing_reason = np.empty(n, dtype=object)
    binding = batch.binding_constraint.copy()
    cost = np.empty(n, dtype=object)
    # The loop reads Python values: indexing numpy arrays one element at a time costs more than the work.
    has_l, contracts_l, allowed_l = has_contract.tolist(), contracts.tolist(), allowed.tolist()
    traded_l, rail_blocked_l, choice_l = traded.tolist(), rail_blocked.tolist(), choice.tolist()
    runner_blocked_l = runner_blocked.tolist()
    cost_units = batch.cost_units.tolist()
    expiries = columns["expiration_date"]
    zero = Decimal("0.0000")
    for i in range(n):
        pick = picks[choice_l[i]]
        policy_note = None
        if same_day and not allowed_l[i]:
            policy_note = accounts.policy_notes.get(i)
            if policy_note is None:
                policy_note = accounts.policy_notes[i] = evaluate_0dte(accounts.contexts[i], policy).reason
        if has_l[i]:
            reason = sentences[i]
            if slippage[i] > 0:
                reason += (
                    f" Cost and risk include ${slippage[i]:,.2f} per contract of expected slippage"
                    f" (median of {rails[i].fills} fills)."  # type: ignore[union-attr]
                )
            cost[i] = units_to_decimal(cost_units[i]) if contracts_l[i] else zero
            notes = []
            if traded_l[i]:
                binding[i] = "already_traded"
                notes.append(held[i])
            elif rail_blocked_l[i]:
                binding[i] = "slippage_guardrail"
                notes.append(f"Blocked by the slippage guardrail: {rails[i].blocked_reason}.")  # type: ignore[union-attr]
            elif runner_blocked_l[i]:
                binding[i] = "runner_stop"
                notes.append(f"Blocked: {runner_note[i]}.")
            if policy_note is not None:
                roll = f"{policy_note} Recommending the {expiries[i].isoformat()} expiration instead."
                if contracts_l[i] > 0:  # tradable: the roll explains the contract, it blocks nothing
                    reason += f" {roll}"
                else:
                    notes.append(roll)
            if contracts_l[i] == 0 and not rail_blocked_l[i] and not traded_l[i] and not runner_blocked_l[i]:
                notes.append(reason)  # sized to nothing: the binding limit is the reason
            sizing_reason[i] = reason
            blocked_reason[i] = " ".join(notes) or None
        else:
            binding[i] = "no_contract"
            cost[i] = zero
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
    committed.add(_without(batch, rail_blocked | traded | runner_blocked), same_day_rows)
    columns |= {
        "suggested_contracts": contracts,
        "suggested_cost": cost,
        "binding_constraint": binding,
        "sizing_reason": sizing_reason,
        "blocked": blocked,
        "blocked_reason": blocked_reason,
    }
    return _setup_rows(setup, accounts, as_of, columns)


def _rails_of(
    guardrails: Sequence[Guardrail], setup_id: str, account_ids: Sequence[str]
) -> list[Guardrail | None]:
    """``guardrail_for`` of each account, from one index of the rails instead of a scan per account."""
    if not guardrails:
        return [None] * len(account_ids)
    own: dict[str, Guardrail] = {}
    setup_wide = None
    for rail in guardrails:
        if rail.setup_id != setup_id:
            continue
        own.setdefault(rail.account_id, rail)  # an account's own: the first one wins
        if rail.account_id == "":
            setup_wide = rail  # setup-wide: the last one wins
    return [own.get(account, setup_wide) for account in account_ids]


def _without(batch: SizingBatch, rows: np.ndarray) -> SizingBatch:
    """The batch with ``rows`` sized to nothing, so a blocked row books no budget."""
    if not rows.any():
        return batch
    return dataclasses.replace(
        batch,
        contracts=np.where(rows, 0, batch.contracts),
        cost_units=np.where(rows, 0, batch.cost_units),
    )


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
