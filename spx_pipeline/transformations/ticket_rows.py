"""A run's ``order_tickets`` rows, held as the trades and the shape legs they are made of.

Placeable trades of one shape (contract, size, prices, exits) differ only in what names them, so
20,000 trades' 60,000 tickets are 20,000 trade rows and a few hundred leg rows: what the leg's
form fixes, and its JSON payload split around the tag. A ticket is a trade joined to each leg of
its shape: its tag is the trade's tag base and the leg's suffix, its payload the two halves around
that tag, its id one SHA-256 of tag and leg. The warehouse makes the rows with that join in SQL
(``TICKETS_SQL``), so a ticket never becomes a Python object on its way there; ``TicketBatch.frame``
makes the very same rows in Python for the previews and the tests, which hold the SQL to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.domain.trades import Trade, TradePlan, ticket_id
from spx_pipeline.domain.trades.intents import OrderIntent
from spx_pipeline.domain.trades.ticket_batch import ShapedLegs, TicketLeg, shaped_legs_of_plans
from spx_pipeline.storage.warehouse.schema import column_names

Legs = ShapedLegs | list[TicketLeg] | OrderPayloadError

# One row per placeable trade: the shape it has and what names it (``tag``: its tag base, or ''
# for a trade whose legs carry whole tags of their own).
TRADE_COLUMNS = ("shape", "trade_id", "as_of_date", "setup_id", "account_id", "risk_fingerprint", "tag")
# One row per leg of a shape: what the leg's form fixes, then its tag suffix and payload halves
# (``after`` None: ``before`` is the whole payload, the leg of a trade built on its own).
LEG_COLUMNS = (
    "shape", "leg_no", "leg", "side", "order_type", "option_symbol", "underlying_symbol", "quantity",
    "price", "stop_price", "duration", "suffix", "before", "after",
)  # fmt: skip
# What every ticket of a run has the same: nothing previewed yet, the run and its time.
_UNPREVIEWED = {
    "preview_status": "not_requested",
    "preview_cost": None,
    "preview_commission": None,
    "preview_fees": None,
    "preview_message": None,
}

# ``order_tickets`` columns from ``{trades}`` and ``{legs}`` (``WarehouseTransaction.
# replace_rows_from_query``); the parameters are the run's time and id.
TICKETS_SQL = """
SELECT
    left(sha256(t.tag || l.suffix || '|' || l.leg), 20) AS ticket_id,
    t.trade_id, t.as_of_date, t.setup_id, t.account_id, t.risk_fingerprint,
    l.leg, l.side, l.order_type, l.option_symbol, l.underlying_symbol, l.quantity, l.price,
    l.stop_price, l.duration,
    t.tag || l.suffix AS tag,
    CASE WHEN l.after IS NULL THEN l.before
         ELSE l.before || '"' || t.tag || l.suffix || '"' || l.after::VARCHAR END AS payload_json,
    'not_requested' AS preview_status,
    NULL AS preview_cost, NULL AS preview_commission, NULL AS preview_fees, NULL AS preview_message,
    ?::TIMESTAMPTZ AS created_at,
    ?::VARCHAR AS run_id
FROM {trades} AS t JOIN {legs} AS l ON l.shape = t.shape
"""


@dataclass(frozen=True)
class TicketBatch:
    """The tickets of a run's placeable trades: ``trades`` x their shape's ``legs`` (see above)."""

    trades: pd.DataFrame  # TRADE_COLUMNS
    legs: pd.DataFrame  # LEG_COLUMNS
    run_id: str
    created_at: datetime
    rows: int  # how many tickets the join makes

    def __len__(self) -> int:
        return self.rows

    @property
    def empty(self) -> bool:
        return self.rows == 0

    def sql(self) -> tuple[str, dict[str, pd.DataFrame], list[object]]:
        """What ``replace_rows_from_query`` takes: the query, its frames and its parameters."""
        return TICKETS_SQL, {"trades": self.trades, "legs": self.legs}, [self.created_at, self.run_id]

    def frame(self) -> pd.DataFrame:
        """The tickets as ``order_tickets`` rows, trade by trade, legs in order."""
        legs_of: dict[int, list[tuple[Any, ...]]] = {}
        names = ("leg", "side", "order_type", "option_symbol", "underlying_symbol", "quantity", "price",
                 "stop_price", "duration", "suffix", "before", "after")  # fmt: skip
        ordered = self.legs.sort_values(["shape", "leg_no"], kind="stable")
        for shape, *values in zip(*(ordered[c].tolist() for c in ("shape", *names)), strict=True):
            legs_of.setdefault(shape, []).append(tuple(values))
        rows: list[tuple[Any, ...]] = []
        for shape, *named, tag in zip(*(self.trades[c].tolist() for c in TRADE_COLUMNS), strict=True):
            for *fixed, suffix, before, after in legs_of[shape]:
                full = tag + suffix
                payload = before if after is None else f'{before}"{full}"{after}'
                leg = fixed[0]
                rows.append((ticket_id(full, leg), *named, *(_nan_none(v) for v in fixed), full, payload))
        columns = list(column_names("order_tickets"))
        if not rows:
            return pd.DataFrame([], columns=columns)
        n = len(rows)
        data = {
            **dict(zip(_BUILT_COLUMNS, map(list, zip(*rows, strict=True)), strict=True)),
            **{name: [value] * n for name, value in _UNPREVIEWED.items()},
            "created_at": [self.created_at] * n,
            "run_id": [self.run_id] * n,
        }
        return pd.DataFrame(data, columns=columns)


_BUILT_COLUMNS = (
    "ticket_id", "trade_id", "as_of_date", "setup_id", "account_id", "risk_fingerprint", "leg", "side",
    "order_type", "option_symbol", "underlying_symbol", "quantity", "price", "stop_price", "duration",
    "tag", "payload_json",
)  # fmt: skip


def ticket_batch(
    trades: Sequence[Trade],
    *,
    run_id: str,
    created_at: datetime,
    built: Mapping[str, tuple[TradePlan, Legs]] | None = None,
) -> TicketBatch:
    """Each placeable plan's entry, T1 and runner stop, as trades and shape legs.

    ``built``: legs planning already built, by trade id with the plan they were built for (used
    only for that very plan). A plan whose orders cannot be built raises its error.
    """
    plans = [trade.plan for trade in trades]
    known = built or {}
    legs_each: list[Legs | None] = [
        known[p.trade_id][1] if known.get(p.trade_id, (None,))[0] is p else None for p in plans
    ]
    missing = [i for i, legs in enumerate(legs_each) if legs is None]
    for i, legs in zip(missing, shaped_legs_of_plans([plans[i] for i in missing]), strict=True):
        legs_each[i] = legs
    shapes: dict[int, int] = {}  # id(a shape's legs) -> its number; the shapes outlive the loop
    per_shape: list[int] = []  # legs of each shape, by number
    trade_rows: list[tuple[Any, ...]] = []
    leg_rows: list[tuple[Any, ...]] = []
    for plan, legs in zip(plans, legs_each, strict=True):
        if isinstance(legs, OrderPayloadError):
            raise legs
        names = (plan.trade_id, plan.session, plan.setup_id, plan.account_id, plan.risk_fingerprint)
        if isinstance(legs, ShapedLegs):
            shape = shapes.get(id(legs.legs))
            if shape is None:
                shape = shapes[id(legs.legs)] = len(per_shape)
                per_shape.append(len(legs.legs))
                for no, shape_leg in enumerate(legs.legs):
                    columns = _leg_columns(shape_leg.leg, shape_leg.intent, plan.option_symbol)
                    halves = (shape_leg.before, shape_leg.after)
                    leg_rows.append((shape, no, *columns, shape_leg.suffix, *halves))
            trade_rows.append((shape, *names, plan.tag))
        elif legs:  # built on its own (a tag the shape could not vouch for): a shape of its own
            shape = len(per_shape)
            per_shape.append(len(legs))
            for no, leg in enumerate(legs):
                columns = _leg_columns(leg.leg, leg.intent, plan.option_symbol)
                leg_rows.append((shape, no, *columns, leg.intent.tag, leg.payload_json, None))
            trade_rows.append((shape, *names, ""))
    return TicketBatch(
        trades=_frame(trade_rows, TRADE_COLUMNS),
        legs=_frame(leg_rows, LEG_COLUMNS),
        run_id=run_id,
        created_at=created_at,
        rows=sum(per_shape[row[0]] for row in trade_rows),
    )


def ticket_rows(
    trades: Sequence[Trade],
    *,
    run_id: str,
    created_at: datetime,
    built: Mapping[str, tuple[TradePlan, Legs]] | None = None,
) -> pd.DataFrame:
    """``order_tickets`` rows of each placeable plan: ``ticket_batch(...).frame()``."""
    return ticket_batch(trades, run_id=run_id, created_at=created_at, built=built).frame()


def _frame(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """Column by column, each column's type as pandas infers it (an empty frame keeps the names)."""
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)))


def _leg_columns(leg: str, intent: OrderIntent, option_symbol: str) -> tuple[Any, ...]:
    """The columns a leg's form fixes (the plan's contract is part of its shape), ``leg`` to
    ``duration`` in ``LEG_COLUMNS`` order."""
    return (
        leg, str(intent.side), intent.display_type, option_symbol, intent.first.symbol, intent.quantity,
        money_float(intent.price), money_float(intent.stop_price), intent.duration,
    )  # fmt: skip


def money_float(value: Decimal | None) -> float | None:
    """An amount for a ticket's analytics columns (prices, preview cost): floats, never a limit."""
    return None if value is None else float(value)


def _nan_none(value: Any) -> Any:
    """A leg's missing price read back from its frame (NaN) as the None a ticket row holds."""
    return None if isinstance(value, float) and math.isnan(value) else value
