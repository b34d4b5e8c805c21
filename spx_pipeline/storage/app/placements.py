"""The app database's record of placements and of how each setup's trades filled.

``order_placements`` is the system of record for what a placement run sent: every status step is
committed on its own (``sending`` before the POST, the outcome after), so the trail survives any
crash. The execution-fidelity columns of ``spx_setup_instances`` get the latest session's summary
of each setup's fills, for the app that owns the setups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

import sqlalchemy as sa

from spx_pipeline.domain.execution import PlacementRecord
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import order_placements, spx_setup_instances


def record_placement(appdb: AppDatabase, run_id: str, record: PlacementRecord) -> None:
    """Insert (or replace) one placement step; its own transaction, committed before returning."""
    values = _PLACEMENTS.values(record, run_id=run_id)
    table = order_placements
    with appdb.engine.begin() as conn:
        conn.execute(
            sa.delete(table).where(
                table.c.run_id == run_id,
                table.c.ticket_id == values["ticket_id"],
                table.c.status == values["status"],
            )
        )
        conn.execute(sa.insert(table), [values])


def read_placements(appdb: AppDatabase, *, run_id: str | None = None) -> list[dict[str, object]]:
    query = sa.select(order_placements).order_by(order_placements.c.recorded_at, order_placements.c.ticket_id)
    if run_id is not None:
        query = query.where(order_placements.c.run_id == run_id)
    with appdb.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings().all()]


@dataclass(frozen=True, slots=True)
class SetupFidelity:
    """One setup's entry (and exits) of its latest session, summed over the accounts that traded it."""

    setup_id: str
    broker_order_id: str
    entry_order_tag: str
    intended_entry_price: Decimal
    entry_fill_price: Decimal
    entry_slippage: Decimal  # per share of premium, positive = adverse
    t1_fill_price: Decimal | None
    runner_exit_price: Decimal | None
    filled_contracts: int
    executed_at: datetime


def write_setup_fidelity(appdb: AppDatabase, rows: Iterable[SetupFidelity]) -> int:
    """Fill the execution-fidelity columns of the setups the app holds; unknown setups are skipped."""
    table = spx_setup_instances
    updated = 0
    with appdb.engine.begin() as conn:
        for row in rows:
            values = _FIDELITY.values(row, broker="tradier")
            result = conn.execute(sa.update(table).where(table.c.id == values.pop("id")).values(**values))
            updated += result.rowcount or 0
    return updated


_PLACEMENTS: Final = RowMapping(
    PlacementRecord, order_placements, renamed={"at": "recorded_at"}, not_stored=["trade_id"]
)
_FIDELITY: Final = RowMapping(SetupFidelity, spx_setup_instances, renamed={"setup_id": "id"})
FIDELITY_COLUMNS: Final = ("broker", *(column for column in _FIDELITY.columns.values() if column != "id"))


def read_setup_fidelity(appdb: AppDatabase) -> dict[str, dict[str, object]]:
    """The execution-fidelity columns of every setup, by setup id (None where nothing filled yet)."""
    table = spx_setup_instances
    with appdb.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, *(table.c[name] for name in FIDELITY_COLUMNS))).mappings()
        return {row["id"]: {name: row[name] for name in FIDELITY_COLUMNS} for row in rows}
