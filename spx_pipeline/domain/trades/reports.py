"""The broker's reports as a trade's facts: one order's legs summed by what each leg does.

An OCO, OTO or OTOCO order comes back as a parent with legs; a single-leg order is its own leg.
Each leg is sorted by side and type (a buy opens, a sell limit is a target, a sell stop a stop),
which is all the lifecycle needs, whatever class carried it. Symbols are compared in one spelling
(Tradier's), so a padded OSI report matches the contract we sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from spx_pipeline.domain.execution.fidelity import BrokerOrderLeg
from spx_pipeline.domain.occ import OptionSymbolError, parse_option_symbol
from spx_pipeline.domain.trades.records import BrokerFacts
from spx_pipeline.domain.tradier.enums import WORKING_STATUSES, OrderType, Side


def normalized_symbol(symbol: str) -> str:
    """Tradier's spelling of an option symbol (padded OSI and ``O:`` forms included); else as given."""
    try:
        return parse_option_symbol(symbol).tradier
    except OptionSymbolError:
        return symbol.strip()


def _avg(value: Decimal, quantity: int) -> Decimal | None:
    return (value / quantity).quantize(Decimal("0.0001")) if quantity else None


def facts_from_legs(
    legs: Sequence[BrokerOrderLeg], *, status: str, reported_at: datetime | None
) -> BrokerFacts:
    """Fills and working quantities of one broker order's legs; ``status`` is the order's own."""
    opened = target = stop = work_open = work_target = work_stop = 0
    open_value = target_value = stop_value = Decimal(0)
    reason = next((leg.reason for leg in legs if leg.reason), None)
    for leg in legs:
        filled = leg.exec_quantity
        value = (leg.avg_fill_price or Decimal(0)) * filled
        working = leg.remaining_quantity if leg.status in WORKING_STATUSES else 0
        if leg.side in (Side.BUY_TO_OPEN, Side.BUY_TO_CLOSE):
            opened, open_value, work_open = opened + filled, open_value + value, work_open + working
        elif leg.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop, stop_value, work_stop = stop + filled, stop_value + value, work_stop + working
        else:
            target, target_value, work_target = target + filled, target_value + value, work_target + working
    return BrokerFacts(
        status=status,
        open_filled=opened,
        open_avg=_avg(open_value, opened),
        target_filled=target,
        target_avg=_avg(target_value, target),
        stop_filled=stop,
        stop_avg=_avg(stop_value, stop),
        working_open=work_open,
        working_target=work_target,
        working_stop=work_stop,
        reason=reason,
        reported_at=reported_at,
    )


def order_status(legs: Sequence[BrokerOrderLeg]) -> str:
    """One status for an order: a single order's own (a canceled order stays canceled whatever part
    of it filled); a multi-leg one is working while a leg works, filled if one filled, else the first's."""
    if len(legs) == 1:
        return legs[0].status
    statuses = [leg.status for leg in legs]
    for wanted in ("partially_filled", "open", "pending"):
        if wanted in statuses:
            return wanted
    if any(leg.exec_quantity for leg in legs):
        return "filled"
    return statuses[0] if statuses else "unknown"


def by_tag(legs: Iterable[BrokerOrderLeg]) -> dict[str, list[BrokerOrderLeg]]:
    """The broker's legs of tagged orders, by tag (several orders under one tag stay together)."""
    out: dict[str, list[BrokerOrderLeg]] = {}
    for leg in legs:
        if leg.tag:
            out.setdefault(leg.tag, []).append(leg)
    return out


def positions_by_symbol(rows: Iterable[tuple[str, Decimal | int]]) -> dict[str, int]:
    """Option positions per contract in one spelling; fractional quantities are not whole contracts."""
    out: dict[str, int] = {}
    for symbol, quantity in rows:
        key = normalized_symbol(symbol)
        out[key] = out.get(key, 0) + int(Decimal(str(quantity)))
    return out


def first_order_id(legs: Sequence[BrokerOrderLeg]) -> int | None:
    return min((leg.order_id for leg in legs), default=None)
