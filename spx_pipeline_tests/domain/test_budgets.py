"""One risk budget per account: setups share buying power, DTBP and the daily max risk, in order.

The property test at the end checks the invariants a risk manager signs off on, over random
accounts x setups x chains: per account the tradable rows never cost more than its buying power
(nor, for same-day rows, its day-trade buying power), every row is tradable xor blocked with a
reason, nothing expires before the session, and the vectorized path says exactly what the scalar
``size_position`` / ``round_to_tick`` say for the same inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from spx_pipeline.domain.contract_selection import SelectionConfig, recommend
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup, setup_order
from spx_pipeline.domain.sizing import Committed, size_position
from spx_pipeline.domain.ticks import round_to_tick
from spx_pipeline.domain.zero_dte import ZeroDtePolicy

D = Decimal
AS_OF = date(2026, 11, 24)  # a Tuesday session
NEXT = date(2026, 11, 25)
EXPIRED = date(2026, 11, 20)
NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 10:30 ET


def _symbol(expiry: date, right: str, strike: int) -> str:
    return f"SPXW{expiry:%y%m%d}{right}{strike * 1000:08d}"


def chain_of(rows: list[dict[str, Any]], *, quoted_at: datetime = NOW) -> pd.DataFrame:
    """A Tradier-shaped chain from (expiry, right, strike, bid, ask, delta[, volume]) rows."""
    stamp = int(quoted_at.timestamp() * 1000)
    return pd.DataFrame(
        [
            {
                "symbol": _symbol(r["expiry"], r["right"], r["strike"]),
                "bid": r["bid"],
                "ask": r["ask"],
                "delta": r["delta"],
                "volume": r.get("volume", 1000),
                "open_interest": 500,
                "bid_date": r.get("bid_date", stamp),
                "ask_date": r.get("ask_date", stamp),
            }
            for r in rows
        ]
    )


def _two_setup_chain(bid: float = 1.10, ask: float = 1.20, expiry: date = AS_OF) -> pd.DataFrame:
    return chain_of(
        [
            {"expiry": expiry, "right": "C", "strike": 6000, "bid": bid, "ask": ask, "delta": 0.40},
            {"expiry": expiry, "right": "P", "strike": 5900, "bid": bid, "ask": ask, "delta": -0.30},
        ]
    )


BULL = Setup("bull", "bullish", target_delta=0.40)
BEAR = Setup("bear", "bearish", target_delta=0.30)


def test_a_cash_accounts_buying_power_is_spent_once_across_its_setups() -> None:
    """The issue's case: $250 of buying power, two setups, 1.15 limit ($115.65 a contract)."""
    cash = RiskContext(max_risk_dollars=2500, cash_available=250, account_type="cash")
    frame = recommend(_two_setup_chain(), [BULL, BEAR], {"VA1": cash}, AS_OF)
    first, second = frame.to_dict(orient="records")
    assert (first["setup_id"], second["setup_id"]) == ("bear", "bull")  # priority 0 both: by id
    assert (first["suggested_contracts"], first["suggested_cost"]) == (2, D("231.3000"))
    assert first["binding_constraint"] == "buying_power" and not first["blocked"]
    assert "capped by buying power $250.00 at $115.65 each" in first["sizing_reason"]
    assert second["suggested_contracts"] == 0 and second["blocked"]
    assert second["binding_constraint"] == "buying_power"
    assert second["blocked_reason"] == (
        "No trade: buying power $18.70 left of $250.00 after earlier setups does not cover one contract "
        "at $115.65."
    )
    tradable = frame[~frame["blocked"]]
    assert sum(tradable["suggested_cost"]) <= D(250)


def test_setups_are_sized_in_priority_order_then_by_id() -> None:
    cash = RiskContext(max_risk_dollars=2500, cash_available=250, account_type="cash")
    urgent_bull = Setup("zz-bull", "bullish", target_delta=0.40, priority=-1)
    frame = recommend(_two_setup_chain(), [BEAR, urgent_bull], {"VA1": cash}, AS_OF)
    assert list(frame["setup_id"]) == ["zz-bull", "bear"]
    assert list(frame["suggested_contracts"]) == [2, 0]
    assert [s.setup_id for s in setup_order([BULL, urgent_bull, BEAR])] == ["zz-bull", "bear", "bull"]


def test_day_trade_buying_power_caps_a_same_day_trade_and_is_named() -> None:
    """The issue's pdt account: DTBP $30,000, option BP $95,000, a 5.00 same-day contract."""
    pdt = RiskContext(
        max_risk_dollars=1_000_000,
        option_buying_power=95_000,
        day_trade_buying_power=30_000,
        pdt_qualified=True,
        account_type="pdt",
    )
    frame = recommend(_two_setup_chain(4.90, 5.10), [BULL], {"P1": pdt}, AS_OF)
    [row] = frame.to_dict(orient="records")
    assert row["expiration_date"] == AS_OF
    assert row["suggested_contracts"] == 59  # floor(30,000 / 500.65), not 189 on option buying power
    assert row["suggested_cost"] == D("29538.3500")
    assert row["binding_constraint"] == "day_trade_buying_power"
    assert "capped by day-trade buying power $30,000.00 at $500.65 each" in row["sizing_reason"]
    # The next session's contract is not a day trade today: option buying power caps it.
    later = recommend(_two_setup_chain(4.90, 5.10, expiry=NEXT), [BULL], {"P1": pdt}, AS_OF)
    assert later["suggested_contracts"].iloc[0] == 189
    assert later["binding_constraint"].iloc[0] == "buying_power"


def test_same_day_rows_share_what_is_left_of_dtbp_across_setups() -> None:
    pdt = RiskContext(
        max_risk_dollars=20_000, option_buying_power=95_000, day_trade_buying_power=30_000, account_type="pdt"
    )
    frame = recommend(_two_setup_chain(4.90, 5.10), [BULL, BEAR], {"P1": pdt}, AS_OF)
    bear, bull = frame.to_dict(orient="records")
    assert bear["suggested_contracts"] == 39 and bear["binding_constraint"] == "max_risk"
    assert bull["suggested_contracts"] == 20  # (30,000 - 39 x 500.65) / 500.65
    assert bull["binding_constraint"] == "day_trade_buying_power"
    assert "$10,474.65 left of $30,000.00 after earlier same-day setups" in bull["sizing_reason"]
    assert bear["suggested_cost"] + bull["suggested_cost"] <= D(30_000)


def test_a_daily_max_risk_is_shared_by_the_setups_of_an_account() -> None:
    ctx = RiskContext(
        max_risk_dollars=500, max_daily_risk_dollars=700, option_buying_power=50_000, account_type="margin"
    )
    frame = recommend(_two_setup_chain(), [BULL, BEAR], {"M1": ctx}, AS_OF)
    bear, bull = frame.to_dict(orient="records")
    assert (bear["suggested_contracts"], bear["binding_constraint"]) == (4, "max_risk")
    assert (bull["suggested_contracts"], bull["binding_constraint"]) == (2, "daily_max_risk")
    assert "capped by daily max risk $237.40 left of $700.00 after earlier setups" in bull["sizing_reason"]
    assert (
        ctx.fingerprint()
        != RiskContext(max_risk_dollars=500, option_buying_power=50_000, account_type="margin").fingerprint()
    )


def test_zero_contracts_is_blocked_with_the_binding_limit_as_the_reason() -> None:
    small = RiskContext(max_risk_dollars=100, option_buying_power=50_000, account_type="margin")
    frame = recommend(_two_setup_chain(), [BULL, BEAR], {"M1": small, "M2": RiskContext()}, AS_OF)
    assert len(frame) == 4
    assert frame["blocked"].all()
    assert (frame["suggested_contracts"] == 0).all()
    m1 = frame[frame["account_id"] == "M1"]
    assert (m1["blocked_reason"] == m1["sizing_reason"]).all()
    assert m1["blocked_reason"].str.startswith("No trade: max risk $100.00 is below").all()
    assert m1["symbol"].notna().all()  # the contract stays visible for context
    no_budget = frame[frame["account_id"] == "M2"]
    assert no_budget["blocked_reason"].str.contains("no max risk is set").all()


def test_a_rolled_account_that_sizes_to_zero_says_both_why() -> None:
    not_pdt = RiskContext(max_risk_dollars=50, pdt_qualified=False, account_type="margin")
    chain = pd.concat([_two_setup_chain(), _two_setup_chain(expiry=NEXT)], ignore_index=True)
    [row] = recommend(chain, [BULL], {"M1": not_pdt}, AS_OF).to_dict(orient="records")
    assert row["blocked"] and row["expiration_date"] == NEXT
    assert (
        "not PDT-qualified" in row["blocked_reason"] and "No trade: max risk $50.00" in row["blocked_reason"]
    )


def test_expired_series_are_never_recommended() -> None:
    stale = _two_setup_chain(expiry=EXPIRED)
    frame = recommend(stale, [BULL, BEAR], {"M1": RiskContext(max_risk_dollars=2500)}, AS_OF)
    assert frame["blocked"].all() and frame["symbol"].isna().all()
    assert frame["blocked_reason"].str.contains("expires on or after 2026-11-24").all()


# --- exact money: the 10% spread boundary ----------------------------------------------------


@pytest.mark.parametrize(
    ("bid", "ask"),
    [(0.95, 1.05), (1.90, 2.10), (2.85, 3.15), (3.80, 4.20), (4.75, 5.25), (5.70, 6.30), (6.65, 7.35),
     (7.60, 8.40), (8.55, 9.45), (9.50, 10.50), (19.0, 21.0)],
)  # fmt: skip
def test_a_spread_of_exactly_ten_percent_of_mid_passes(bid: float, ask: float) -> None:
    ctx = RiskContext(max_risk_dollars=100_000)
    [row] = recommend(_two_setup_chain(bid, ask), [BULL], {"A": ctx}, AS_OF).to_dict(orient="records")
    assert row["symbol"] is not None, row["blocked_reason"]
    wider = recommend(_two_setup_chain(bid - 0.05, ask), [BULL], {"A": ctx}, AS_OF)
    assert wider["blocked_reason"].iloc[0].startswith("Spread above 10%")


def test_spread_limits_finer_than_a_basis_point_are_refused() -> None:
    with pytest.raises(ValueError, match="max_spread_pct"):
        SelectionConfig(max_spread_pct=0.123456)
    assert SelectionConfig(max_spread_pct=0.0525).max_spread_pct == 0.0525


# --- fresh data only: quote age --------------------------------------------------------------


def _aged_chain(bid_age: timedelta, ask_age: timedelta) -> pd.DataFrame:
    chain = _two_setup_chain()
    chain["bid_date"] = int((NOW - bid_age).timestamp() * 1000)
    chain["ask_date"] = int((NOW - ask_age).timestamp() * 1000)
    return chain


def test_quote_age_is_judged_on_datetimes_as_the_broker_client_returns_them() -> None:
    """``chain_frame`` turns bid_date/ask_date into datetimes; a 3-hour-old quote must be stale."""
    chain = _aged_chain(timedelta(hours=3), timedelta(hours=3))
    for column in ("bid_date", "ask_date"):
        chain[column] = pd.to_datetime(chain[column], unit="ms", utc=True)
    [row] = recommend(chain, [BULL], {"A": RiskContext(max_risk_dollars=2500)}, AS_OF, now=NOW).to_dict(
        orient="records"
    )
    assert row["blocked"] and row["symbol"] is None
    assert row["blocked_reason"].startswith("Quotes older than 0:05:00 (or undated) on all 1 call candidates")
    assert "the newest is 3.0 h old" in row["blocked_reason"]
    assert "market is closed" not in row["blocked_reason"]  # 10:30 ET on a session day


def test_a_quote_is_as_fresh_as_its_staler_side() -> None:
    ctx = {"A": RiskContext(max_risk_dollars=2500)}
    fresh = recommend(_aged_chain(timedelta(seconds=5), timedelta(seconds=9)), [BULL], ctx, AS_OF, now=NOW)
    assert not fresh["blocked"].iloc[0]
    one_stale_side = _aged_chain(timedelta(seconds=5), timedelta(hours=3))
    assert recommend(one_stale_side, [BULL], ctx, AS_OF, now=NOW)["blocked"].iloc[0]
    undated_side = _aged_chain(timedelta(seconds=5), timedelta(seconds=5))
    undated_side["ask_date"] = 0  # Tradier's "never"
    assert recommend(undated_side, [BULL], ctx, AS_OF, now=NOW)["blocked"].iloc[0]


def test_outside_market_hours_the_reason_says_the_market_is_closed() -> None:
    evening = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 18:00 ET, after the close
    chain = _two_setup_chain()
    at_close = int(datetime(2026, 11, 24, 21, 0, tzinfo=UTC).timestamp() * 1000)  # 16:00 ET
    chain["bid_date"] = chain["ask_date"] = at_close
    [row] = recommend(chain, [BULL], {"A": RiskContext(max_risk_dollars=2500)}, AS_OF, now=evening).to_dict(
        orient="records"
    )
    assert row["blocked"]
    assert "the newest is 2.0 h old" in row["blocked_reason"]
    assert (
        "the market is closed at 2026-11-24 18:00 ET (regular hours resume 2026-11-25 09:30 ET), "
        "so quotes are not live" in row["blocked_reason"]
    )


# --- property: random accounts x setups x chains -------------------------------------------


def _money(top: int) -> st.SearchStrategy[Decimal | None]:
    """Unknown, typical (hypothesis alone favours 0 and tiny values) or any amount to the cent."""
    typical = st.sampled_from(
        [D(0), D("50"), D("250"), D("999.99"), D("2500"), D("10000"), D("30000"), D("95000.50")]
    )
    anything = st.integers(min_value=0, max_value=top * 100).map(lambda c: D(c) / 100)
    return st.one_of(st.none(), typical, typical, anything)


contexts = st.builds(
    RiskContext,
    day_trade_buying_power=_money(80_000),
    max_risk_dollars=_money(20_000),
    pdt_qualified=st.sampled_from([True, False, None]),
    option_buying_power=_money(40_000),
    cash_available=_money(20_000),
    account_type=st.sampled_from(["margin", "cash", "pdt", None]),
    max_daily_risk_dollars=st.one_of(st.none(), _money(9000)),
)
ticks = st.one_of(
    st.sampled_from([0.50, 1.15, 2.95, 3.00, 4.20, 5.00, 8.40, 12.30]),
    st.integers(min_value=1, max_value=140).map(lambda n: n * 0.05 if n < 60 else 3.0 + (n - 60) * 0.10),
)


@st.composite
def chains(draw: st.DrawFn) -> pd.DataFrame:
    expiries = draw(
        st.lists(st.sampled_from([EXPIRED, AS_OF, NEXT, date(2026, 11, 27)]), min_size=1, unique=True).filter(
            lambda days: AS_OF in days or NEXT in days or len(days) == 1  # mostly something to trade
        )
    )
    rows = []
    for expiry in expiries:
        for strike in draw(
            st.lists(st.sampled_from(range(5800, 6200, 25)), min_size=1, max_size=5, unique=True)
        ):
            for right in ("C", "P"):
                bid = draw(ticks)
                spread = draw(st.sampled_from([0.0, 0.0, 0.05, 0.05, 0.10, 0.50]))
                delta = draw(st.floats(min_value=0.05, max_value=0.7))
                rows.append(
                    {
                        "expiry": expiry,
                        "right": right,
                        "strike": strike,
                        "bid": round(bid, 2),
                        "ask": round(bid + spread + 0.05, 2),
                        "delta": delta if right == "C" else -delta,
                        "volume": draw(st.sampled_from([0, 150, 5000, 5000, 5000, 5000])),
                        "ask_date": int(
                            (NOW - timedelta(seconds=draw(st.sampled_from([1, 30, 900])))).timestamp() * 1000
                        ),
                    }
                )
    return chain_of(rows)


@st.composite
def setup_lists(draw: st.DrawFn) -> list[Setup]:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True))
    return [
        Setup(
            setup_id,
            draw(st.sampled_from(["bullish", "bearish"])),
            target_delta=draw(st.sampled_from([0.15, 0.3, 0.4, 0.55])),
            stop_premium=draw(st.sampled_from([None, None, D("0.05"), D("0.50"), D("1.00"), D("3.10")])),
            priority=draw(st.integers(min_value=-2, max_value=2)),
        )
        for setup_id in ids
    ]


def _sum(values: pd.Series) -> Decimal:
    return sum((D(str(v)) for v in values), D(0))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=st.lists(contexts, min_size=1, max_size=4),
    setups=setup_lists(),
    chain=chains(),
    policy=st.builds(
        ZeroDtePolicy, dtbp_floor=st.sampled_from([D(0), D(25000)]), legacy_pdt_check=st.booleans()
    ),
    fee=st.sampled_from([D(0), D("0.65")]),
    default=st.one_of(st.none(), st.just(D(750))),
    with_now=st.booleans(),
)
def test_budget_invariants_hold_for_random_accounts_setups_and_chains(  # noqa: PLR0917 - hypothesis
    accounts: list[RiskContext],
    setups: list[Setup],
    chain: pd.DataFrame,
    policy: ZeroDtePolicy,
    fee: Decimal,
    default: Decimal | None,
    with_now: bool,
) -> None:
    ctxs = {f"VA{i}": ctx for i, ctx in enumerate(accounts)}
    config = SelectionConfig(fee_per_contract=fee, default_max_risk=default, max_delta_distance=None)
    frame = recommend(chain, setups, ctxs, AS_OF, policy=policy, config=config, now=NOW if with_now else None)
    assert len(frame) == len(setups) * len(ctxs)
    tradable = ~frame["blocked"].astype(bool)
    # Every row is exactly one of tradable or blocked, and a blocked row says why.
    assert (tradable == (frame["suggested_contracts"] >= 1)).all()
    assert frame.loc[~tradable, "blocked_reason"].map(lambda r: isinstance(r, str) and r != "").all()
    # No recommendation for an expiration before its session.
    assert all(e >= AS_OF for e in frame["expiration_date"] if e is not None)
    event(f"some rows tradable: {bool(tradable.any())}")
    by_setup = {s.setup_id: s for s in setups}
    for account_id, ctx in ctxs.items():
        rows = frame[frame["account_id"] == account_id]
        mine = rows[~rows["blocked"].astype(bool)]
        same_day = mine[mine["expiration_date"].map(lambda e: e == AS_OF).astype(bool)]
        if len(same_day):
            event("same-day tradable rows")
        if ctx.buying_power() is not None:
            assert _sum(mine["suggested_cost"]) <= ctx.buying_power()
        if ctx.day_trade_buying_power is not None:
            assert _sum(same_day["suggested_cost"]) <= ctx.day_trade_buying_power
        # Scalar and vectorized agree, walking the setups in the order the budgets are spent.
        committed = Committed()
        assert list(rows["setup_id"]) == [s.setup_id for s in setup_order(setups)]
        for row in rows.to_dict(orient="records"):
            if row["symbol"] is None:
                continue
            limit = min(round_to_tick(row["mid"], "buy"), round_to_tick(row["ask"], "sell"))
            assert row["limit_price"] == limit
            setup = by_setup[row["setup_id"]]
            try:
                scalar = size_position(
                    ctx,
                    limit,
                    stop_premium=setup.stop_premium,
                    fee_per_contract=fee,
                    default_max_risk=default,
                    same_day=row["expiration_date"] == AS_OF,
                    committed=committed,
                )
            except ValueError:
                assert row["binding_constraint"] == "stop_not_below_entry" and row["blocked"]
                continue
            assert row["suggested_contracts"] == scalar.contracts
            assert row["suggested_cost"] == scalar.cost
            assert row["binding_constraint"] == scalar.binding_constraint
            # A tradable row rolled past 0DTE says why after the sizing sentence (never as a block).
            rolled = row["sizing_reason"].startswith(scalar.reason + " ") and row["sizing_reason"].endswith(
                f"Recommending the {row['expiration_date'].isoformat()} expiration instead."
            )
            assert row["sizing_reason"] == scalar.reason or (rolled and not row["blocked"])
            event(f"binding: {scalar.binding_constraint}")
            if committed.cost > 0:
                event("sized after an earlier setup took part of the budget")
            committed = committed.plus(scalar, same_day=row["expiration_date"] == AS_OF)
        if ctx.max_daily_risk_dollars is not None:
            assert committed.risk <= ctx.max_daily_risk_dollars
