"""Order tickets: the domain's Tradier payloads for each tradable recommendation, plus previews.

Placing orders stays out of scope; a preview asks the broker to price and
validate a payload (`preview=true`) and never sends it to market.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.broker.tradier import OrderPreview, TradierError
from spx_pipeline.domain.orders import OrderPayloadError, build_ticket_legs, payload_summary
from spx_pipeline.domain.setups import Setup
from spx_pipeline.storage.warehouse import Warehouse

TICKET_COLUMNS: tuple[str, ...] = (
    "ticket_id",
    "as_of_date",
    "setup_id",
    "account_id",
    "risk_fingerprint",
    "leg",
    "side",
    "order_type",
    "option_symbol",
    "underlying_symbol",
    "quantity",
    "price",
    "stop_price",
    "duration",
    "tag",
    "payload_json",
    "preview_status",
    "preview_cost",
    "preview_commission",
    "preview_fees",
    "preview_message",
    "created_at",
    "run_id",
)


def tradable_recommendations(
    warehouse: Warehouse, *, trading_day: date, active_accounts: Sequence[str]
) -> pd.DataFrame:
    """Unblocked, sized rows of the newest recommendations run, for today and live accounts only.

    Only the latest run counts (an account that was deactivated or failed its sync since an earlier
    run must not get tickets from that earlier run), and only the current trading day: yesterday's
    0DTE contracts have expired.
    """
    frame = warehouse.query(
        "SELECT * FROM published.contract_recommendations WHERE run_id = (SELECT run_id FROM "
        "published.contract_recommendations ORDER BY generated_at DESC, run_id DESC LIMIT 1) "
        "AND as_of_date = ? AND NOT blocked AND suggested_contracts >= 1 AND symbol IS NOT NULL "
        "ORDER BY setup_id, account_id",
        [trading_day],
    )
    return frame[frame["account_id"].isin(list(active_accounts))].reset_index(drop=True)


def ticket_key(as_of: object, setup_id: str, account_id: str, fingerprint: str) -> str:
    """Digest of the recommendation key; ids may hold '_', '.' or '-', so no text joining is unambiguous."""
    day = pd.Timestamp(as_of).date().isoformat()
    return hashlib.sha256(json.dumps([day, setup_id, account_id, fingerprint]).encode()).hexdigest()


def ticket_tag(as_of: object, setup_id: str, account_id: str, fingerprint: str) -> str:
    """A Tradier-safe tag (letters, digits, '-') unique to the recommendation: the idempotency key."""
    day = pd.Timestamp(as_of).strftime("%Y%m%d")
    return f"spx-{day}-{ticket_key(as_of, setup_id, account_id, fingerprint)[:20]}"


def ticket_id(tag: str, leg: str) -> str:
    return hashlib.sha256(f"{tag}|{leg}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class TicketBuild:
    tickets: pd.DataFrame
    skipped: list[tuple[str, str, str]]  # (setup_id, account_id, reason)


def build_tickets(
    recommendations: pd.DataFrame,
    setups: Mapping[str, Setup],
    *,
    run_id: str,
    created_at: datetime,
) -> TicketBuild:
    """Entry, T1 and runner-stop payloads per recommendation; a bad one is skipped, not fatal."""
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str, str]] = []
    for rec in recommendations.to_dict("records"):
        setup = setups.get(rec["setup_id"])
        if setup is None:
            skipped.append((rec["setup_id"], rec["account_id"], "setup is no longer active"))
            continue
        tag = ticket_tag(rec["as_of_date"], rec["setup_id"], rec["account_id"], rec["risk_fingerprint"])
        priced = {**rec, "limit_price": Decimal(str(rec["limit_price"]))}
        try:
            legs = build_ticket_legs(priced, setup, tag=tag)
        except OrderPayloadError as exc:
            skipped.append((rec["setup_id"], rec["account_id"], str(exc)))
            continue
        for leg, payload in legs.items():
            summary = payload_summary(payload)  # single-leg or OCO (T1 target + protective stop)
            rows.append(
                {
                    "ticket_id": ticket_id(tag, leg),
                    "as_of_date": rec["as_of_date"],
                    "setup_id": rec["setup_id"],
                    "account_id": rec["account_id"],
                    "risk_fingerprint": rec["risk_fingerprint"],
                    "leg": leg,
                    "side": summary["side"],
                    "order_type": summary["order_type"],
                    "option_symbol": summary["option_symbol"],
                    "underlying_symbol": summary["symbol"],
                    "quantity": int(summary["quantity"] or 0),
                    "price": None if summary["price"] is None else float(summary["price"]),
                    "stop_price": None if summary["stop"] is None else float(summary["stop"]),
                    "duration": summary["duration"],
                    "tag": summary["tag"] or tag,
                    "payload_json": json.dumps(payload, sort_keys=True),
                    "preview_status": "not_requested",
                    "preview_cost": None,
                    "preview_commission": None,
                    "preview_fees": None,
                    "preview_message": None,
                    "created_at": created_at,
                    "run_id": run_id,
                }
            )
    return TicketBuild(pd.DataFrame(rows, columns=list(TICKET_COLUMNS)), skipped)


Previewer = Callable[[str, Mapping[str, str]], OrderPreview]


def preview_tickets(
    tickets: pd.DataFrame, previewers: Mapping[str, Previewer], *, legs: Sequence[str]
) -> pd.DataFrame:
    """Fill the preview columns for the chosen legs; a broker refusal is recorded, not raised.

    ``previewers`` maps account id → a function (account_id, payload) → OrderPreview, so each
    account is previewed with its own token.
    """
    out = tickets.copy()
    for idx, row in out.iterrows():
        if row["leg"] not in legs:
            continue
        previewer = previewers.get(row["account_id"])
        if previewer is None:
            out.loc[idx, ["preview_status", "preview_message"]] = [
                "error",
                "no active credential for account",
            ]
            continue
        payload = json.loads(row["payload_json"])
        try:
            preview = previewer(row["account_id"], payload)
        except TradierError as exc:
            status = (
                "rejected"
                if type(exc).__name__ in {"TradierOrderRejectedError", "TradierBadRequestError"}
                else "error"
            )
            out.loc[idx, ["preview_status", "preview_message"]] = [status, str(exc)[:1000]]
            continue
        out.loc[idx, "preview_status"] = "ok"
        out.loc[idx, "preview_cost"] = _float(preview.cost)
        out.loc[idx, "preview_commission"] = _float(preview.commission)
        out.loc[idx, "preview_fees"] = _float(preview.fees)
    return out


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
