"""Bad input gets a clear error naming the field and the value, and nothing already good is lost.

Covered: malformed option symbols (pure and from the broker in a run), negative and NaN money,
an unknown account type from the broker, a setup with a bad direction, an empty token.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from spx_pipeline.broker.tradier import Balances
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.cli import main
from spx_pipeline.domain.occ import OptionSymbolError
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.emulator import EmulatedAccount, demo_accounts
from spx_pipeline.storage.app.credentials import CredentialError, CredentialStore
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.setups import SetupError, SetupStore
from spx_pipeline.transformations.chain import chain_rows
from spx_pipeline.transformations.portfolio import risk_contexts
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv, PipelineEnvFactory

BAD_SYMBOL = "SPXW261318C06000000"  # month 13


def step_error(result: dg.ExecuteInProcessResult, step: str) -> str:
    [failure] = [
        e
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE and e.step_key == step
    ]
    return str(failure.event_specific_data.error)


# -- malformed option symbols ------------------------------------------------------------------


def test_chain_rows_refuse_a_malformed_symbol_by_name() -> None:
    frame = pd.DataFrame(
        {"symbol": ["SPXW261218C06000000", BAD_SYMBOL], "root_symbol": ["SPXW", "SPXW"], "bid": [1.0, 2.0]}
    )
    with pytest.raises(OptionSymbolError, match=BAD_SYMBOL):
        chain_rows(frame, trading_day=date(2026, 11, 24), run_id="r", captured_at=datetime.now(UTC))


def test_a_malformed_symbol_from_the_broker_fails_the_chain_step_and_keeps_the_last_chain(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain_only = {"asset_selection": [dg.AssetKey("spx_option_chain")]}
    job = pipeline_env.defs.resolve_job_def("recommendations_job")
    good = job.execute_in_process(instance=pipeline_env.instance, **chain_only)
    kept = pipeline_env.count("spx_option_chain", "run_id = ?", [good.run_id])
    assert kept > 0

    market = pipeline_env.emulator.market
    real_chain = market.chain

    def chain_with_a_bad_symbol(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = real_chain(*args, **kwargs)
        return [{**rows[0], "symbol": BAD_SYMBOL}, *rows[1:]]

    monkeypatch.setattr(market, "chain", chain_with_a_bad_symbol)
    bad = job.execute_in_process(instance=pipeline_env.instance, raise_on_error=False, **chain_only)
    assert not bad.success
    assert BAD_SYMBOL in step_error(bad, "spx_option_chain")
    assert pipeline_env.count("spx_option_chain", "run_id = ?", [bad.run_id]) == 0
    assert pipeline_env.count("spx_option_chain", "run_id = ?", [good.run_id]) == kept


# -- money -----------------------------------------------------------------------------------


def test_negative_buying_power_is_rejected_by_name_and_the_other_accounts_are_snapshotted(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    overdrawn = EmulatedAccount(
        account_id="VA00000077",
        token="overdrawn-token-77",
        account_type="margin",
        total_equity=Decimal("9000"),
        cash=Decimal("-500"),
        option_buying_power=Decimal("-1250.50"),
    )
    env = pipeline_env_factory(accounts=[*demo_accounts(), overdrawn])
    result = env.run("portfolio_sync_job")
    assert result.success
    snapshots = env.warehouse().query(
        "SELECT account_id FROM portfolio_snapshots WHERE run_id = ? ORDER BY account_id", [result.run_id]
    )
    assert list(snapshots["account_id"]) == [a.account_id for a in demo_accounts()]
    [(stage, error_class, message)] = (
        env.warehouse()
        .query(
            "SELECT stage, error_class, message FROM sync_failures WHERE run_id = ? AND account_id = ?",
            [result.run_id, overdrawn.account_id],
        )
        .itertuples(index=False, name=None)
    )
    assert (stage, error_class) == ("snapshot_validation", "SchemaError")
    assert "option_buying_power" in message and "-1250.5" in message
    # Nothing lost: the broker's answer is kept as fetched, raw JSON included.
    raw = env.warehouse().query(
        "SELECT option_buying_power, raw_json FROM tradier_balances WHERE run_id = ? AND account_id = ?",
        [result.run_id, overdrawn.account_id],
    )
    assert float(raw["option_buying_power"].iloc[0]) == -1250.5 and "-1250.5" in raw["raw_json"].iloc[0]
    [materialization] = result.asset_materializations_for_node("portfolio_snapshots")
    assert materialization.metadata["rows_rejected"].value == 1


@pytest.mark.parametrize("field", ["option_buying_power", "cash_available", "day_trade_buying_power"])
@pytest.mark.parametrize("value", [float("nan"), "NaN", Decimal("NaN"), float("inf"), -1])
def test_risk_context_refuses_nan_infinite_and_negative_money_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        RiskContext(account_type="margin", **{field: value})  # type: ignore[arg-type]


def test_a_nan_snapshot_never_becomes_a_risk_context() -> None:
    snapshots = pd.DataFrame(
        {
            "account_id": ["VA1"],
            "captured_at": [pd.Timestamp("2026-11-24T15:00Z")],
            "account_type": ["margin"],
            "option_buying_power": [float("nan")],
            "day_trade_buying_power": [None],
            "pdt_qualified": [False],
        }
    )
    with pytest.raises(ValueError, match="option_buying_power"):
        risk_contexts(snapshots, max_risk_dollars=Decimal("500"))


# -- unknown account types ---------------------------------------------------------------------


def test_client_normalization_names_an_unknown_account_type() -> None:
    payload = {
        "account_number": "VA1",
        "account_type": "ira",
        "total_equity": 1000,
        "cash": {"cash_available": 5},
    }
    with pytest.raises(
        TradierMalformedResponseError, match=r"balances\.account_type is 'ira' for account VA1"
    ):
        Balances.from_json(payload)


def test_an_unknown_account_type_from_the_broker_is_recorded_and_the_rest_synced(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = pipeline_env.emulator.book
    real_balances = book.balances
    odd = "VA00000002"

    def balances(account_id: str) -> dict[str, Any]:
        body = real_balances(account_id)
        return {**body, "account_type": "ira"} if account_id == odd else body

    monkeypatch.setattr(book, "balances", balances)
    result = pipeline_env.run("portfolio_sync_job")
    assert result.success
    synced = pipeline_env.warehouse().query(
        "SELECT account_id FROM portfolio_snapshots WHERE run_id = ? ORDER BY account_id", [result.run_id]
    )
    assert list(synced["account_id"]) == ["VA00000001", "VA00000003"]
    [(error_class, message)] = (
        pipeline_env.warehouse()
        .query(
            "SELECT error_class, message FROM sync_failures WHERE run_id = ? AND account_id = ?",
            [result.run_id, odd],
        )
        .itertuples(index=False, name=None)
    )
    assert error_class == "TradierMalformedResponseError"
    assert "balances.account_type is 'ira'" in message


# -- setups and credentials --------------------------------------------------------------------


def test_a_setup_with_a_bad_direction_is_refused_by_name_and_nothing_is_lost(
    sqlite_app_db: AppDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SetupStore(sqlite_app_db)
    store.add(setup_id="keep-me", direction="bullish")
    with pytest.raises(SetupError, match="direction 'sideways' is not valid"):
        store.add(setup_id="bad-one", direction="sideways")
    url = sqlite_app_db.engine.url.render_as_string(hide_password=False)
    with pytest.raises(SystemExit) as exited:
        main(["setups", "add", "--direction", "sideways", "--id", "bad-two", "--db-url", url])
    assert exited.value.code == 2
    assert "Invalid value for '--direction': 'sideways' is not one of" in capsys.readouterr().err
    assert [s.id for s in store.list()] == ["keep-me"]


@pytest.mark.parametrize("token", ["", "   \n"], ids=["empty", "blank"])
def test_a_credential_with_an_empty_token_is_refused_and_nothing_is_lost(
    sqlite_app_db: AppDatabase,
    credentials_key: str,
    token: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = CredentialStore(sqlite_app_db, key=credentials_key)
    store.add("VA1", "good-token-1")
    with pytest.raises(CredentialError, match="token is empty"):
        store.add("VA2", token)
    url = sqlite_app_db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(token))
    assert main(["credentials", "add", "--account-id", "VA3", "--db-url", url]) == 2
    assert "token on standard input is empty" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(token))
    assert main(["credentials", "rotate", "VA1", "--db-url", url]) == 2
    assert [c.account_id for c in store.list()] == ["VA1"]
    [kept] = store.active_credentials()
    assert kept.token.reveal() == "good-token-1"
