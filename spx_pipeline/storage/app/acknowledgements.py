"""Positions an operator acknowledged: known, accepted, and not a difference while they stay as they were.

A position opened by hand, or held from before the pipeline, is real and unexplained by our fills;
once a person says so (``spx-pipeline positions acknowledge``) reconciliation shows it as
``acknowledged`` instead of failing its check every run. The acknowledgement names the quantity:
if the broker's quantity changes, the difference is unexplained again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.domain.occ import OptionSymbolError, parse_option_symbol
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import acknowledged_positions


class AcknowledgementError(ValueError):
    """An acknowledgement that cannot be stored (bad account id, symbol or quantity)."""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    account_id: str
    option_symbol: str  # Tradier's spelling
    quantity: int
    note: str
    acknowledged_at: datetime


_ROWS: Final = RowMapping(Acknowledgement, acknowledged_positions)


@dataclass(frozen=True)
class AcknowledgementStore:
    """The positions an operator has acknowledged (``acknowledged_positions``)."""

    db: AppDatabase

    def acknowledge(
        self, account_id: str, option_symbol: str, quantity: int, *, note: str
    ) -> Acknowledgement:
        try:
            account = validate_account_id(account_id)
            symbol = parse_option_symbol(option_symbol).tradier
        except (ValueError, OptionSymbolError) as exc:
            raise AcknowledgementError(str(exc)) from None
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
            raise AcknowledgementError(
                f"--quantity must be a whole, non-zero number of contracts, got {quantity!r}"
            )
        row = Acknowledgement(account, symbol, quantity, note.strip() or "acknowledged", self.db.clock.now())
        table = acknowledged_positions
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.delete(table).where(table.c.account_id == account, table.c.option_symbol == symbol)
            )
            conn.execute(sa.insert(table), [_ROWS.values(row, note=row.note[:500])])
        return row

    def withdraw(self, account_id: str, option_symbol: str) -> bool:
        table = acknowledged_positions
        with self.db.engine.begin() as conn:
            result = conn.execute(
                sa.delete(table).where(
                    table.c.account_id == account_id,
                    table.c.option_symbol == parse_option_symbol(option_symbol).tradier,
                )
            )
        return bool(result.rowcount)

    def all(self) -> list[Acknowledgement]:
        table = acknowledged_positions
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table).order_by(table.c.account_id, table.c.option_symbol)
            ).mappings()
            return [_ROWS.read(r) for r in rows]

    def by_account(self) -> dict[str, dict[str, int]]:
        """{account: {symbol: acknowledged quantity}}, what reconciliation compares with."""
        out: dict[str, dict[str, int]] = {}
        for ack in self.all():
            out.setdefault(ack.account_id, {})[ack.option_symbol] = ack.quantity
        return out
