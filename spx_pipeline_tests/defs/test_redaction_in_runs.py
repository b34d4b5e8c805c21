"""A broker that echoes the Authorization header: no spelling of any token is stored or logged.

The local Tradier server is made to put every request's bearer header (plain, base64 and the
other accounts' tokens) into each balances body. A sync stores those bodies as ``raw_json`` in
the warehouse, exports them to the analyst copy and logs through Dagster: none may hold a token.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from dagster._serdes import serialize_value

from spx_pipeline.emulator import FaultConfig, demo_accounts
from spx_pipeline.emulator.echo import ECHO_SPELLINGS
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory
from spx_pipeline_tests.fixtures.stores import both_backends


def _everything_the_run_left(env: Any, run_id: str) -> dict[str, bytes]:
    """Every file under the run's root, and its event log, by name."""
    blobs = {str(path): path.read_bytes() for path in Path(env.root).rglob("*") if path.is_file()}
    blobs["event log"] = b"".join(
        serialize_value(r.event_log_entry).encode() for r in env.instance.get_records_for_run(run_id).records
    )
    return blobs


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
    blobs = _everything_the_run_left(env, result.run_id)
    assert any("_published" in name for name in blobs), "the analyst copy was searched too"
    for name, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"a token spelling is in {name}"


# Tokens with characters every encoding changes (/, +, =) and letters of both cases, so that each
# spelling the redactor claims (case, percent-encoding, base64, with or without "Bearer ") differs.
PLANTED = ("TokPlanted/Margin+Key=0001aB", "TokPlanted/Cash+Key=0002cD")


def _spelled(token: str) -> list[bytes]:
    """What must be in no file: the token in any case (compared folded) and its encodings."""
    from urllib.parse import quote

    headers = [f"Bearer {token}", f"BEARER {token.upper()}", f"bearer {token.lower()}"]
    encoded = [token, token.upper(), token.lower(), *headers]
    needles = [quote(text, safe="") for text in encoded]
    needles += [base64.b64encode(text.encode()).decode()[:24] for text in encoded]
    return [n.encode() for n in needles if n]


@both_backends
def test_a_broker_echoing_the_token_in_every_spelling_leaves_none_in_any_file(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    """The local server echoes each request's Authorization header upper-cased, lower-cased, mixed,
    without "Bearer ", percent-encoded and base64-encoded into every answer of a real sync; every
    file the run leaves (warehouse, its run scratch files, the analysts' copy, the app database)
    and the run's event log are searched, case-insensitively for the token itself."""
    accounts = [
        dataclasses.replace(account, token=token)
        for account, token in zip(demo_accounts()[:2], PLANTED, strict=True)
    ]
    env = pipeline_env_factory(
        accounts=accounts, faults=FaultConfig(echo_authorization=tuple(ECHO_SPELLINGS))
    )
    result = env.run("portfolio_sync_job")
    assert result.success
    assert {r.fault for r in env.emulator.request_log()} >= {"echo_authorization"}
    raw = env.warehouse().query("SELECT raw_json FROM published.tradier_balances")["raw_json"]
    assert len(raw) == 2 and all(text.count("***") >= len(ECHO_SPELLINGS) for text in raw)
    blobs = _everything_the_run_left(env, result.run_id)
    assert any("_published" in name for name in blobs), "the analyst copy was searched too"
    for name, blob in blobs.items():
        folded = blob.lower()
        for token in PLANTED:
            assert token.lower().encode() not in folded, f"the token (some case) is in {name}"
            for needle in _spelled(token):
                assert needle not in blob, f"a spelling {needle!r} of the token is in {name}"
