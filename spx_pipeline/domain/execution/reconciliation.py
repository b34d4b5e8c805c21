"""Our filled tickets against the broker's positions: what matches, what is missing, what is extra.

The broker's explicit position report is authoritative, and a missing report is never read as
flat: an account whose positions could not be fetched is ``unknown`` for the account and for every
symbol our tickets imply there. Quantities are whole contracts compared within a stated tolerance
(zero by default); anything outside it is a difference, never silently matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from spx_pipeline.domain.tradier.enums import Side


class ReconciliationStatus(StrEnum):
    MATCHED = "matched"
    MISSING_AT_BROKER = "missing_at_broker"
    UNEXPECTED_AT_BROKER = "unexpected_at_broker"
    QUANTITY_MISMATCH = "quantity_mismatch"
    UNKNOWN = "unknown"
    ACKNOWLEDGED = "acknowledged"  # unexplained by our fills, but an operator accepted it as it is


# What counts as a difference an operator must look at (everything but a match or an acknowledged one).
DIFFERENCES = frozenset(ReconciliationStatus) - {
    ReconciliationStatus.MATCHED,
    ReconciliationStatus.ACKNOWLEDGED,
}


@dataclass(frozen=True, slots=True)
class FilledQuantity:
    """Contracts one of our orders filled, with the side that says which way they moved the position."""

    account_id: str
    option_symbol: str
    side: Side
    quantity: int


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    account_id: str
    option_symbol: str  # "" for the account-level row of an account whose report failed
    expected_quantity: int | None
    broker_quantity: Decimal | None  # None: the broker did not report (never flat)
    status: ReconciliationStatus
    reason: str


def implied_positions(fills: Iterable[FilledQuantity]) -> dict[str, dict[str, int]]:
    """Net contracts per account and symbol that our fills imply (opening adds, closing subtracts).

    Symbols that net to zero are kept: a position we opened and closed must be flat at the broker too.
    """
    positions: dict[str, dict[str, int]] = {}
    for fill in fills:
        signed = fill.quantity if fill.side in (Side.BUY_TO_OPEN, Side.BUY_TO_CLOSE) else -fill.quantity
        account = positions.setdefault(fill.account_id, {})
        account[fill.option_symbol] = account.get(fill.option_symbol, 0) + signed
    return positions


def reconcile_account(
    account_id: str,
    expected: Mapping[str, int],
    broker: Mapping[str, Decimal] | None,
    *,
    tolerance: int = 0,
    broker_error: str | None = None,
    acknowledged: Mapping[str, int] | None = None,
) -> list[ReconciliationRow]:
    """One row per symbol either side holds (or expects), sorted by symbol.

    ``broker`` None means the report is missing or failed (``broker_error`` says why): the account
    gets one ``unknown`` row with an empty symbol, and every symbol we expect is ``unknown`` too.
    ``acknowledged`` maps symbols an operator accepted to the quantity accepted: the part of the
    broker's position our fills do not explain is ``acknowledged`` while it is exactly that.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be a whole number of contracts >= 0, got {tolerance!r}")
    if broker is None:
        why = broker_error or "the broker's position report is missing"
        rows = [
            ReconciliationRow(
                account_id, "", None, None, ReconciliationStatus.UNKNOWN, f"positions unknown: {why}"
            )
        ]
        rows += [
            ReconciliationRow(
                account_id,
                symbol,
                quantity,
                None,
                ReconciliationStatus.UNKNOWN,
                f"expected {quantity} contract(s); positions unknown: {why}",
            )
            for symbol, quantity in sorted(expected.items())
            if quantity != 0
        ]
        return rows
    rows = []
    accepted = acknowledged or {}
    for symbol in sorted(set(expected) | set(broker)):
        row = _compare(account_id, symbol, expected.get(symbol, 0), broker.get(symbol), tolerance)
        if row is not None and symbol in accepted:
            row = _acknowledge(row, accepted[symbol])
        if row is not None:
            rows.append(row)
    return rows


def _acknowledge(row: ReconciliationRow, accepted: int) -> ReconciliationRow:
    """An unexplained remainder equal to what the operator acknowledged is not a difference."""
    if row.status not in (ReconciliationStatus.UNEXPECTED_AT_BROKER, ReconciliationStatus.QUANTITY_MISMATCH):
        return row
    held = row.broker_quantity if row.broker_quantity is not None else Decimal(0)
    extra = held - (row.expected_quantity or 0)
    if extra == accepted:
        return ReconciliationRow(
            row.account_id, row.option_symbol, row.expected_quantity, row.broker_quantity,
            ReconciliationStatus.ACKNOWLEDGED,
            f"{held.to_integral_value()} held; {accepted} of them acknowledged by the operator "
            "(outside the pipeline's fills)",
        )  # fmt: skip
    return ReconciliationRow(
        row.account_id, row.option_symbol, row.expected_quantity, row.broker_quantity, row.status,
        f"{row.reason}; {accepted} were acknowledged, {extra.to_integral_value()} are unexplained now",
    )  # fmt: skip


def _compare(
    account_id: str, symbol: str, want: int, held: Decimal | None, tolerance: int
) -> ReconciliationRow | None:
    status = ReconciliationStatus
    have = Decimal(0) if held is None else held
    if not have.is_finite() or have != have.to_integral_value():
        return ReconciliationRow(
            account_id,
            symbol,
            want,
            held,
            status.UNKNOWN,
            f"the broker reports {held} contracts, not a whole number",
        )
    have = have.to_integral_value()  # whole contracts from here on: "-2", not "-2.0000"
    if want == 0 and have == 0:
        return None  # flat on both sides: nothing to say
    if want == 0:
        return ReconciliationRow(
            account_id,
            symbol,
            want,
            held,
            status.UNEXPECTED_AT_BROKER,
            f"the broker holds {have} contract(s) that none of our fills explain (external or manual)",
        )
    if have == 0:
        return ReconciliationRow(
            account_id,
            symbol,
            want,
            held,
            status.MISSING_AT_BROKER,
            f"our fills imply {want} contract(s); the broker reports none",
        )
    gap = abs(have - want)
    if gap <= tolerance:
        note = "" if gap == 0 else f" (within the tolerance of {tolerance})"
        return ReconciliationRow(
            account_id, symbol, want, held, status.MATCHED, f"{have} contract(s) on both sides{note}"
        )
    return ReconciliationRow(
        account_id,
        symbol,
        want,
        held,
        status.QUANTITY_MISMATCH,
        f"our fills imply {want} contract(s); the broker reports {have} (tolerance {tolerance})",
    )
