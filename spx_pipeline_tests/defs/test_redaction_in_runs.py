"""A broker that echoes the Authorization header: no spelling of any token is stored or logged.

The local Tradier server is made to put every request's bearer header (plain, base64 and the
other accounts' tokens) into each balances body. A sync stores those bodies as ``raw_json`` in
the warehouse, exports them to the analyst copy and logs through Dagster: none may hold a token.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from dagster._serdes import serialize_value

from spx_pipeline_tests.fixtures.pipeline import PipelineEnv


def test_bodies_echoing_tokens_are_stored_and_published_redacted(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pipeline_env
    tokens = [a.token for a in env.accounts]
    book = env.emulator.book
    real = book.balances

    def balances(account_id: str) -> dict[str, Any]:
        echoed = [f"Bearer {t}" for t in tokens]
        return {
            **real(account_id),
            "echo": echoed,
            "b64": [base64.b64encode(e.encode()).decode() for e in echoed],
        }

    monkeypatch.setattr(book, "balances", balances)
    result = env.run("portfolio_sync_job")
    assert result.success
    raw = env.warehouse().query("SELECT raw_json FROM published.tradier_balances")["raw_json"]
    assert len(raw) == 3 and all("***" in text for text in raw)
    needles = [t.encode() for t in tokens] + [base64.b64encode(f"Bearer {t}".encode())[:24] for t in tokens]
    blobs: dict[str, bytes] = {
        str(path): path.read_bytes() for path in Path(env.root).rglob("*") if path.is_file()
    }
    blobs["event log"] = b"".join(
        serialize_value(r.event_log_entry).encode()
        for r in env.instance.get_records_for_run(result.run_id).records
    )
    assert any("_published" in name for name in blobs), "the analyst copy was searched too"
    for name, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"a token spelling is in {name}"
