"""Recommendations from the warehouse's latest chain and snapshots, through the domain selector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

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
    """The chain fetched by ``prefer_run_id`` when it fetched one, else the newest fetch."""
    frame = pd.DataFrame()
    if prefer_run_id:
        frame = warehouse.query("SELECT * FROM spx_option_chain WHERE run_id = ?", [prefer_run_id])
    if frame.empty:
        frame = warehouse.query(
            "SELECT * FROM spx_option_chain WHERE run_id = "
            "(SELECT run_id FROM spx_option_chain ORDER BY captured_at DESC, run_id DESC LIMIT 1)"
        )
    if frame.empty:
        return None
    day = pd.Timestamp(frame["trading_day"].iloc[0]).date()
    return LatestChain(trading_day=day, run_id=str(frame["run_id"].iloc[0]), frame=frame)


def latest_snapshots(warehouse: Warehouse, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Each account's newest validated snapshot (optionally only the given accounts)."""
    frame = warehouse.query(
        "SELECT * FROM portfolio_snapshots "
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
