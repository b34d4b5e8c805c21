"""The balances step decrypts each token once, builds one redactor, and fetches with the collector paused.

The step's requests and its last-gate redaction share the same decrypted tokens and the same
redactor (``ShardInputs``); what it stores is what the broker answered, every token taken out.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from spx_pipeline.broker.secrets import Redactor, token_fingerprint
from spx_pipeline.broker.tradier import AccountCredential, BalanceResult, Balances, TradierError
from spx_pipeline.defs.portfolio.balance_steps import fetch_balances
from spx_pipeline.defs.shards import ShardInputs
from spx_pipeline.storage.app.credentials import StoredCredential
from spx_pipeline_tests.fixtures.secrets import CountedStore

PLANTED = "PLANTEDtoken-for-the-step-0001"


class FakeTradier:
    """Answers for the resource: one balance echoing the planted token, one failure quoting it."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[AccountCredential], Redactor | None, bool]] = []

    def fetch_balances(
        self, credentials: Sequence[AccountCredential], *, redactor: Redactor | None = None
    ) -> list[BalanceResult]:
        self.seen.append((list(credentials), redactor, gc.isenabled()))
        for credential in credentials:
            credential.token.reveal()  # what the transport does per request
        good, bad = credentials
        body = {"account_type": "cash", "total_equity": "10.00", "note": PLANTED}
        return [
            BalanceResult(
                good.account_id, Balances.from_json(body, account_number=good.account_id), None, 0.1
            ),
            BalanceResult(bad.account_id, None, TradierError(f"refused {PLANTED}"), 0.1),
        ]


def inputs(store: CountedStore, tradier: Any) -> ShardInputs:
    credentials = [
        StoredCredential("VA00000001", None, "sandbox", store.token(PLANTED)),
        StoredCredential("VA00000002", None, "sandbox", store.token(PLANTED)),
    ]
    return ShardInputs(credentials, tradier, "run-1", datetime(2026, 1, 5, 15, tzinfo=UTC), None)


def test_the_step_decrypts_once_builds_one_redactor_and_stores_no_token() -> None:
    store, tradier = CountedStore(), FakeTradier()
    step = inputs(store, tradier)
    was_enabled = gc.isenabled()
    part = fetch_balances(step)
    assert gc.isenabled() == was_enabled
    [(credentials, redactor, collecting)] = tradier.seen
    assert redactor is step.redactor() and step.redactor() is step.redactor()
    assert not collecting  # the collector was paused around the fetch
    assert store.decryptions == {PLANTED: 1}
    assert [c.token.fingerprint for c in credentials] == [token_fingerprint(PLANTED)] * 2
    assert PLANTED not in repr(step) and PLANTED not in repr(credentials)
    stored = part.balances.to_csv() + part.failures.to_csv()
    assert PLANTED not in stored and "***" in part.balances["raw_json"][0]
    assert part.failures["message"].tolist() == ["refused ***"]
