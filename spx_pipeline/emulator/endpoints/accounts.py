"""``/user/*`` and account reads: profile, balances, positions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spx_pipeline.emulator.response_format import collection
from spx_pipeline.emulator.routing import ROUTES, Call, token_fingerprint

if TYPE_CHECKING:
    from spx_pipeline.emulator.core import EmulatorCore


@ROUTES.add("GET", r"^/v1/user/profile$")
def profile(emu: EmulatorCore, call: Call) -> Any:
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


@ROUTES.add("GET", r"^/v1/user/balances$")
def user_balances(emu: EmulatorCore, call: Call) -> Any:
    """Shape constructed from the per-account body; Tradier's exact document is unverified."""
    rows = [
        {"account_number": a.account_id, "balances": emu.book.balances(a.account_id)} for a in call.accounts
    ]
    return {"accounts": {"account": collection(rows)}}


@ROUTES.add("GET", r"^/v1/accounts/([^/]+)/balances$")
def balances(emu: EmulatorCore, call: Call) -> Any:
    return {"balances": emu.book.balances(call.match.group(1))}


@ROUTES.add("GET", r"^/v1/accounts/([^/]+)/positions$")
def positions(emu: EmulatorCore, call: Call) -> Any:
    rows = emu.book.positions(call.match.group(1))
    return {"positions": {"position": collection(rows)} if rows else "null"}
