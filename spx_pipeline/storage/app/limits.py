"""Per-account risk limits an operator sets once (``spx-pipeline limits set``) for every run.

Stored in the app database so the schedule's runs apply them without anyone passing run config;
run config may lower a limit for one run, never raise it (``effective``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

import sqlalchemy as sa

from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.domain.money import to_money
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import account_limits


class LimitError(ValueError):
    """A limit that cannot be stored (negative, not a number, a bad account id)."""


@dataclass(frozen=True, slots=True)
class AccountLimits:
    account_id: str
    max_daily_risk: Decimal | None
    max_trade_risk: Decimal | None
    updated_at: datetime | None = None


def effective(stored: Decimal | None, requested: Decimal | None) -> Decimal | None:
    """The limit a run uses: the smaller of the stored one and the run's own; either alone if one is unset."""
    if stored is None:
        return requested
    if requested is None:
        return stored
    return min(stored, requested)


def _money(value: object, field: str) -> Decimal | None:
    try:
        amount = to_money(value, field)  # type: ignore[arg-type]
    except ValueError as exc:
        raise LimitError(str(exc)) from None
    return None if amount is None else amount.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class LimitStore:
    """Each account's own risk limits (``account_limits``)."""

    db: AppDatabase

    def set(
        self,
        account_id: str,
        *,
        max_daily_risk: object,
        max_trade_risk: object = None,
        keep_trade: bool = True,
    ) -> AccountLimits:
        """Store the account's limits; ``max_trade_risk`` None keeps the stored one when ``keep_trade``."""
        try:
            account = validate_account_id(account_id)
        except ValueError as exc:
            raise LimitError(str(exc)) from None
        daily = _money(max_daily_risk, "--max-daily-risk")
        trade = _money(max_trade_risk, "--max-trade-risk")
        now = self.db.clock.now()
        with self.db.engine.begin() as conn:
            current = (
                conn.execute(sa.select(account_limits).where(account_limits.c.account_id == account))
                .mappings()
                .first()
            )
            if trade is None and keep_trade and current is not None:
                trade = current["max_trade_risk"]
            limits = AccountLimits(account, daily, trade, now)
            table = account_limits
            conn.execute(sa.delete(table).where(table.c.account_id == account))
            conn.execute(sa.insert(table), [_ROWS.values(limits)])
        return limits

    def all(self) -> dict[str, AccountLimits]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(account_limits).order_by(account_limits.c.account_id)).mappings()
            return {r["account_id"]: _ROWS.read(r) for r in rows}


_ROWS: Final = RowMapping(AccountLimits, account_limits)
