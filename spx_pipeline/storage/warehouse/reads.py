"""The warehouse reads the pipeline makes, by name: every query of the assets, checks and transformations.

Downstream steps read the ``published.*`` views (rows of published runs only), so a run that died
part-way is never read; the few reads of ``main.*`` tables are the repair paths that look for a
newer, unpublished but complete sync on purpose. Keeping the SQL here, beside the DDL it depends on,
means a column rename is one grep in one layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from spx_pipeline.storage.warehouse.base import quote_identifier as _q

if TYPE_CHECKING:
    import pandas as pd

    from spx_pipeline.storage.warehouse.store import Warehouse

# -- portfolio sync ----------------------------------------------------------------------------


def balances_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """Every ``tradier_balances`` row a run wrote, published or not."""
    return warehouse.query("SELECT * FROM tradier_balances WHERE run_id = ?", [run_id])


_UNPUBLISHED_NEWER_BALANCE_RUNS = """
SELECT run_id FROM tradier_balances
WHERE run_id NOT IN (SELECT run_id FROM published.tradier_balances)
  AND captured_at > coalesce(
      (SELECT max(captured_at) FROM published.tradier_balances), TIMESTAMPTZ '1970-01-01 00:00:00+00')
GROUP BY run_id
ORDER BY max(captured_at) DESC, run_id DESC
"""


def unpublished_newer_balance_runs(warehouse: Warehouse) -> list[str]:
    """Runs whose balances are newer than every published sync but not published, newest first."""
    return [str(run) for run in warehouse.query(_UNPUBLISHED_NEWER_BALANCE_RUNS)["run_id"]]


def latest_published_balances(warehouse: Warehouse) -> pd.DataFrame:
    """The balances of the newest published sync."""
    return warehouse.query(
        "SELECT * FROM published.tradier_balances WHERE run_id = (SELECT run_id FROM "
        "published.tradier_balances ORDER BY captured_at DESC, run_id DESC LIMIT 1)"
    )


def latest_published_snapshot_run(warehouse: Warehouse) -> pd.DataFrame:
    """The snapshot rows of the newest published sync."""
    return warehouse.query(
        "SELECT * FROM published.portfolio_snapshots WHERE run_id = "
        "(SELECT run_id FROM published.portfolio_snapshots ORDER BY captured_at DESC LIMIT 1)"
    )


def newest_snapshot_time(warehouse: Warehouse) -> pd.DataFrame:
    """One row, column ``latest``: the newest published capture time (NaT when none)."""
    return warehouse.query("SELECT max(captured_at) AS latest FROM published.portfolio_snapshots")


def newest_snapshot_time_per_account(warehouse: Warehouse) -> pd.DataFrame:
    """``account_id, latest``: each account's newest published capture time."""
    return warehouse.query(
        "SELECT account_id, max(captured_at) AS latest FROM published.portfolio_snapshots GROUP BY account_id"
    )


def _as_of(column: str, as_of: datetime | None) -> tuple[str, list[object]]:
    """A ``WHERE`` condition keeping rows captured by ``as_of`` (a pinned clock reads as of then)."""
    return ("TRUE", []) if as_of is None else (f"{column} <= ?", [as_of])


def latest_snapshot_per_account(
    warehouse: Warehouse, as_of: datetime | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each account's newest published snapshot row (taken by ``as_of``), by account id; only
    ``columns`` when given."""
    where, params = _as_of("captured_at", as_of)
    return warehouse.query(
        f"SELECT {_chosen(columns)} FROM published.portfolio_snapshots WHERE {where} "
        "QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY captured_at DESC) = 1 "
        "ORDER BY account_id",
        params,
    )


def latest_sync_failure_per_account(warehouse: Warehouse, as_of: datetime | None = None) -> pd.DataFrame:
    """``account_id, failed_at, error_class``: each account's newest published sync failure (by ``as_of``)."""
    where, params = _as_of("captured_at", as_of)
    return warehouse.query(
        "SELECT account_id, max(captured_at) AS failed_at, arg_max(error_class, captured_at) AS error_class "
        f"FROM published.sync_failures WHERE {where} GROUP BY account_id",
        params,
    )


# -- market data, recommendations ------------------------------------------------------------------


def published_chain_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """The published option chain a run fetched (empty when it fetched none)."""
    return warehouse.query("SELECT * FROM published.spx_option_chain WHERE run_id = ?", [run_id])


def latest_published_chain(warehouse: Warehouse, as_of: datetime | None = None) -> pd.DataFrame:
    """The newest published option chain fetch (captured by ``as_of``)."""
    where, params = _as_of("captured_at", as_of)
    return warehouse.query(
        "SELECT * FROM published.spx_option_chain WHERE run_id = "
        f"(SELECT run_id FROM published.spx_option_chain WHERE {where} "
        "ORDER BY captured_at DESC, run_id DESC LIMIT 1)",
        params,
    )


def tradable_recommendations_of_latest_run(warehouse: Warehouse, trading_day: date) -> pd.DataFrame:
    """Unblocked, sized rows for ``trading_day`` of the newest published recommendations run."""
    return warehouse.query(
        "SELECT * FROM published.contract_recommendations WHERE run_id = (SELECT run_id FROM "
        "published.contract_recommendations ORDER BY generated_at DESC, run_id DESC LIMIT 1) "
        "AND as_of_date = ? AND NOT blocked AND suggested_contracts >= 1 AND symbol IS NOT NULL "
        "ORDER BY setup_id, account_id",
        [trading_day],
    )


def recommendations_of_latest_run(
    warehouse: Warehouse,
    trading_day: date,
    as_of: datetime | None = None,
    prefer_run_id: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every row (tradable and blocked) for ``trading_day`` of one published recommendations run:
    ``prefer_run_id``'s when it made some, else the newest generated by ``as_of``; only ``columns``
    when given (a step handing the rows on pickles every column it read)."""
    chosen = _chosen(columns)
    if prefer_run_id is not None:
        own = warehouse.query(
            f"SELECT {chosen} FROM published.contract_recommendations WHERE run_id = ? AND as_of_date = ? "
            "ORDER BY setup_id, account_id",
            [prefer_run_id, trading_day],
        )
        if not own.empty:
            return own
    where, params = _as_of("generated_at", as_of)
    return warehouse.query(
        f"SELECT {chosen} FROM published.contract_recommendations WHERE run_id = (SELECT run_id FROM "
        f"published.contract_recommendations WHERE {where} ORDER BY generated_at DESC, run_id DESC LIMIT 1) "
        "AND as_of_date = ? ORDER BY setup_id, account_id",
        [*params, trading_day],
    )


# -- checks --------------------------------------------------------------------------------------


def rows_of_run(
    warehouse: Warehouse, table: str, run_id: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every row of ``table`` a run wrote, published or not (what a check of that run judges);
    only ``columns`` when given (a check over 60,000 tickets reads two of their columns)."""
    name = _q(warehouse.check_table(table))
    return warehouse.query(f"SELECT {_chosen(columns)} FROM {name} WHERE run_id = ?", [run_id])


def _chosen(columns: Sequence[str] | None) -> str:
    """A select list: ``columns`` quoted, or every column."""
    return ", ".join(_q(c) for c in columns) if columns else "*"


def credential_accounts(warehouse: Warehouse) -> pd.DataFrame:
    """``account_id`` of every credential copied into the warehouse."""
    return warehouse.query("SELECT account_id FROM broker_credentials")


def balance_accounts_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """``account_id`` of every account whose balances a run fetched."""
    return warehouse.query("SELECT account_id FROM tradier_balances WHERE run_id = ?", [run_id])


def balance_failures_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """``account_id, error_class, message`` of every account whose balances a run failed to fetch."""
    return warehouse.query(
        "SELECT account_id, error_class, message FROM sync_failures WHERE run_id = ? AND stage = 'balances'",
        [run_id],
    )


def duplicate_keys(warehouse: Warehouse, table: str, keys: Sequence[str], *, limit: int = 20) -> pd.DataFrame:
    """Up to ``limit`` key values that more than one row of ``table`` holds, with their count ``n``."""
    name = warehouse.check_table(table)
    key_list = ", ".join(_q(k) for k in keys)
    return warehouse.query(
        f"SELECT {key_list}, count(*) AS n FROM {_q(name)} GROUP BY {key_list} "
        f"HAVING count(*) > 1 LIMIT {int(limit)}"
    )
