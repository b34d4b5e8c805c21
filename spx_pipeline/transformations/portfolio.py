"""Balances → warehouse rows → validated snapshots → per-account risk contexts.

Money travels as ``Decimal`` from the broker, is rounded to 4 decimals (the warehouse's
DECIMAL(18,4)) and carried as float64 in frames; the domain rebuilds ``Decimal`` from those
rounded values when it sizes positions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pandera.errors as pa_errors

from spx_pipeline.broker.tradier import BalanceResult, Balances
from spx_pipeline.domain.accounts import pdt_qualified
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.storage.app.credentials import CredentialInfo
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.schemas import validate_snapshots

BALANCE_MONEY_FIELDS: tuple[str, ...] = (
    "total_equity",
    "total_cash",
    "market_value",
    "long_market_value",
    "short_market_value",
    "option_long_value",
    "option_short_value",
    "open_pl",
    "close_pl",
    "current_requirement",
    "option_requirement",
    "pending_cash",
    "uncleared_funds",
)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.0001")))


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in raw_json")


def credentials_rows(infos: Iterable[CredentialInfo], *, run_id: str, captured_at: datetime) -> pd.DataFrame:
    """The redacted credential listing for the warehouse: no token, no ciphertext."""
    rows = [
        {
            "account_id": info.account_id,
            "label": info.label,
            "environment": info.environment,
            "is_active": info.is_active,
            "token_fingerprint": info.token_fingerprint,
            "created_at": info.created_at,
            "updated_at": info.updated_at,
            "captured_at": captured_at,
            "run_id": run_id,
        }
        for info in infos
    ]
    return pd.DataFrame(rows, columns=list(column_names("broker_credentials")))


def balance_row(
    balances: Balances, *, account_id: str, environment: str, run_id: str, captured_at: datetime
) -> dict[str, Any]:
    """One ``tradier_balances`` row; derived buying powers come from the typed record."""
    margin_like = balances.pdt if balances.account_type == "pdt" and balances.pdt else balances.margin
    row: dict[str, Any] = {
        "run_id": run_id,
        "account_id": account_id,
        "captured_at": captured_at,
        "environment": environment,
        "account_type": balances.account_type,
        **{name: _money(getattr(balances, name)) for name in BALANCE_MONEY_FIELDS},
        "pending_orders_count": balances.pending_orders_count,
        "option_buying_power": _money(balances.option_buying_power),
        "stock_buying_power": _money(margin_like.stock_buying_power if margin_like else None),
        "day_trade_buying_power": _money(balances.day_trade_buying_power),
        "cash_available": _money(balances.effective_cash_available),
        "unsettled_funds": _money(
            balances.cash.unsettled_funds if balances.cash is not None else balances.unsettled_funds
        ),
        "fed_call": _money(margin_like.fed_call if margin_like else None),
        "maintenance_call": _money(margin_like.maintenance_call if margin_like else None),
        "raw_json": json.dumps(balances.raw, default=_json_default, sort_keys=True),
    }
    return row


def failure_row(
    *,
    run_id: str,
    account_id: str,
    stage: str,
    captured_at: datetime,
    error: BaseException,
    message: str | None = None,
) -> dict[str, Any]:
    """A ``sync_failures`` row: the error's class, HTTP status and message (never a token).

    ``message`` stands in for the error's own text where the caller words it (a shard's failure).
    """
    return {
        "run_id": run_id,
        "account_id": account_id,
        "stage": stage,
        "captured_at": captured_at,
        "error_class": type(error).__name__,
        "http_status": getattr(error, "status", None),
        "message": (str(error) if message is None else message)[:2000] or type(error).__name__,
    }


@dataclass(frozen=True)
class BalanceFrames:
    balances: pd.DataFrame
    failures: pd.DataFrame


def balance_frames(
    results: Sequence[BalanceResult],
    *,
    environments: Mapping[str, str],
    run_id: str,
    captured_at: datetime,
) -> BalanceFrames:
    """Split per-account results into balance rows and failure rows; one never blocks the other."""
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for result in results:
        if result.balances is not None and result.error is None:
            rows.append(
                balance_row(
                    result.balances,
                    account_id=result.account_id,
                    environment=environments.get(result.account_id, "sandbox"),
                    run_id=run_id,
                    captured_at=captured_at,
                )
            )
        else:
            error = result.error or RuntimeError("no balances returned")
            failures.append(
                failure_row(
                    run_id=run_id,
                    account_id=result.account_id,
                    stage="balances",
                    captured_at=captured_at,
                    error=error,
                )
            )
    return BalanceFrames(
        balances=pd.DataFrame(rows, columns=list(column_names("tradier_balances"))),
        failures=pd.DataFrame(failures, columns=list(column_names("sync_failures"))),
    )


@dataclass(frozen=True)
class SnapshotFrames:
    """Rows that passed the pandera contract, and one failure row per account that did not."""

    snapshots: pd.DataFrame
    rejected: pd.DataFrame


def snapshot_candidates(balances: pd.DataFrame) -> pd.DataFrame:
    """Snapshot columns derived from ``tradier_balances`` rows (before validation).

    ``option_buying_power`` is what limits an option buy: the margin/pdt figure, or settled cash
    for cash accounts. ``pdt_qualified`` is the domain's one rule (``domain.accounts``), since
    Tradier's balances carry no such flag; the column is not nullable, so a cash account, outside
    the rule, stores False and ``risk_contexts`` re-derives None for it from the same rule.
    """
    is_cash = balances["account_type"].eq("cash")
    option_bp = balances["option_buying_power"].where(~is_cash, balances["cash_available"])
    equity = pd.to_numeric(balances["total_equity"], errors="coerce")
    frame = pd.DataFrame(
        {
            "account_id": balances["account_id"],
            "captured_at": pd.to_datetime(balances["captured_at"], utc=True).dt.as_unit("ns"),
            "account_type": balances["account_type"],
            "environment": balances["environment"],
            "total_equity": equity,
            "cash": pd.to_numeric(balances["total_cash"], errors="coerce"),
            "option_buying_power": pd.to_numeric(option_bp, errors="coerce"),
            "day_trade_buying_power": pd.to_numeric(balances["day_trade_buying_power"], errors="coerce"),
            "pending_orders_count": balances["pending_orders_count"],
            "pending_cash": pd.to_numeric(balances["pending_cash"], errors="coerce"),
            "pdt_qualified": [
                pdt_qualified(kind, None if pd.isna(value) else Decimal(str(value))) is True
                for kind, value in zip(balances["account_type"], equity, strict=True)
            ],
            "run_id": balances["run_id"],
        }
    )
    return frame[list(column_names("portfolio_snapshots"))].reset_index(drop=True)


def validated_snapshots(candidates: pd.DataFrame, *, stage: str = "snapshot_validation") -> SnapshotFrames:
    """Validate with pandera; rows that break a rule become failure rows naming the rule and value.

    A bad row from one account must not stop the others, but it must never be written either.
    """
    empty_failures = pd.DataFrame(columns=list(column_names("sync_failures")))
    if candidates.empty:
        return SnapshotFrames(validate_snapshots(candidates), empty_failures)
    try:
        return SnapshotFrames(validate_snapshots(candidates), empty_failures)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases
        bad_index = pd.to_numeric(cases["index"], errors="coerce").dropna().astype(int).unique()
        if len(bad_index) == 0:
            raise  # a frame-level problem (wrong dtype for every row): nothing sane to keep
        reasons: dict[int, list[str]] = {}
        for case in cases.itertuples():
            if pd.notna(case.index):
                reasons.setdefault(int(case.index), []).append(
                    f"{case.column}={case.failure_case!r} fails {case.check}"
                )
        bad = candidates.loc[candidates.index.isin(bad_index)]
        rejected = pd.DataFrame(
            [
                {
                    "run_id": row.run_id,
                    "account_id": row.account_id,
                    "stage": stage,
                    "captured_at": row.captured_at,
                    "error_class": "SchemaError",
                    "http_status": None,
                    "message": "; ".join(reasons.get(int(idx), ["failed the snapshot schema"])),
                }
                for idx, row in bad.iterrows()
            ],
            columns=list(column_names("sync_failures")),
        )
        good = candidates.loc[~candidates.index.isin(bad_index)]
        return SnapshotFrames(validate_snapshots(good), rejected)


def risk_contexts(
    snapshots: pd.DataFrame,
    *,
    max_risk_dollars: Decimal | None,
    max_daily_risk_dollars: Decimal | None = None,
) -> dict[str, RiskContext]:
    """Each account's latest snapshot as a ``RiskContext`` for the domain selector.

    ``pdt_qualified`` comes from the domain's rule on the snapshot's type and equity: cash accounts
    are outside it (None rather than False, which would block 0DTE for a reason that does not apply
    to them). ``max_daily_risk_dollars`` is the account's risk budget for the day, shared by its
    setups (``domain.contract_selection.recommend`` allocates it).
    """
    if snapshots.empty:
        return {}
    latest = snapshots.sort_values("captured_at").groupby("account_id", sort=True).tail(1)
    contexts: dict[str, RiskContext] = {}
    for row in latest.itertuples(index=False):
        is_cash = row.account_type == "cash"
        equity = getattr(row, "total_equity", None)
        contexts[row.account_id] = RiskContext(
            day_trade_buying_power=None
            if pd.isna(row.day_trade_buying_power)
            else row.day_trade_buying_power,
            max_risk_dollars=max_risk_dollars,
            max_daily_risk_dollars=max_daily_risk_dollars,
            pdt_qualified=pdt_qualified(row.account_type, None if pd.isna(equity) else Decimal(str(equity))),
            option_buying_power=None if is_cash else row.option_buying_power,
            cash_available=row.option_buying_power if is_cash else None,
            account_type=row.account_type,
        )
    return dict(sorted(contexts.items()))
