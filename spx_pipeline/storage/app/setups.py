"""Trade setups (``spx_setup_instances``): what the recommendation job sizes for every account.

Records carry the stored values; ``SetupRecord.to_domain()`` hands the domain layer its ``Setup``.
The domain import is local to that method so this store works (and its CLI lists and edits
setups) independently of the selection code.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from spx_pipeline.domain.field_copy import copy_fields
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.rows import RowMapping
from spx_pipeline.storage.app.tables import spx_setup_instances

if TYPE_CHECKING:
    from spx_pipeline.domain.setups import Setup

DIRECTIONS: Final = ("bullish", "bearish")
STATUSES: Final = ("active", "inactive", "triggered", "closed")
SYMBOLS: Final = ("SPX", "SPXW")
_SETUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAX_PRICE = Decimal("100000")  # domain.ticks.MAX_PRICE: no premium, stop or offset comes near it


class SetupError(ValueError):
    """Bad setup input, or an unknown / duplicate setup id."""


@dataclass(frozen=True)
class SetupRecord:
    """One stored setup."""

    id: str
    label: str | None
    symbol: str
    direction: str
    target_delta: float
    stop_premium: Decimal | None
    t1_gain_pct: Decimal
    t1_fraction: Decimal
    runner_stop_limit_offset: Decimal | None
    status: str
    created_at: datetime
    updated_at: datetime
    priority: int = 0

    def to_domain(self) -> Setup:
        """The domain ``Setup`` the contract selector works with."""
        from spx_pipeline.domain.setups import Setup

        return copy_fields(self, Setup, setup_id=self.id)


_ROWS: Final = RowMapping(SetupRecord, spx_setup_instances)


@dataclass(frozen=True)
class SetupStore:
    """CRUD over ``spx_setup_instances``."""

    db: AppDatabase

    def add(
        self,
        *,
        direction: str,
        setup_id: str | None = None,
        label: str | None = None,
        symbol: str = "SPX",
        target_delta: float = 0.40,
        stop_premium: Decimal | float | str | None = None,
        t1_gain_pct: Decimal | float | str = Decimal("0.5"),
        t1_fraction: Decimal | float | str = Decimal("0.5"),
        runner_stop_limit_offset: Decimal | float | str | None = None,
        status: str = "active",
        priority: int = 0,
    ) -> SetupRecord:
        """Validate and store a setup; without an id one is generated (``setup-<12 hex>``).

        Ranges are the domain ``Setup``'s own checks, so every stored setup can be sized; a bad
        value raises ``SetupError`` naming the field and the value, and nothing is written.
        """
        if direction not in DIRECTIONS:
            raise SetupError(f"direction {direction!r} is not valid: use 'bullish' or 'bearish'")
        if status not in STATUSES:
            raise SetupError(f"status {status!r} is not valid: use one of {', '.join(STATUSES)}")
        ident = setup_id.strip() if setup_id else f"setup-{uuid.uuid4().hex[:12]}"
        if not _SETUP_ID.match(ident):
            raise SetupError(f"setup id {setup_id!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'")
        symbol_clean = (symbol or "").strip().upper()
        if symbol_clean not in SYMBOLS:
            raise SetupError(f"symbol {symbol!r} is not valid: use one of {', '.join(SYMBOLS)}")
        delta = _float("target_delta", target_delta)
        stop = _decimal("stop_premium", stop_premium, positive=True)
        gain = _decimal("t1_gain_pct", t1_gain_pct, positive=True)
        fraction = _decimal("t1_fraction", t1_fraction, positive=True)
        offset = _decimal("runner_stop_limit_offset", runner_stop_limit_offset, positive=False)
        now = self.db.clock.now()
        record = SetupRecord(
            id=ident,
            label=(label or "").strip() or None,
            symbol=symbol_clean,
            direction=direction,
            target_delta=delta,
            stop_premium=stop,
            t1_gain_pct=gain,  # type: ignore[arg-type]  # None only if given as None: refused below
            t1_fraction=fraction,  # type: ignore[arg-type]
            runner_stop_limit_offset=offset,
            status=status,
            created_at=now,
            updated_at=now,
            priority=priority,
        )
        _check_with_domain(record)
        with self.db.engine.begin() as conn:
            exists = conn.execute(
                sa.select(spx_setup_instances.c.id).where(spx_setup_instances.c.id == ident)
            ).first()
            if exists is not None:
                raise SetupError(f"setup id {ident!r} already exists")
            conn.execute(spx_setup_instances.insert().values(**_ROWS.values(record)))
        return self.get(ident)

    def get(self, setup_id: str) -> SetupRecord:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(spx_setup_instances).where(spx_setup_instances.c.id == setup_id)
            ).one_or_none()
        if row is None:
            raise SetupError(f"no setup with id {setup_id!r}")
        return _record(row)

    def list(self, status: str | None = None) -> list[SetupRecord]:
        """Setups by creation time (then id), optionally only those with ``status``."""
        query = sa.select(spx_setup_instances).order_by(
            spx_setup_instances.c.created_at, spx_setup_instances.c.id
        )
        if status is not None:
            if status not in STATUSES:
                raise SetupError(f"status {status!r} is not valid: use one of {', '.join(STATUSES)}")
            query = query.where(spx_setup_instances.c.status == status)
        with self.db.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def active(self) -> list[SetupRecord]:
        """The setups the scheduled recommendation run sizes."""
        return self.list(status="active")

    def set_status(self, setup_id: str, status: str) -> bool:
        """Change a setup's status; False when it already had it."""
        if status not in STATUSES:
            raise SetupError(f"status {status!r} is not valid: use one of {', '.join(STATUSES)}")
        current = self.get(setup_id)
        if current.status == status:
            return False
        with self.db.engine.begin() as conn:
            conn.execute(
                spx_setup_instances.update()
                .where(spx_setup_instances.c.id == setup_id)
                .values(status=status, updated_at=self.db.clock.now())
            )
        return True

    def deactivate(self, setup_id: str) -> bool:
        return self.set_status(setup_id, "inactive")

    def activate(self, setup_id: str) -> bool:
        return self.set_status(setup_id, "active")


def _record(row: sa.Row[tuple[object, ...]]) -> SetupRecord:
    return _ROWS.read(row._mapping)


def _check_with_domain(record: SetupRecord) -> None:
    """The domain ``Setup`` validates every range (delta in (0, 1), stop below 100,000, ...)."""
    try:
        record.to_domain()
    except ValueError as exc:
        raise SetupError(f"setup {record.id!r} refused: {exc}") from None


def _float(field: str, value: float | str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SetupError(f"{field} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SetupError(f"{field} {value!r} is not a number")
    return number


def _decimal(field: str, value: Decimal | float | str | None, *, positive: bool) -> Decimal | None:
    if value is None:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise SetupError(f"{field} {value!r} is not a number") from None
    if not number.is_finite():
        raise SetupError(f"{field} {value!r} is not a finite number")
    if abs(number) >= _MAX_PRICE:  # before quantize, which cannot hold 1e30 to 4 places
        raise SetupError(f"{field} {value!r} must be below {_MAX_PRICE}")
    if positive and number <= 0:
        raise SetupError(f"{field} {value!r} must be greater than 0")
    if not positive and number < 0:
        raise SetupError(f"{field} {value!r} must not be negative")
    if number != number.quantize(Decimal("0.0001")):
        raise SetupError(f"{field} {value!r} has more than 4 decimal places")
    return number
