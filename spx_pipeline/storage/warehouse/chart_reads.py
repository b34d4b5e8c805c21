"""The figures the charts draw, by name: one SQL per picture, over published rows only.

The same pictures appear on the Dagster asset pages (read from the warehouse's ``published.*``
views) and in the analysts' HTML report (read from the analyst copy, whose views have the tables'
own names), so each query is written once over ``{p}<table>`` and run with the prefix of either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import duckdb
import pandas as pd

from spx_pipeline.storage.warehouse.analyst import AnalystCopyError

Run = Callable[[str], pd.DataFrame]

WAREHOUSE_PREFIX: Final = "published."
ANALYST_PREFIX: Final = ""
MAX_ACCOUNTS: Final = 12  # curves per equity chart: beyond a dozen lines nobody reads them

_EQUITY = """
WITH latest AS (
    SELECT account_id, arg_max(total_equity, captured_at) AS equity
    FROM {p}portfolio_snapshots GROUP BY account_id
),
shown AS (
    SELECT account_id FROM latest ORDER BY equity DESC, account_id LIMIT {n}
)
SELECT s.account_id, s.captured_at, CAST(s.total_equity AS DOUBLE) AS total_equity
FROM {p}portfolio_snapshots AS s JOIN shown USING (account_id)
ORDER BY s.account_id, s.captured_at
"""

_ACCOUNTS = "SELECT count(DISTINCT account_id) AS n FROM {p}portfolio_snapshots"

# The newest reading of each broker leg (every reconciliation re-reads it), filled legs only.
_SLIPPAGE = """
SELECT setup_id, leg, CAST(slippage_ticks AS DOUBLE) AS slippage_ticks,
       CAST(slippage_per_contract AS DOUBLE) AS slippage_dollars, session_date
FROM {p}execution_fidelity
WHERE filled_quantity > 0 AND slippage_ticks IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY ticket_id, order_id, broker_leg ORDER BY captured_at DESC, run_id DESC) = 1
ORDER BY setup_id, leg
"""

# Each trading day's newest recommendation run: what stood at the end of the day.
_OUTCOMES = """
WITH newest AS (
    SELECT as_of_date, max_by(run_id, generated_at) AS run_id
    FROM {p}contract_recommendations GROUP BY as_of_date
)
SELECT r.as_of_date,
       count(*) FILTER (WHERE NOT r.blocked) AS tradable,
       count(*) FILTER (WHERE r.blocked)     AS blocked
FROM {p}contract_recommendations AS r JOIN newest USING (as_of_date, run_id)
GROUP BY r.as_of_date
ORDER BY r.as_of_date
"""

# The `trades` relation: at least these columns. Where it keeps versions of a trade (`trade_id`,
# `version`: the warehouse copies every version from the app database), each trade's highest
# version is its current state and the only one counted.
TRADES_RELATION: Final = "trades"
TRADES_COLUMNS: Final = ("setup_id", "account_id", "session_date", "realized_pnl")
VERSION_COLUMNS: Final = ("trade_id", "version")
_PNL = """
WITH current AS (
    SELECT * FROM {p}trades {latest}
)
SELECT setup_id, session_date, count(*) AS trades,
       CAST(sum(realized_pnl) AS DOUBLE) AS realized_pnl
FROM current
WHERE realized_pnl IS NOT NULL
GROUP BY setup_id, session_date
ORDER BY session_date, setup_id
"""
_LATEST_VERSION = "QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY version DESC) = 1"


def equity_history(run: Run, prefix: str, *, max_accounts: int = MAX_ACCOUNTS) -> pd.DataFrame:
    """``account_id, captured_at, total_equity`` of the accounts with the most equity (at most
    ``max_accounts``), every snapshot in time order."""
    return run(_EQUITY.format(p=prefix, n=int(max_accounts)))


def account_count(run: Run, prefix: str) -> int:
    frame = run(_ACCOUNTS.format(p=prefix))
    return int(frame["n"].iloc[0]) if len(frame) else 0


def slippage_of_fills(run: Run, prefix: str) -> pd.DataFrame:
    """``setup_id, leg, slippage_ticks, slippage_dollars, session_date`` of every filled leg (newest
    reading; positive = adverse)."""
    return run(_SLIPPAGE.format(p=prefix))


def outcomes_per_day(run: Run, prefix: str) -> pd.DataFrame:
    """``as_of_date, tradable, blocked``: rows of each trading day's newest recommendation run."""
    return run(_OUTCOMES.format(p=prefix))


def trade_columns(run: Run, prefix: str) -> set[str]:
    """The columns of the ``trades`` relation (empty when there is none)."""
    try:
        return {str(c) for c in run(f"SELECT * FROM {prefix}{TRADES_RELATION} LIMIT 0").columns}
    except (duckdb.Error, AnalystCopyError):  # no trades relation there (yet)
        return set()


def realized_pnl_per_setup(run: Run, prefix: str) -> pd.DataFrame:
    """``setup_id, session_date, trades, realized_pnl``: realized P&L of each trade's current state
    (trades with no exit fill yet count nothing), per setup and session."""
    versioned = set(VERSION_COLUMNS) <= trade_columns(run, prefix)
    return run(_PNL.format(p=prefix, latest=_LATEST_VERSION if versioned else ""))
