"""Trades planned from the newest recommendations, and the order tickets their plans show.

A tradable recommendation plans its account x setup x session trade in the app database (or
re-plans it while nothing was sent); a trade whose entry was claimed is frozen and no later run
touches it or its tickets. A blocked recommendation blocks its planned trade with the reason. The
tickets are the orders a plan sends if its entry fills completely, each a checked Tradier form
(entry, T1, runner stop), optionally previewed; placement reads the trades, never these rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import pandas as pd

from spx_pipeline.broker.tradier import OrderPreview, TradierError
from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.trades import Trade, TradePlan, TradeState
from spx_pipeline.domain.trades.birth import plan_from_recommendation
from spx_pipeline.domain.trades.ids import trade_id as make_trade_id
from spx_pipeline.domain.trades.ticket_batch import shaped_legs_of_plans
from spx_pipeline.storage.app.trades import PlanOutcome, TradeStore
from spx_pipeline.storage.warehouse import reads
from spx_pipeline.storage.warehouse.store import Warehouse
from spx_pipeline.transformations.ticket_rows import Legs, TicketBatch, money_float, ticket_batch


def recommendations_for_tickets(
    warehouse: Warehouse,
    *,
    trading_day: date,
    active_accounts: Sequence[str],
    as_of: datetime | None = None,
    prefer_run_id: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The newest recommendations run's rows for today and active accounts, with ``pdt_qualified``;
    of the recommendation, only ``columns`` when given (``account_id`` among them).

    Only the latest run counts (an account deactivated or failing its sync since an earlier run
    must not trade from that run), and only the current trading day. Blocked rows come along:
    they block the trade they would have planned.
    """
    frame = reads.recommendations_of_latest_run(warehouse, trading_day, as_of, prefer_run_id, columns)
    frame = frame[frame["account_id"].isin(list(active_accounts))].reset_index(drop=True)
    snapshots = reads.latest_snapshot_per_account(warehouse, as_of, ["account_id", "pdt_qualified"])
    return frame.merge(snapshots, on="account_id", how="left")


@dataclass(frozen=True)
class TradePlanning:
    """What planning did: every outcome, the tickets of placeable planned trades, what was skipped."""

    outcomes: list[PlanOutcome]
    tickets: TicketBatch
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (setup_id, account_id, reason)

    def count(self, outcome: str) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)


class _Entry(NamedTuple):
    """A row's outcome in row order: its plan (None: skipped) and why it is blocked or skipped."""

    setup_id: str
    account_id: str
    plan: TradePlan | None
    blocked: str | None
    checked: bool = True  # False: a fresh plan whose orders are built below, all at once


def _tradable(row: Mapping[str, Any]) -> bool:
    return (
        not bool(row["blocked"])
        and int(row["suggested_contracts"] or 0) >= 1
        and isinstance(row["symbol"], str)
    )


# The columns planning reads of a recommendation row (``_tradable``, ``plan_from_recommendation``),
# ``pdt_qualified`` from the account's snapshot.
PLANNING_COLUMNS = (
    "setup_id", "account_id", "as_of_date", "blocked", "blocked_reason", "symbol", "suggested_contracts",
    "suggested_cost", "limit_price", "risk_fingerprint",
)  # fmt: skip
_PLANNING_COLUMNS = (*PLANNING_COLUMNS, "pdt_qualified")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts of the columns planning reads, Python values (what ``to_dict`` gives), built
    column by column: ``to_dict("records")`` boxes every value of all ~30 columns one by one."""
    names = [name for name in _PLANNING_COLUMNS if name in frame.columns]
    columns = [frame[name].tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def plan_trades(
    store: TradeStore,
    recommendations: pd.DataFrame,
    setups: Mapping[str, Setup],
    *,
    trading_day: date,
    run_id: str,
    created_at: datetime,
) -> TradePlanning:
    """Plan (or block) today's trades from the rows, then build the tickets of the placeable ones."""
    accounts = sorted(set(recommendations["account_id"])) if len(recommendations) else []
    existing = {t.trade_id: t for t in store.trades(session=trading_day, account_ids=accounts)}
    entries, fresh, mentioned = _entries(recommendations, existing, setups, trading_day, run_id)
    plans, legs_of, skipped = _checked(entries, fresh)
    for key, trade in existing.items():
        if key not in mentioned and trade.state == TradeState.PLANNED:
            plans.append(
                (trade.plan, f"not recommended by the newest run {run_id} (account or setup inactive)")
            )
    outcomes = store.plan(plans, run_id=run_id, now=created_at, read_before=existing)
    placeable = [o.trade for o in outcomes if o.outcome != "frozen" and o.trade.blocked_reason is None]
    batch = ticket_batch(placeable, run_id=run_id, created_at=created_at, built=legs_of)
    return TradePlanning(outcomes, batch, skipped)


def _entries(
    recommendations: pd.DataFrame,
    existing: Mapping[str, Trade],
    setups: Mapping[str, Setup],
    trading_day: date,
    run_id: str,
) -> tuple[list[_Entry], list[TradePlan], set[str]]:
    """Each row's entry in row order (frozen trades left out), the fresh plans among them (their
    orders are built afterwards, all at once) and the ids of every trade a row names."""
    entries: list[_Entry] = []
    fresh: list[TradePlan] = []
    mentioned: set[str] = set()
    for rec in _records(recommendations):
        setup_id, account_id = str(rec["setup_id"]), str(rec["account_id"])
        key = make_trade_id(trading_day, account_id, setup_id)
        mentioned.add(key)
        current = existing.get(key)
        if current is not None and current.state != TradeState.PLANNED:
            continue  # frozen: this run neither re-sizes it nor writes its tickets
        setup = setups.get(setup_id)
        if not _tradable(rec) or setup is None:
            why = "its setup is no longer active" if setup is None else str(rec["blocked_reason"])
            if current is not None:
                blocked = f"newest recommendation (run {run_id}) is blocked: {why}"
                entries.append(_Entry(setup_id, account_id, current.plan, blocked))
            continue
        try:
            plan = plan_from_recommendation(rec, setup, run_id=run_id)
        except (OrderPayloadError, ValueError) as exc:
            entries.append(_Entry(setup_id, account_id, None, str(exc)))
            continue
        entries.append(_Entry(setup_id, account_id, plan, None, checked=False))
        fresh.append(plan)
    return entries, fresh, mentioned


def _checked(
    entries: Sequence[_Entry], fresh: Sequence[TradePlan]
) -> tuple[list[tuple[TradePlan, str | None]], dict[str, tuple[TradePlan, Legs]], list[tuple[str, str, str]]]:
    """The plans to store with why each is blocked (a fresh plan whose orders cannot be built is
    blocked by that), the legs of the fresh ones by trade id, and the rows skipped with why."""
    built = iter(shaped_legs_of_plans(fresh))
    legs_of: dict[str, tuple[TradePlan, Legs]] = {}
    plans: list[tuple[TradePlan, str | None]] = []
    skipped: list[tuple[str, str, str]] = []
    for entry in entries:
        blocked = entry.blocked
        if entry.plan is None:  # no plan could be made from the row
            skipped.append((entry.setup_id, entry.account_id, str(blocked)))
            continue
        if not entry.checked:
            legs = next(built)
            if isinstance(legs, OrderPayloadError):
                blocked = f"its orders cannot be built: {legs}"
                skipped.append((entry.setup_id, entry.account_id, blocked))
            else:
                legs_of[entry.plan.trade_id] = (entry.plan, legs)
        plans.append((entry.plan, blocked))
    return plans, legs_of, skipped


# Asks the broker to preview every payload of each account: account id -> each payload's preview or
# the broker's refusal, in order, or one error that stands for all of them (the account's client
# could not be made, its token was refused...).
PreviewAsk = Callable[
    [Mapping[str, list[dict[str, Any]]]], Mapping[str, Sequence[OrderPreview | TradierError] | TradierError]
]
_REFUSED = frozenset({"TradierOrderRejectedError", "TradierBadRequestError"})


def preview_tickets(tickets: pd.DataFrame, ask: PreviewAsk, *, legs: Sequence[str]) -> pd.DataFrame:
    """Fill the preview columns for the chosen legs; a broker refusal is recorded, not raised.

    Every account's payloads go to ``ask`` at once, so the accounts are previewed concurrently,
    each with its own token (``TradierResource.fetch_each``); one account after another, 2,000
    previews at 50 ms took 100 s. An account ``ask`` leaves out has no active credential.
    """
    out = tickets.copy()
    chosen = out.index[out["leg"].isin(list(legs))]
    by_account: dict[str, list[Any]] = {}
    for idx, account in zip(chosen, out.loc[chosen, "account_id"], strict=True):
        by_account.setdefault(str(account), []).append(idx)
    payloads = {
        account: [json.loads(out.at[idx, "payload_json"]) for idx in rows]
        for account, rows in by_account.items()
    }
    answers = ask(payloads) if payloads else {}
    status: dict[Any, str] = {}
    message: dict[Any, str] = {}
    for account, rows in by_account.items():
        answer = answers.get(account)
        if answer is None:
            status.update(dict.fromkeys(rows, "error"))
            message.update(dict.fromkeys(rows, "no active credential for account"))
            continue
        each = [answer] * len(rows) if isinstance(answer, TradierError) else list(answer)
        for idx, preview in zip(rows, each, strict=True):
            if isinstance(preview, TradierError):
                status[idx] = "rejected" if type(preview).__name__ in _REFUSED else "error"
                message[idx] = str(preview)[:1000]
                continue
            status[idx] = "ok"
            out.at[idx, "preview_cost"] = money_float(preview.cost)
            out.at[idx, "preview_commission"] = money_float(preview.commission)
            out.at[idx, "preview_fees"] = money_float(preview.fees)
    for idx, value in status.items():
        out.at[idx, "preview_status"] = value
    for idx, value in message.items():
        out.at[idx, "preview_message"] = value
    return out
