"""A broker answering with absurd numbers or another account's figures fails only what it answered.

One account's balance beyond the warehouse's DECIMAL(18,4) (>= 1e14), or beyond what Decimal can
quantize (1e24), or a balances body naming another account, is one ``sync_failures`` row naming
the field and the value; the good accounts' rows are kept. An option chain contract with a number
no market has (1e400, Infinity, a volume of 1e30) is skipped and counted, never an OverflowError.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import dagster as dg
import pytest

from spx_pipeline.broker.tradier import Balances
from spx_pipeline.broker.tradier.errors import TradierMalformedResponseError
from spx_pipeline.broker.tradier.option_chain import chain_frame, screen_chain_rows
from spx_pipeline.emulator import demo_accounts
from spx_pipeline_tests.fixtures.pipeline import PipelineEnvFactory

GOOD, HUGE, HUGER, OTHER = "VA00000001", "VA00000002", "VA00000004", "VA00000003"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("total_equity", "1e14", r"balances\.total_equity is 1E\+14"),
        ("total_cash", -(10**24), r"balances\.total_cash is -1000000000000000000000000"),
        ("margin.option_buying_power", "1e30", r"margin\.option_buying_power is 1E\+30"),
    ],
)
def test_money_beyond_the_warehouse_is_refused_where_the_answer_is_read(
    field: str, value: object, shown: str
) -> None:
    body: dict[str, Any] = {"account_number": "VA1", "account_type": "margin", "margin": {}}
    outer, _, inner = field.partition(".")
    if inner:
        body[outer] = {inner: value}
    else:
        body[outer] = value
    with pytest.raises(TradierMalformedResponseError, match=rf"{shown}, beyond the 1e\+14"):
        Balances.from_json(body, account_number="VA1")


def test_a_pending_orders_count_beyond_an_integer_column_is_refused() -> None:
    body = {"account_number": "VA1", "account_type": "cash", "pending_orders_count": 2**31}
    with pytest.raises(TradierMalformedResponseError, match="pending_orders_count is 2147483648"):
        Balances.from_json(body, account_number="VA1")


def test_a_balances_body_naming_another_account_is_refused() -> None:
    body = {"account_number": "VA99999999", "account_type": "cash", "total_equity": 10}
    with pytest.raises(
        TradierMalformedResponseError,
        match=r"balances\.account_number is 'VA99999999' for a request about VA00000003",
    ):
        Balances.from_json(body, account_number="VA00000003")


def test_one_accounts_absurd_balances_fail_that_account_only(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    accounts = [
        *demo_accounts(),
        dataclasses.replace(demo_accounts()[0], account_id=HUGER, token="fourth-tok"),
    ]
    env = pipeline_env_factory(accounts=accounts)
    book = env.emulator.book
    real = book.balances
    planted: dict[str, dict[str, Any]] = {
        HUGE: {"total_equity": Decimal("1e14")},  # breaks DECIMAL(18,4): the whole write rolled back
        HUGER: {"total_cash": Decimal("1e24")},  # InvalidOperation when quantized to 4 places
        OTHER: {"account_number": "VA99999999"},  # another account's figures
    }

    def balances(account_id: str) -> dict[str, Any]:
        return {**real(account_id), **planted.get(account_id, {})}

    book.balances = balances  # type: ignore[method-assign]
    result = env.run("portfolio_sync_job")
    assert result.success
    wh = env.warehouse()
    stored = wh.query("SELECT account_id FROM tradier_balances WHERE run_id = ?", [result.run_id])
    assert list(stored["account_id"]) == [GOOD]
    snapshots = wh.query("SELECT account_id FROM portfolio_snapshots WHERE run_id = ?", [result.run_id])
    assert list(snapshots["account_id"]) == [GOOD]
    failures = dict(
        wh.query(
            "SELECT account_id, message FROM sync_failures WHERE run_id = ? AND stage = 'balances'",
            [result.run_id],
        ).itertuples(index=False, name=None)
    )
    assert set(failures) == {HUGE, HUGER, OTHER}
    assert "balances.total_equity is 100000000000000" in failures[HUGE]
    assert "balances.total_cash is 1000000000000000000000000" in failures[HUGER]
    assert "'VA99999999' for a request about VA00000003" in failures[OTHER]
    assert env.count("tradier_balances", "account_id = 'VA99999999'") == 0


def test_chain_contracts_with_absurd_numbers_are_skipped_and_counted() -> None:
    base = {"symbol": "SPXW261218C06000000", "root_symbol": "SPXW", "bid": Decimal("1.1"), "greeks": None}
    rows = [
        base,
        {**base, "symbol": "A", "bid": 10**400},
        {**base, "symbol": "B", "ask": float("inf")},
        {**base, "symbol": "C", "volume": Decimal("1e30")},
        {**base, "symbol": "D", "greeks": {"delta": float("nan")}},
        {**base, "symbol": "E", "last": "Infinity"},
        {**base, "symbol": "F", "bid_date": Decimal("1e400")},
    ]
    screened = screen_chain_rows(rows)
    assert [row["symbol"] for row in screened.rows] == [base["symbol"]]
    assert [reason.split(":")[0] for reason in screened.skipped] == list("ABCDEF")
    assert "C: volume is Decimal('1E+30')" in screened.skipped
    assert len(chain_frame(screened.rows)) == 1
    with pytest.raises(OverflowError):  # what the asset met before: one contract sank the chain
        chain_frame(rows)


def test_the_chain_asset_skips_and_counts_contracts_with_absurd_numbers(
    pipeline_env_factory: PipelineEnvFactory,
) -> None:
    env = pipeline_env_factory()
    market = env.emulator.market
    real_chain = market.chain
    planted: set[str] = set()
    poison = [("bid", Decimal("1e400")), ("volume", Decimal("1e30")), ("last", "Infinity")]

    def chain(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = real_chain(*args, **kwargs)
        for row, (field, value) in zip(rows, poison, strict=False):
            row[field] = value
            planted.add(row["symbol"])
        return rows

    market.chain = chain  # type: ignore[method-assign]
    job = env.defs.resolve_job_def("recommendations_job")
    result = job.execute_in_process(
        instance=env.instance, asset_selection=[dg.AssetKey("spx_option_chain")], raise_on_error=False
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("spx_option_chain")
    assert materialization.metadata["skipped_contracts"].value == len(planted) > 0
    stored = env.warehouse().query("SELECT symbol FROM spx_option_chain WHERE run_id = ?", [result.run_id])
    assert len(stored) > 0 and not planted & set(stored["symbol"])
