"""The one row mapping: every stored record's fields are its table's columns, checked where they meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from spx_pipeline.domain.trades import LocalStatus, Trade, TradeOrder, TradeState
from spx_pipeline.domain.trades.records import Leg
from spx_pipeline.domain.tradier.enums import OrderType, Side
from spx_pipeline.storage.app import acknowledgements, limits, placements, trade_rows
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import account_limits
from spx_pipeline_tests.fixtures.trades import make_plan


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


def test_column_values_are_the_values_of_each_record_column_by_column() -> None:
    """The bulk path binds what ``values`` binds, a nested record left None included (its defaults)."""
    now = datetime(2025, 1, 2, 15, tzinfo=UTC)
    plan = make_plan(account_id="VA00000001", stop="2.20")
    trade = Trade(plan=plan, state=TradeState.PLANNED, version=3, blocked_reason="why",
                  created_at=now, updated_at=now)  # fmt: skip
    order = TradeOrder(tag=plan.tag + "-entry", trade_id=plan.trade_id, account_id=plan.account_id,
                       leg=Leg.ENTRY, seq=1, order_class="option", side=Side.BUY_TO_OPEN,
                       order_type=OrderType.LIMIT, quantity=2, price=Decimal("1.10"), stop_price=None,
                       duration="day", session=plan.session, local_status=LocalStatus("claimed"),
                       claimed_at=now, broker_order_id=123, broker=None, run_id="r")  # fmt: skip
    for mapping, records in ((trade_rows.TRADE, [trade, trade]), (trade_rows.ORDER, [order])):
        columns = mapping.column_values(records)
        rows = [mapping.values(r) for r in records]
        assert columns == {c: [row[c] for row in rows] for c in rows[0]}
        assert [type(v) for v in columns["state" if "state" in columns else "leg"]] == [str] * len(records)
