"""A planted broker token must never leak, keys fail closed, live is opt-in, previews never place.

The planted token is a real credential here: the local Tradier server accepts it, so the sync,
chain fetch and order previews all send it. Every place a run leaves text behind is then searched
for it (and for its random part alone, in case something truncates or re-encodes the prefix).
The order-preview promise is checked in that same full run with previews, to pay for it once.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests
from dagster._serdes import serialize_value
from requests.adapters import HTTPAdapter

from spx_pipeline.cli import main
from spx_pipeline.definitions import build_definitions
from spx_pipeline.emulator import FaultConfig, demo_accounts
from spx_pipeline.resources import TradierResource
from spx_pipeline.storage.app.credentials import CredentialStore, generate_key
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

FULL_RUN_CONFIG = {
    "ops": {
        "contract_recommendations": {"config": {"max_risk_dollars": 2500.0}},
        "order_tickets": {"ops": {"preview_order_payloads": {"config": {"preview": True}}}},
    }
}


@dataclasses.dataclass
class Planted:
    token: str
    account_id: str

    @property
    def needles(self) -> tuple[bytes, ...]:
        secret_part = self.token.rsplit("-", 1)[1]
        return (self.token.encode(), secret_part.encode())

    def assert_absent(self, where: str, data: bytes | str) -> None:
        blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
        for needle in self.needles:
            assert needle not in blob, f"planted token found in {where}"


@pytest.fixture
def planted() -> Planted:
    return Planted(token=f"PLANTED-tok-{uuid.uuid4().hex}", account_id="VA00000003")


@pytest.fixture
def env(pipeline_env_factory: PipelineEnvFactory, planted: Planted) -> PipelineEnv:
    accounts = [
        dataclasses.replace(a, token=planted.token) if a.account_id == planted.account_id else a
        for a in demo_accounts()
    ]
    return pipeline_env_factory(accounts=accounts)


def files_under(root: Path) -> Iterator[Path]:
    yield from (p for p in sorted(root.rglob("*")) if p.is_file())


@pytest.mark.slow
def test_planted_token_appears_nowhere_a_run_leaves_text(
    env: PipelineEnv,
    planted: Planted,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The token really is in play: stored (encrypted) and accepted by the broker.
    [stored] = [c for c in env.credential_store().active_credentials() if c.account_id == planted.account_id]
    assert stored.token.reveal() == planted.token

    ok = env.run("full_pipeline_job", FULL_RUN_CONFIG)
    assert ok.success
    assert env.count("tradier_balances", "account_id = ?", [planted.account_id]) == 1
    assert (
        env.count("order_tickets", "account_id = ? AND preview_status = 'ok'", [planted.account_id]) >= 1
    ), "the planted account's entry was previewed with its token"
    # Previews never place orders: every POST was a preview, and the broker holds no order.
    previews = env.emulator.request_count("/v1/accounts", method="POST")
    assert previews >= 1 and env.count("order_tickets", "preview_status = 'ok'") == previews
    assert all(env.emulator.orders(a.account_id) == [] for a in env.accounts)

    errors: list[str] = []
    # 401 through the whole graph (the preview of the planted account's ticket fails too); 500 on the sync.
    for status, job in ((401, "full_pipeline_job"), (500, "portfolio_sync_job")):
        env.emulator.set_faults(
            FaultConfig(failing_accounts=frozenset({planted.account_id}), failing_status=status)
        )
        failed = env.run(job, FULL_RUN_CONFIG if job == "full_pipeline_job" else None)
        assert (
            env.count("sync_failures", "run_id = ? AND account_id = ?", [failed.run_id, planted.account_id])
            == 1
        )
        errors += env.warehouse().query("SELECT message FROM sync_failures")["message"].tolist()
        errors += [
            str(e.event_specific_data.error)
            for e in failed.all_events
            if e.event_type.value == "STEP_FAILURE"
        ]
    assert any("TradierAuthError" in e or "401" in e for e in errors) and len(errors) >= 2

    # Warehouse file (and any write-ahead log beside it).
    for path in env.warehouse_path.parent.glob(env.warehouse_path.name + "*"):
        planted.assert_absent(str(path), path.read_bytes())
    # App database: only ciphertext.
    for path in env.root.glob("app.sqlite*"):
        planted.assert_absent(str(path), path.read_bytes())
    # Every event of every run, serialized as the instance stores it.
    runs = env.instance.get_runs()
    assert len(runs) == 3
    for run in runs:
        for record in env.instance.get_records_for_run(run.run_id).records:
            planted.assert_absent(f"event log of run {run.run_id}", serialize_value(record.event_log_entry))
        planted.assert_absent("run config", serialize_value(run))
    # Compute logs, run storage, schedules: everything under the instance's directory.
    instance_root = Path(env.instance.root_directory)
    assert any(files_under(instance_root))
    for path in files_under(instance_root):
        planted.assert_absent(str(path), path.read_bytes())
    # Exception texts, captured output and log records.
    planted.assert_absent("exception texts", "\n".join(errors))
    out, err = capfd.readouterr()
    planted.assert_absent("stdout", out)
    planted.assert_absent("stderr", err)
    assert caplog.records, "DEBUG logging was captured"
    planted.assert_absent("log records", "\n".join(r.getMessage() + repr(r.args) for r in caplog.records))


def test_cli_never_prints_the_token(
    sqlite_app_db_url: str,
    credentials_key: str,
    planted: Planted,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transcript = ""

    def cli(*argv: str, stdin: str = "") -> int:
        nonlocal transcript
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--db-url", sqlite_app_db_url])
        out, err = capsys.readouterr()
        transcript += out + err
        return code

    assert cli("credentials", "add", "--account-id", planted.account_id, stdin=planted.token + "\n") == 0
    assert cli("credentials", "list") == 0
    assert cli("credentials", "rotate", planted.account_id, stdin=planted.token + "x\n") == 0
    assert cli("credentials", "add", "--account-id", planted.account_id, stdin=planted.token + "\n") != 0
    assert planted.account_id in transcript
    planted.assert_absent("CLI output", transcript)


@pytest.mark.parametrize("key", [None, "wrong"], ids=["missing-key", "wrong-key"])
def test_missing_or_wrong_key_fails_closed_and_syncs_nothing(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    if key is None:
        monkeypatch.delenv("SPX_CREDENTIALS_KEY")
        expected = "SPX_CREDENTIALS_KEY is not set"
    else:
        monkeypatch.setenv("SPX_CREDENTIALS_KEY", generate_key())
        expected = "SPX_CREDENTIALS_KEY does not match the stored tokens"
    result = pipeline_env.run("portfolio_sync_job")
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "broker_credentials"
    assert expected in str(failure.event_specific_data.error)
    assert pipeline_env.emulator.request_count() == 0
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert started == {"broker_credentials"}
    if pipeline_env.warehouse_path.exists():
        assert pipeline_env.count("tradier_balances") == 0


def test_the_production_host_is_refused_and_nothing_is_sent(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADIER_ALLOW_LIVE", raising=False)
    sent: list[str] = []
    real_send = HTTPAdapter.send

    def spy(self: HTTPAdapter, request: requests.PreparedRequest, *args: object, **kwargs: object) -> object:
        sent.append(str(request.url))  # every path a request can take ends in an adapter's send
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", spy)
    live = TradierResource(base_url="https://api.tradier.com/v1")
    defs = build_definitions({**pipeline_env.resources(), "tradier": live})
    result = defs.resolve_job_def("portfolio_sync_job").execute_in_process(
        instance=pipeline_env.instance, raise_on_error=False
    )
    assert not result.success
    assert sent == []
    assert pipeline_env.emulator.request_count() == 0
    rows = pipeline_env.warehouse().query("SELECT error_class, message FROM sync_failures")
    assert set(rows["error_class"]) == {"LiveTradingNotAllowedError"} and len(rows) == 3
    assert all("refusing the production host api.tradier.com" in m for m in rows["message"])
    assert pipeline_env.count("tradier_balances") == 0


def test_the_trades_step_follows_no_account_on_the_production_host(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reconciliation_job against the live host without TRADIER_ALLOW_LIVE: every account is named
    as not followed (the host is resolved once per environment), and nothing is sent."""
    monkeypatch.delenv("TRADIER_ALLOW_LIVE", raising=False)
    sent: list[str] = []

    def spy(self: HTTPAdapter, request: requests.PreparedRequest, *args: object, **kwargs: object) -> object:
        sent.append(str(request.url))  # and never let it leave: this test's host is the real one
        raise requests.ConnectionError("the test sends nothing beyond this process")

    monkeypatch.setattr(HTTPAdapter, "send", spy)
    live = TradierResource(base_url="https://api.tradier.com/v1")
    defs = build_definitions({**pipeline_env.resources(), "tradier": live})
    result = defs.resolve_job_def("reconciliation_job").execute_in_process(
        instance=pipeline_env.instance, raise_on_error=False
    )
    assert sent == [] and pipeline_env.emulator.request_count() == 0
    messages = [str(record.user_message) for record in pipeline_env.instance.all_logs(result.run_id)]
    refused = sorted(m.split(":")[1].strip() for m in messages if m.startswith("Not followed: "))
    accounts = sorted(CredentialStore(pipeline_env.app_db(), require_key=False).active_account_ids())
    assert refused == accounts and len(accounts) == 3
