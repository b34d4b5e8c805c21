"""Recommendations from the warehouse's latest chain and snapshots, through the domain selector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from spx_pipeline.domain.contracts import SelectionConfig, Setup, recommend
from spx_pipeline.domain.sizing import RiskContext, ZeroDtePolicy
from spx_pipeline.storage.warehouse import Warehouse

RECOMMENDATION_KEY = ("as_of_date", "setup_id", "account_id", "risk_fingerprint")


@dataclass(frozen=True)
class LatestChain:
    trading_day: date
    run_id: str
    frame: pd.DataFrame


def latest_chain(warehouse: Warehouse, *, prefer_run_id: str | None = None) -> LatestChain | None:
    """The chain fetched by ``prefer_run_id`` when it fetched one, else the newest fetch.

    Only published chains count (``published.*`` views): rows of a run that died are never read.
    """
    frame = pd.DataFrame()
    if prefer_run_id:
        frame = warehouse.query("SELECT * FROM published.spx_option_chain WHERE run_id = ?", [prefer_run_id])
    if frame.empty:
        frame = warehouse.query(
            "SELECT * FROM published.spx_option_chain WHERE run_id = "
            "(SELECT run_id FROM published.spx_option_chain ORDER BY captured_at DESC, run_id DESC LIMIT 1)"
        )
    if frame.empty:
        return None
    day = pd.Timestamp(frame["trading_day"].iloc[0]).date()
    return LatestChain(trading_day=day, run_id=str(frame["run_id"].iloc[0]), frame=frame)


def latest_snapshots(warehouse: Warehouse, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Each account's newest validated snapshot (optionally only the given accounts)."""
    frame = warehouse.query(
        "SELECT * FROM published.portfolio_snapshots "
        "QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY captured_at DESC) = 1 "
        "ORDER BY account_id"
    )
    if account_ids is not None:
        frame = frame[frame["account_id"].isin(list(account_ids))]
    for column in ("total_equity", "cash", "option_buying_power", "day_trade_buying_power", "pending_cash"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["captured_at"] = pd.to_datetime(frame["captured_at"], utc=True)
    return frame.reset_index(drop=True)


def recommendation_rows(
    chain: LatestChain,
    setups: Sequence[Setup],
    contexts: Mapping[str, RiskContext],
    *,
    generated_at: datetime,
    policy: ZeroDtePolicy,
    config: SelectionConfig,
) -> pd.DataFrame:
    """Every setup x every context, as warehouse rows (blocked rows kept with their reason)."""
    frame = recommend(
        chain.frame, list(setups), dict(contexts), chain.trading_day, policy=policy, config=config
    )
    frame.insert(0, "generated_at", generated_at)
    return frame


STALE_CONSTRAINT = "stale_risk_context"


def stale_risk_reasons(
    warehouse: Warehouse, snapshots: pd.DataFrame, *, now: datetime, max_age: timedelta
) -> dict[str, str]:
    """Accounts whose latest snapshot must not size a trade, with the reason a person reads.

    A sync that failed after the last good snapshot means the broker state is unknown now (the
    account may have been restricted, or the token revoked); a snapshot older than ``max_age``
    predates whatever happened since. Either way the account is kept, blocked, never sized.
    """
    if snapshots.empty:
        return {}
    failures = warehouse.query(
        "SELECT account_id, max(captured_at) AS failed_at, arg_max(error_class, captured_at) AS error_class "
        "FROM published.sync_failures GROUP BY account_id"
    )
    failed = {row.account_id: row for row in failures.itertuples()}
    reasons: dict[str, str] = {}
    for snap in snapshots.itertuples():
        taken = pd.Timestamp(snap.captured_at)
        failure = failed.get(snap.account_id)
        if failure is not None and pd.Timestamp(failure.failed_at) > taken:
            reasons[snap.account_id] = (
                f"Blocked: the latest sync failed ({failure.error_class} at "
                f"{pd.Timestamp(failure.failed_at):%Y-%m-%d %H:%M} UTC) after the last good snapshot "
                f"({taken:%Y-%m-%d %H:%M} UTC); re-sync before sizing."
            )
        elif pd.Timestamp(now) - taken > max_age:
            hours = (pd.Timestamp(now) - taken) / pd.Timedelta(hours=1)
            limit = max_age / timedelta(hours=1)
            reasons[snap.account_id] = (
                f"Blocked: the latest snapshot is {hours:.1f} h old (limit {limit:g} h); "
                "re-sync before sizing."
            )
    return reasons


def block_stale(rows: pd.DataFrame, reasons: Mapping[str, str]) -> pd.DataFrame:
    """Mark the rows of the given accounts blocked and unsized, keeping the contract for context."""
    if rows.empty or not reasons:
        return rows
    out = rows.copy()
    stale = out["account_id"].isin(list(reasons))
    why = out.loc[stale, "account_id"].map(reasons)
    out.loc[stale, "blocked"] = True
    out.loc[stale, "blocked_reason"] = why
    out.loc[stale, "sizing_reason"] = why
    out.loc[stale, "binding_constraint"] = STALE_CONSTRAINT
    out.loc[stale, "suggested_contracts"] = 0
    out.loc[stale, "suggested_cost"] = Decimal("0")
    return out
