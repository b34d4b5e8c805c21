"""A runner stop-limit offset that leaves no tick below its stop is refused before it can spend budget.

With a ``stop_premium`` the stop is known when the setup is entered, so ``Setup`` refuses it; a
breakeven runner stops at the entry, so its rows are blocked (with the reason) once the entry is.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from spx_pipeline.domain.contract_selection import recommend
from spx_pipeline.domain.orders import build_ticket_legs
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.emulator.sample_data import synthetic_spx_chain

D = Decimal
AS_OF = date(2026, 11, 24)
RICH = RiskContext(
    max_risk_dollars=5000,
    max_daily_risk_dollars=5000,
    pdt_qualified=True,
    day_trade_buying_power=40000,
    option_buying_power=20000,
    account_type="pdt",
)


@pytest.mark.parametrize(
    ("stop", "offset", "would_be"),
    [
        ("0.05", "0.10", "-0.05"),
        ("0.05", "0.05", "0.00"),
        ("0.50", "0.60", "-0.10"),
        ("0.03", "0.01", "0.04"),
    ],
)
def test_an_offset_leaving_no_tick_below_the_stop_is_refused_naming_both(
    stop: str, offset: str, would_be: str
) -> None:
    with pytest.raises(ValueError) as refused:
        Setup("s", "bullish", stop_premium=D(stop), runner_stop_limit_offset=D(offset))
    message = str(refused.value)
    assert f"runner_stop_limit_offset {offset}" in message and f"stop_premium {stop}" in message
    assert f"would be {would_be}" in message and "\n" not in message


@pytest.mark.parametrize(("stop", "offset"), [("0.50", "0.10"), ("0.10", "0.05"), ("3.20", "0.25")])
def test_an_offset_below_the_stop_is_accepted_and_can_be_ticketed(stop: str, offset: str) -> None:
    setup = Setup("s", "bullish", stop_premium=D(stop), runner_stop_limit_offset=D(offset))
    row = {"symbol": "SPXW261124C06000000", "suggested_contracts": 3, "limit_price": D("5.00")}
    legs = build_ticket_legs(row, setup)
    assert D(legs["runner_stop"]["price"]) > 0


@pytest.fixture(scope="module")
def chain() -> pd.DataFrame:
    return synthetic_spx_chain(AS_OF)


def test_a_breakeven_runner_whose_offset_reaches_the_entry_is_blocked_and_books_no_budget(
    chain: pd.DataFrame,
) -> None:
    # No stop premium: the runner stops at the entry; an offset of 10,000 leaves nothing below it.
    doomed = Setup("a-doomed", "bullish", runner_stop_limit_offset=D("10000"), priority=0)
    fine = Setup("b-fine", "bullish", priority=1)
    rows = recommend(chain, [doomed, fine], {"VA1": RICH}, AS_OF).set_index("setup_id")
    bad = rows.loc["a-doomed"]
    assert bad["blocked"] and bad["suggested_contracts"] == 0
    assert bad["suggested_cost"] == 0 and bad["binding_constraint"] == "runner_stop"
    assert "runner_stop_limit_offset 10000" in bad["blocked_reason"] and "breakeven" in bad["blocked_reason"]
    # The budget the doomed row would have taken goes to the next setup, as if it were not there.
    alone = recommend(chain, [fine], {"VA1": RICH}, AS_OF).set_index("setup_id").loc["b-fine"]
    assert rows.loc["b-fine", "suggested_contracts"] == alone["suggested_contracts"] > 0


def test_a_breakeven_runner_with_room_below_the_entry_is_sized(chain: pd.DataFrame) -> None:
    setup = Setup("ok", "bullish", runner_stop_limit_offset=D("0.05"))
    [row] = recommend(chain, [setup], {"VA1": RICH}, AS_OF).to_dict("records")
    assert not row["blocked"] and row["suggested_contracts"] > 0
