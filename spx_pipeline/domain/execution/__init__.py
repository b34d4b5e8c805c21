"""Execution: placement rules, fill fidelity, position reconciliation and slippage guardrails.

Pure functions over plain records, so the Dagster assets, the CLI and the tests share one set of
rules and the broker's wire never leaks in.
"""

from spx_pipeline.domain.execution.fidelity import (
    BrokerOrderLeg,
    FidelityRow,
    MatchKind,
    TicketLeg,
    match_fidelity,
)
from spx_pipeline.domain.execution.guardrails import (
    Guardrail,
    GuardrailPolicy,
    SlippageSample,
    SlippageStats,
    guardrail_for,
    guardrails,
    quantile,
    slippage_stats,
)
from spx_pipeline.domain.execution.placement import PlacementRecord, PlacementRefused, check_environment
from spx_pipeline.domain.execution.reconciliation import (
    DIFFERENCES,
    FilledQuantity,
    ReconciliationRow,
    ReconciliationStatus,
    implied_positions,
    reconcile_account,
)
from spx_pipeline.domain.execution.slippage import Slippage, realized_slippage

__all__ = [
    "DIFFERENCES",
    "BrokerOrderLeg",
    "FidelityRow",
    "FilledQuantity",
    "Guardrail",
    "GuardrailPolicy",
    "MatchKind",
    "PlacementRecord",
    "PlacementRefused",
    "ReconciliationRow",
    "ReconciliationStatus",
    "Slippage",
    "SlippageSample",
    "SlippageStats",
    "TicketLeg",
    "check_environment",
    "guardrail_for",
    "guardrails",
    "implied_positions",
    "match_fidelity",
    "quantile",
    "realized_slippage",
    "reconcile_account",
    "slippage_stats",
]
