"""The one row mapping: every stored record's fields are its table's columns, checked where they meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import LocalStatus
from spx_pipeline.storage.app import acknowledgements, limits, placements, trade_rows
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import account_limits


def test_a_field_without_a_column_fails_where_the_mapping_is_made() -> None:
    @dataclass(frozen=True)
    class Limits:
        account_id: str
        max_daily_risk: int
        max_weekly_risk: int

    with pytest.raises(TypeError, match=r"Limits: account_limits has no column\(s\) max_weekly_risk"):
        RowMapping(Limits, account_limits)


@pytest.mark.parametrize(
    "mapping",
    [
        trade_rows.TRADE,
        trade_rows.ORDER,
        trade_rows.EVENT,
        limits._ROWS,
        acknowledgements._ROWS,
        placements._PLACEMENTS,
    ],
    ids=lambda m: m.table.name,
)
def test_records_hold_every_column_of_their_table(mapping: RowMapping[object]) -> None:
    """A column added to one of these tables without a field would be written NULL and read nowhere."""
    written = set(mapping.values(None))
    extra = {"order_placements": {"run_id"}}.get(mapping.table.name, set())
    assert {c.name for c in mapping.table.columns} == written | extra


def test_values_bind_enums_as_text_and_numbers_as_text_columns_want() -> None:
    @dataclass(frozen=True)
    class Row:
        run_id: str
        ticket_id: str
        status: LocalStatus
        broker_order_id: int | None

    table = sa.Table(
        "t",
        sa.MetaData(),
        *(sa.Column(n, sa.Text) for n in ("run_id", "ticket_id", "status", "broker_order_id")),
    )
    mapping = RowMapping(Row, table)
    values = mapping.values(Row("r", "k", LocalStatus("claimed"), 123), extra=1)
    assert values == {
        "run_id": "r",
        "ticket_id": "k",
        "status": "claimed",
        "broker_order_id": "123",
        "extra": 1,
    }
    assert type(values["status"]) is str
    back = mapping.read(values)
    assert back == Row("r", "k", LocalStatus("claimed"), 123)
    assert isinstance(back.status, LocalStatus)


def test_a_nullable_nested_record_reads_as_none_and_writes_its_defaults() -> None:
    """An order the broker never reported on: NULL status, zero fills; its facts come back as None."""
    facts = trade_rows.FACTS
    empty = facts.values(None)
    assert empty["broker_status"] is None and empty["open_filled"] == 0 and empty["working_stop"] == 0
    assert (
        trade_rows.ORDER._fields({**dict.fromkeys(trade_rows.ORDER.columns.values()), **empty})["broker"]
        is None
    )
    now = datetime(2025, 1, 2, 15, tzinfo=UTC)
    reported = facts.read({**empty, "broker_status": "open", "reported_at": now})
    assert (reported.status, reported.reported_at, reported.open_filled) == ("open", now, 0)
