"""A reconciliation run's broker reads (warehouse rows) as the trade lifecycle's account views.

``broker_state`` has already read every account's orders and positions and stored them with the
failures; the lifecycle takes them from there rather than asking the broker again. An account
whose orders read failed gets no orders (nothing can be proven), one whose positions read failed
no positions (nothing can be seen closed by hand).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from spx_pipeline.domain.trades.reports import positions_by_symbol
from spx_pipeline.transformations.execution import broker_legs
from spx_pipeline.transformations.trade_lifecycle import AccountView


def account_views(
    accounts: Iterable[str],
    orders: pd.DataFrame,
    positions: pd.DataFrame,
    failures: Mapping[str, Mapping[str, str]],
) -> dict[str, AccountView]:
    """``failures`` maps stage (``orders``/``positions``) to {account: message}."""
    legs = broker_legs(orders)
    by_account: dict[str, list] = {}
    for leg in legs:
        by_account.setdefault(leg.account_id, []).append(leg)
    held: dict[str, list[tuple[str, object]]] = {}
    for row in positions.itertuples():
        held.setdefault(str(row.account_id), []).append((str(row.symbol), row.quantity))
    views = {}
    for account in accounts:
        order_error = failures.get("orders", {}).get(account)
        position_error = failures.get("positions", {}).get(account)
        views[account] = AccountView(
            account,
            None if order_error is not None else by_account.get(account, []),
            None if position_error is not None else positions_by_symbol(held.get(account, [])),  # type: ignore[arg-type]
            orders_error=order_error,
        )
    return views
