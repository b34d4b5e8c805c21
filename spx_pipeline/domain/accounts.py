"""What identifies a broker account, and whether it may day trade: one rule each, used everywhere.

Account ids: Tradier account numbers are letters and digits (``VA12345678``), and the id travels in
URL paths (``/accounts/{id}/balances``), so the credential store refuses at entry exactly what the
client would refuse at the first sync; otherwise every sync of such an account fails.

PDT qualification (legacy FINRA 4210, still enforced by many brokers during the 2026-2027 phase-in):
a margin or pdt account with at least $25,000 of equity may close a same-day position freely. A
pdt-typed account under $25,000 is restricted (no day-trade buying power), a margin account under
it gets three day trades in five days, which this pipeline does not track; both count as not
qualified. Unknown equity cannot prove the minimum, so it fails closed (False). Cash accounts are
outside the rule (None): settled-cash rules apply to them instead.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

ACCOUNT_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,32}")
PDT_MIN_EQUITY: Final = Decimal("25000")
PDT_RULE_TYPES: Final = ("margin", "pdt")


def validate_account_id(account_id: object) -> str:
    """``account_id`` when it is 1-32 letters or digits; ValueError naming the value otherwise."""
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.fullmatch(account_id):
        raise ValueError(
            f"account_id must be 1-32 letters or digits (a broker account number), got {account_id!r}"
        )
    return account_id


def pdt_qualified(account_type: str | None, total_equity: Decimal | float | int | str | None) -> bool | None:
    """Whether the account may day trade under the legacy rule; None where the rule does not apply."""
    if account_type not in PDT_RULE_TYPES:
        return None
    if total_equity is None or isinstance(total_equity, bool):
        return False
    try:
        equity = total_equity if isinstance(total_equity, Decimal) else Decimal(str(total_equity))
    except InvalidOperation:
        return False
    if not equity.is_finite():
        return False
    return equity >= PDT_MIN_EQUITY
