from decimal import Decimal

import pytest

from spx_pipeline.domain.execution import (
    DIFFERENCES,
    FilledQuantity,
    ReconciliationStatus,
    implied_positions,
    reconcile_account,
)
from spx_pipeline.domain.tradier.enums import Side

A, B = "SPXW261124C06000000", "SPXW261124P05900000"
S = ReconciliationStatus


def statuses(rows):
    return {(row.option_symbol, row.status) for row in rows}


def test_every_status():
    expected = {A: 2, B: 3, "SPXW261124C06100000": 1}
    broker = {A: Decimal(2), B: Decimal(1), "SPXW261218P05800000": Decimal(1)}
    rows = reconcile_account("VA1", expected, broker)
    assert statuses(rows) == {
        (A, S.MATCHED),
        (B, S.QUANTITY_MISMATCH),
        ("SPXW261124C06100000", S.MISSING_AT_BROKER),
        ("SPXW261218P05800000", S.UNEXPECTED_AT_BROKER),
    }
    assert all(row.reason for row in rows)


def test_a_failed_report_is_unknown_never_flat():
    rows = reconcile_account("VA1", {A: 2, B: 0}, None, broker_error="HTTP 503")
    assert [(r.option_symbol, r.status) for r in rows] == [("", S.UNKNOWN), (A, S.UNKNOWN)]
    assert all("HTTP 503" in r.reason and r.broker_quantity is None for r in rows)
    assert S.MATCHED not in {r.status for r in rows}


def test_a_missing_report_with_nothing_expected_still_says_unknown():
    rows = reconcile_account("VA1", {}, None)
    assert [(r.option_symbol, r.status) for r in rows] == [("", S.UNKNOWN)]


def test_flat_at_broker_with_nothing_expected_has_no_rows():
    assert reconcile_account("VA1", {}, {}) == []
    assert reconcile_account("VA1", {A: 0}, {}) == []  # opened and closed: flat on both sides


def test_tolerance_is_stated_and_applied():
    assert reconcile_account("VA1", {A: 3}, {A: Decimal(2)})[0].status == S.QUANTITY_MISMATCH
    row = reconcile_account("VA1", {A: 3}, {A: Decimal(2)}, tolerance=1)[0]
    assert row.status == S.MATCHED and "tolerance of 1" in row.reason
    with pytest.raises(ValueError, match="tolerance"):
        reconcile_account("VA1", {}, {}, tolerance=-1)


def test_a_fractional_broker_quantity_fails_closed():
    row = reconcile_account("VA1", {A: 1}, {A: Decimal("1.5")})[0]
    assert row.status == S.UNKNOWN and "1.5" in row.reason


def test_short_positions_compare_by_sign():
    rows = reconcile_account("VA1", {A: 2}, {A: Decimal(-2)})
    assert rows[0].status == S.QUANTITY_MISMATCH


def test_implied_positions_net_opening_and_closing_fills():
    fills = [
        FilledQuantity("VA1", A, Side.BUY_TO_OPEN, 4),
        FilledQuantity("VA1", A, Side.SELL_TO_CLOSE, 2),
        FilledQuantity("VA1", A, Side.SELL_TO_CLOSE, 2),
        FilledQuantity("VA2", B, Side.BUY_TO_OPEN, 1),
    ]
    assert implied_positions(fills) == {"VA1": {A: 0}, "VA2": {B: 1}}


def test_an_acknowledged_position_is_not_a_difference_while_it_stays_as_acknowledged():
    held = {"SPXW261218P05800000": Decimal(1), "SPXW261124C06000000": Decimal(3)}
    rows = reconcile_account("VA1", {"SPXW261124C06000000": 3}, held, acknowledged={"SPXW261218P05800000": 1})
    status = {r.option_symbol: r.status for r in rows}
    assert status == {"SPXW261218P05800000": "acknowledged", "SPXW261124C06000000": "matched"}
    assert ReconciliationStatus.ACKNOWLEDGED not in DIFFERENCES
    grown = reconcile_account(
        "VA1", {}, {"SPXW261218P05800000": Decimal(2)}, acknowledged={"SPXW261218P05800000": 1}
    )
    assert [r.status for r in grown] == ["unexpected_at_broker"]
    assert "1 were acknowledged, 2 are unexplained now" in grown[0].reason
    # Acknowledged on top of our own fills: only the remainder is the operator's.
    mixed = reconcile_account(
        "VA1", {"SPXW261218P05800000": 2}, {"SPXW261218P05800000": Decimal(3)},
        acknowledged={"SPXW261218P05800000": 1},
    )  # fmt: skip
    assert [r.status for r in mixed] == ["acknowledged"]
