"""What the execution assets read from the warehouse: published rows only.

Each reader takes the newest published reading of a row (a leg is re-read by every
reconciliation run), so history accumulates without double counting.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from spx_pipeline.storage.warehouse.store import Warehouse


def tickets_since(warehouse: Warehouse, first_session: date) -> pd.DataFrame:
    """Order tickets of sessions from ``first_session`` on (published runs)."""
    return warehouse.query(
        "SELECT * FROM published.order_tickets WHERE as_of_date >= ? ORDER BY ticket_id", [first_session]
    )


def tickets_by_id(warehouse: Warehouse, ticket_ids: list[str]) -> pd.DataFrame:
    return warehouse.query(
        "SELECT * FROM published.order_tickets WHERE list_contains(?, ticket_id) ORDER BY ticket_id",
        [ticket_ids],
    )


def tickets_of_account(warehouse: Warehouse, account_id: str, session: date) -> pd.DataFrame:
    """The session's tickets of one account whose recommendation is still tradable and unblocked.

    The recommendations table keeps every run's rows; a ticket is judged by the newest run's row
    of its recommendation key (what the table held alone before it kept history).
    """
    return warehouse.query(
        """
        WITH newest AS (
            SELECT * FROM published.contract_recommendations
            WHERE account_id = ? AND as_of_date = ?
            QUALIFY row_number() OVER (
                PARTITION BY as_of_date, setup_id, account_id, risk_fingerprint
                ORDER BY generated_at DESC, run_id DESC) = 1
        )
        SELECT t.* FROM published.order_tickets AS t
        JOIN newest AS r
          ON r.as_of_date = t.as_of_date AND r.setup_id = t.setup_id AND r.account_id = t.account_id
         AND r.risk_fingerprint = t.risk_fingerprint
        WHERE t.account_id = ? AND t.as_of_date = ? AND NOT r.blocked AND r.suggested_contracts > 0
        ORDER BY t.ticket_id
        """,
        [account_id, session, account_id, session],
    )


def orders_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    return warehouse.query("SELECT * FROM tradier_orders WHERE run_id = ?", [run_id])


def positions_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    return warehouse.query("SELECT * FROM tradier_positions WHERE run_id = ?", [run_id])


# The stages of a broker_state read, orders first: without its orders, an account's own fills are
# unknown too, so where both failed the orders' failure is the one to name.
BROKER_STATE_STAGES = ("orders", "positions")


def broker_state_failures(warehouse: Warehouse, run_id: str) -> dict[str, dict[str, str]]:
    """Why a broker_state run did not read an account: stage (``BROKER_STATE_STAGES``, in that
    order) to {account: message}."""
    frame = warehouse.query(
        "SELECT stage, account_id, message FROM sync_failures WHERE run_id = ? AND stage IN (?, ?)",
        [run_id, *BROKER_STATE_STAGES],
    )
    failures: dict[str, dict[str, str]] = {stage: {} for stage in BROKER_STATE_STAGES}
    for stage, account, message in zip(frame["stage"], frame["account_id"], frame["message"], strict=True):
        failures[stage][account] = message
    return failures


def fidelity_history(warehouse: Warehouse, first_session: date) -> pd.DataFrame:
    """The newest published reading of every broker leg of our tickets since ``first_session``."""
    return warehouse.query(
        """
        SELECT * FROM published.execution_fidelity
        WHERE session_date >= ?
        QUALIFY row_number() OVER (
            PARTITION BY ticket_id, order_id, broker_leg ORDER BY captured_at DESC, run_id DESC) = 1
        """,
        [first_session],
    )


def latest_guardrails(warehouse: Warehouse) -> pd.DataFrame:
    """The guardrails of the newest published guardrail run, even one with no rows (empty then).

    Judged by publication, not by rows: a run that found nothing to block must end an older block.
    """
    return warehouse.query(
        "SELECT * FROM published.execution_guardrails "
        f"WHERE run_id = {_latest_published('execution_guardrails')}"
    )


def reconciliation_of_run(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    return warehouse.query("SELECT * FROM position_reconciliation WHERE run_id = ?", [run_id])


def accounts_with_tickets(warehouse: Warehouse, session: date) -> list[str]:
    frame = warehouse.query(
        "SELECT DISTINCT account_id FROM published.order_tickets WHERE as_of_date = ? ORDER BY 1", [session]
    )
    return [str(a) for a in frame["account_id"]]


def _latest_published(stage: str) -> str:
    return f"(SELECT max_by(run_id, seq) FROM run_publications WHERE stage = '{stage}')"


def latest_fills(warehouse: Warehouse) -> pd.DataFrame:
    """Filled legs of the newest published fidelity run."""
    return warehouse.query(
        "SELECT * FROM published.execution_fidelity WHERE filled_quantity > 0 "
        f"AND run_id = {_latest_published('execution_fidelity')}"
    )


def latest_reconciliation_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows per status of the newest published reconciliation."""
    frame = warehouse.query(
        "SELECT status, count(*) AS n FROM published.position_reconciliation "
        f"WHERE run_id = {_latest_published('position_reconciliation')} GROUP BY status ORDER BY status"
    )
    return {str(r.status): int(r.n) for r in frame.itertuples()}


def filled_legs_without_price(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """Fidelity rows of a run that filled contracts but carry no fill price or slippage."""
    return warehouse.query(
        "SELECT ticket_id, order_id, broker_leg FROM execution_fidelity WHERE run_id = ? "
        "AND filled_quantity > 0 "
        "AND (fill_price IS NULL OR (intended_price IS NOT NULL AND slippage_ticks IS NULL))",
        [run_id],
    )
