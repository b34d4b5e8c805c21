"""The broker's orders as domain legs: what the trade lifecycle and fill fidelity read.

An OCO/OTO/OTOCO order is flattened to one leg per order it holds, each carrying the parent's id
and tag (Tradier tags the parent); a single-leg order is its own leg 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from spx_pipeline.broker.tradier import Order
from spx_pipeline.domain.execution import BrokerOrderLeg
from spx_pipeline.domain.market_calendar import NEW_YORK
from spx_pipeline.domain.tradier.enums import OrderType, Side


def order_legs(account_id: str, orders: Sequence[Order]) -> list[BrokerOrderLeg]:
    """Every leg of ``orders`` in our vocabulary (equity or unknown kinds are left out)."""
    legs: list[BrokerOrderLeg] = []
    for order in orders:
        created = order.create_date
        for index, leg in enumerate(list(order.legs) or [order]):
            side, kind = Side.parse(leg.side), OrderType.parse(leg.type)
            symbol = leg.option_symbol or leg.symbol
            if side is None or kind is None or not symbol:
                continue
            made = leg.create_date or created
            legs.append(
                BrokerOrderLeg(
                    account_id=account_id,
                    order_id=int(order.id or 0),
                    leg_index=index,
                    tag=order.tag or leg.tag,
                    option_symbol=symbol,
                    side=side,
                    order_type=kind,
                    status=str(leg.status or order.status or ""),
                    quantity=int(leg.quantity or 0),
                    exec_quantity=int(leg.exec_quantity or 0),
                    remaining_quantity=int(leg.remaining_quantity or 0),
                    avg_fill_price=leg.avg_fill_price,
                    session=made.astimezone(NEW_YORK).date() if made else date.min,
                    created_at=made,
                    transaction_at=leg.transaction_date or order.transaction_date,
                    reason=leg.reason_description or order.reason_description,
                )
            )
    return legs
