from datetime import UTC, date, datetime

import pandas as pd
import pytest

from spx_pipeline.domain.occ import OptionSymbolError
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.chain import chain_rows, expirations_to_fetch

TUE, WED, THU, FRI = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)


def test_expirations_include_same_day_only_when_listed_then_next_sessions() -> None:
    listed = [date(2026, 11, 23), TUE, WED, FRI, date(2026, 11, 30)]
    assert expirations_to_fetch(listed, TUE) == [TUE, WED, FRI]
    assert expirations_to_fetch(listed, THU) == [FRI, date(2026, 11, 30)]  # holiday: no 0DTE
    assert expirations_to_fetch(listed, TUE, next_sessions=1) == [TUE, WED]
    assert expirations_to_fetch([], TUE) == []


def _frame(symbols: list[str], roots: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": symbols,
            "root_symbol": roots,
            "bid": [1.0] * len(symbols),
            "ask": [1.2] * len(symbols),
            "volume": [10.0] * len(symbols),
            "bid_date": pd.to_datetime([1_764_000_000_000] * len(symbols), unit="ms", utc=True),
            "ask_date": pd.to_datetime([1_764_000_060_000] * len(symbols), unit="ms", utc=True),
        }
    )


def test_chain_rows_parse_symbols_flag_0dte_and_keep_missing_prices_null() -> None:
    frame = _frame(
        ["SPXW261124C06000000", "SPX261218P05950000", "SPY261124C00600000"], ["SPXW", "SPX", "SPY"]
    )
    rows = chain_rows(frame, trading_day=TUE, run_id="r1", captured_at=datetime(2026, 11, 24, 15, tzinfo=UTC))
    assert list(rows.columns) == list(column_names("spx_option_chain"))
    assert list(rows["symbol"]) == ["SPXW261124C06000000", "SPX261218P05950000"]  # SPY dropped
    assert list(rows["symbol_osi"]) == ["SPXW  261124C06000000", "SPX   261218P05950000"]
    assert list(rows["is_0dte"]) == [True, False]
    assert list(rows["option_type"]) == ["call", "put"]
    assert list(rows["strike"]) == [6000.0, 5950.0]
    assert rows["last"].isna().all() and rows["delta"].isna().all()
    # A quote is as fresh as its staler side: the bid's time, not the ask's newer one.
    assert rows["quote_time"].iloc[0] == pd.Timestamp(1_764_000_000_000, unit="ms", tz="UTC")


def test_chain_rows_refuse_a_malformed_symbol_naming_it() -> None:
    frame = _frame(["SPXW261124C06000000", "SPXW261324C06000000"], ["SPXW", "SPXW"])
    with pytest.raises(OptionSymbolError, match="SPXW261324C06000000"):
        chain_rows(frame, trading_day=TUE, run_id="r", captured_at=datetime(2026, 11, 24, tzinfo=UTC))
