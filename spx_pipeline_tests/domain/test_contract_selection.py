"""Contract selection: direction, expiry under the 0DTE policy, liquidity filters, pricing, sizing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest

from spx_pipeline.domain.chain_prep import prepare_chain
from spx_pipeline.domain.contract_selection import SelectionConfig, recommend, select_contract
from spx_pipeline.domain.market_calendar import NEW_YORK
from spx_pipeline.domain.orders import build_ticket_legs, payload_summary
from spx_pipeline.domain.recommendation import RECOMMENDATION_COLUMNS, Recommendation
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup
from spx_pipeline.domain.sizing import size_position
from spx_pipeline.domain.ticks import is_on_tick, round_to_tick
from spx_pipeline.domain.zero_dte import ZeroDtePolicy
from spx_pipeline.emulator.sample_data import synthetic_spx_chain, tradier_chain_records
from spx_pipeline.storage.warehouse.schema import column_names, ddl_scripts

D = Decimal
AS_OF = date(2026, 11, 24)
NEXT = date(2026, 11, 25)

OK = RiskContext(
    max_risk_dollars=5000,
    pdt_qualified=True,
    day_trade_buying_power=40000,
    option_buying_power=20000,
    account_type="pdt",
)
NOT_PDT = RiskContext(
    max_risk_dollars=5000, pdt_qualified=False, option_buying_power=20000, account_type="margin"
)
BULL = Setup("bull", "bullish")
BEAR = Setup("bear", "bearish", target_delta=0.25)


@pytest.fixture(scope="module")
def chain() -> pd.DataFrame:
    return synthetic_spx_chain(AS_OF)


# --- SelectionConfig validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_spread_pct": 0}, "max_spread_pct"),
        ({"min_volume": -1}, "min_volume"),
        ({"min_open_interest": 1.5}, "min_open_interest"),
        ({"max_quote_age": timedelta(0)}, "max_quote_age"),
        ({"max_delta_distance": 2.0}, "max_delta_distance"),
        ({"roots": ()}, "roots"),
        ({"fee_per_contract": D("-1")}, "fee_per_contract"),
    ],
)
def test_config_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SelectionConfig(**kwargs)  # type: ignore[arg-type]


# --- selection --------------------------------------------------------------------------------


def test_bullish_picks_call_nearest_target_delta_same_day(chain: pd.DataFrame) -> None:
    rec = select_contract(chain, BULL, OK, AS_OF)
    assert rec.option_type == "call"
    assert rec.expiration_date == AS_OF
    assert not rec.blocked
    assert rec.blocked_reason is None
    prepared = prepare_chain(chain)
    cfg = SelectionConfig()
    eligible = prepared[
        (prepared["option_type"] == "call")
        & (prepared["expiration"] == AS_OF)
        & (prepared["bid"] > 0)
        & ((prepared["ask"] - prepared["bid"]) / prepared["mid"] <= cfg.max_spread_pct)
        & (prepared["volume"] >= cfg.min_volume)
    ]
    best = eligible.iloc[(eligible["delta"] - 0.40).abs().argmin()]
    assert rec.symbol == best["symbol"]
    assert rec.symbol_osi == rec.symbol[:4] + "  " + rec.symbol[4:]
    assert rec.symbol_massive == "O:" + rec.symbol
    assert rec.root_symbol == "SPXW"


def test_bearish_uses_puts_and_absolute_delta(chain: pd.DataFrame) -> None:
    rec = select_contract(chain, BEAR, OK, AS_OF)
    assert rec.option_type == "put"
    assert rec.delta is not None and rec.delta < 0
    assert abs(abs(rec.delta) - 0.25) < 0.05


def test_limit_price_is_mid_rounded_up_capped_at_ask(chain: pd.DataFrame) -> None:
    rec = select_contract(chain, BULL, OK, AS_OF)
    assert rec.limit_price is not None and rec.ask is not None and rec.bid is not None
    assert is_on_tick(rec.limit_price)
    expected = min(round_to_tick(D(str(rec.mid)), "buy"), round_to_tick(D(str(rec.ask)), "sell"))
    assert rec.limit_price == expected
    assert rec.bid <= float(rec.limit_price) <= rec.ask


def test_limit_never_above_off_tick_ask() -> None:
    frame = synthetic_spx_chain(AS_OF, expirations=[AS_OF], strikes_each_side=0)
    frame.loc[:, "bid"] = 1.00
    frame.loc[:, "ask"] = 1.02  # off-tick ask: mid 1.01 rounds up to 1.05 > ask
    frame.loc[:, "delta"] = np.where(frame["option_type"] == "call", 0.4, -0.4)
    rec = select_contract(frame, BULL, OK, AS_OF)
    assert rec.limit_price == D("1.00")


def test_sizing_uses_limit_price_and_setup_stop(chain: pd.DataFrame) -> None:
    setup = Setup("stop", "bullish", stop_premium=D("1.00"))
    rec = select_contract(chain, setup, OK, AS_OF)
    expected = size_position(
        OK,
        rec.limit_price,  # type: ignore[arg-type]
        stop_premium=D("1.00"),
        same_day=rec.expiration_date == AS_OF,
    )
    assert rec.suggested_contracts == expected.contracts
    assert rec.suggested_cost == expected.cost
    assert rec.sizing_reason == expected.reason
    assert rec.binding_constraint == expected.binding_constraint


def test_stop_above_entry_is_a_zero_size_row_not_a_crash(chain: pd.DataFrame) -> None:
    rec = select_contract(chain, Setup("s", "bullish", stop_premium=D("500")), OK, AS_OF)
    assert rec.suggested_contracts == 0
    assert rec.binding_constraint == "stop_not_below_entry"
    assert "not below the entry" in rec.sizing_reason


# --- 0DTE policy ------------------------------------------------------------------------------


def test_policy_blocked_account_rolls_to_next_expiry(chain: pd.DataFrame) -> None:
    rec = select_contract(chain, BULL, NOT_PDT, AS_OF)
    assert rec.expiration_date == NEXT
    assert not rec.blocked
    # Tradable: the roll is why this contract, not a block (blocked_reason is NULL when tradable).
    assert rec.blocked_reason is None
    assert "not PDT-qualified" in rec.sizing_reason
    assert "Recommending the 2026-11-25 expiration instead." in rec.sizing_reason


def test_dtbp_floor_and_policy_switches(chain: pd.DataFrame) -> None:
    low = RiskContext(max_risk_dollars=5000, pdt_qualified=True, day_trade_buying_power=10000)
    rec = select_contract(chain, BULL, low, AS_OF)
    assert rec.expiration_date == NEXT
    assert not rec.blocked and rec.blocked_reason is None and "$10,000.00" in rec.sizing_reason
    assert (
        select_contract(chain, BULL, low, AS_OF, policy=ZeroDtePolicy(dtbp_floor=D(0))).expiration_date
        == AS_OF
    )
    lax = ZeroDtePolicy(legacy_pdt_check=False)
    assert select_contract(chain, BULL, NOT_PDT, AS_OF, policy=lax).expiration_date == AS_OF


def test_blocked_when_no_later_expiry() -> None:
    only_today = synthetic_spx_chain(AS_OF, expirations=[AS_OF])
    rec = select_contract(only_today, BULL, NOT_PDT, AS_OF)
    assert rec.blocked
    assert rec.symbol is None
    assert rec.suggested_contracts == 0
    assert rec.suggested_cost == 0
    assert rec.binding_constraint == "no_contract"
    assert rec.blocked_reason is not None
    assert "not PDT-qualified" in rec.blocked_reason
    assert "No later expiration" in rec.blocked_reason


def test_no_same_day_listing_uses_next_expiry_without_policy_note() -> None:
    frame = synthetic_spx_chain(AS_OF, expirations=[NEXT])
    rec = select_contract(frame, BULL, NOT_PDT, AS_OF)
    assert rec.expiration_date == NEXT
    assert rec.blocked_reason is None


def test_am_settled_spx_root_is_not_selected() -> None:
    third_friday = date(2026, 12, 18)
    frame = synthetic_spx_chain(date(2026, 12, 17), expirations=[third_friday])
    rec = select_contract(frame, BULL, OK, date(2026, 12, 17))
    assert rec.root_symbol == "SPXW"
    spx_only = frame[frame["root_symbol"] == "SPX"]
    rec = select_contract(spx_only, BULL, OK, date(2026, 12, 17))
    assert rec.blocked
    assert "SPXW" in (rec.blocked_reason or "")


# --- filters name themselves ------------------------------------------------------------------


def _one_expiry() -> pd.DataFrame:
    return synthetic_spx_chain(AS_OF, expirations=[AS_OF], strikes_each_side=10)


def test_no_bid_reason() -> None:
    frame = _one_expiry()
    frame["bid"] = 0.0
    rec = select_contract(frame, BULL, OK, AS_OF)
    assert rec.blocked
    assert rec.blocked_reason == "No call for 2026-11-24 has a bid > 0 and a valid tick price (21 listed)."


def test_spread_reason() -> None:
    frame = _one_expiry()
    frame["ask"] = frame["bid"] * 2 + 0.05
    rec = select_contract(frame, BULL, OK, AS_OF)
    assert rec.blocked
    assert rec.blocked_reason is not None
    assert re.fullmatch(r"Spread above 10% on all \d+ call candidates for 2026-11-24\.", rec.blocked_reason)


def test_volume_and_open_interest_reasons() -> None:
    frame = _one_expiry()
    frame["volume"] = 5
    rec = select_contract(frame, BULL, OK, AS_OF)
    assert rec.blocked_reason is not None and rec.blocked_reason.startswith("Volume below 100 on all")
    frame = _one_expiry()
    rec = select_contract(frame, BULL, OK, AS_OF, config=SelectionConfig(min_open_interest=10**9))
    assert rec.blocked_reason is not None and rec.blocked_reason.startswith("Open interest below 1000000000")


def test_delta_distance_reason() -> None:
    frame = _one_expiry()
    frame["delta"] = np.where(frame["option_type"] == "call", 0.5, -0.5)
    lotto = Setup("lotto", "bullish", target_delta=0.2)
    rec = select_contract(frame, lotto, OK, AS_OF)
    assert rec.blocked
    assert "within 0.15 of target delta 0.2 (nearest 0.50)" in (rec.blocked_reason or "")
    relaxed = SelectionConfig(max_delta_distance=None)
    assert not select_contract(frame, lotto, OK, AS_OF, config=relaxed).blocked


def test_quote_age_filter_only_with_now() -> None:
    frame = _one_expiry()  # quotes stamped around 10:30 ET
    late = datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK)
    rec = select_contract(frame, BULL, OK, AS_OF, now=late)
    assert rec.blocked
    assert "Quotes older than 0:05:00" in (rec.blocked_reason or "")
    fresh = datetime(2026, 11, 24, 10, 30, 5, tzinfo=NEW_YORK)
    assert not select_contract(frame, BULL, OK, AS_OF, now=fresh).blocked
    assert not select_contract(frame, BULL, OK, AS_OF).blocked
    with pytest.raises(ValueError, match="timezone-aware"):
        select_contract(frame, BULL, OK, AS_OF, now=datetime(2026, 11, 24, 10, 30))


# --- input shapes -----------------------------------------------------------------------------


def test_nested_greeks_and_minimal_columns_give_the_same_pick(chain: pd.DataFrame) -> None:
    nested = pd.DataFrame(tradier_chain_records(AS_OF))
    assert "delta" not in nested.columns
    minimal = chain[["symbol", "bid", "ask", "volume", "delta"]]
    expected = select_contract(chain, BULL, OK, AS_OF).symbol
    assert select_contract(nested, BULL, OK, AS_OF).symbol == expected
    assert select_contract(minimal, BULL, OK, AS_OF).symbol == expected


def test_osi_symbols_accepted(chain: pd.DataFrame) -> None:
    osi = chain.assign(symbol=chain["symbol"].str.slice(0, 4) + "  " + chain["symbol"].str.slice(4))
    assert select_contract(osi, BULL, OK, AS_OF).symbol == select_contract(chain, BULL, OK, AS_OF).symbol


def test_missing_columns_named(chain: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'ask'"):
        recommend(chain.drop(columns=["ask"]), [BULL], {"a": OK}, AS_OF)
    with pytest.raises(ValueError, match="delta"):
        recommend(chain.drop(columns=["delta"]), [BULL], {"a": OK}, AS_OF)


# --- recommend(): many accounts, one chain ----------------------------------------------------


def test_recommend_matches_each_account_recommended_alone(chain: pd.DataFrame) -> None:
    """Accounts share nothing: many at once give each one's rows exactly as if it were alone."""
    contexts = {
        "ok": OK,
        "not-pdt": NOT_PDT,
        "cash": RiskContext(max_risk_dollars=300, cash_available=250, account_type="cash"),
        "unknown": RiskContext(),
    }
    frame = recommend(chain, [BULL, BEAR], contexts, AS_OF)
    assert list(frame.columns) == list(RECOMMENDATION_COLUMNS)
    assert len(frame) == 8
    for account_id, ctx in contexts.items():
        alone = recommend(chain, [BULL, BEAR], {account_id: ctx}, AS_OF).to_dict(orient="records")
        rows = [r for r in frame.to_dict(orient="records") if r["account_id"] == account_id]
        assert [Recommendation.from_row(r) for r in rows] == [Recommendation.from_row(r) for r in alone]
        assert {r["risk_fingerprint"] for r in rows} == {ctx.fingerprint()}
    # The first setup in order is sized against the whole budget, as a lone setup would be.
    first = frame[frame["setup_id"] == "bear"]
    for row in first.to_dict(orient="records"):
        single = select_contract(
            chain, BEAR, contexts[row["account_id"]], AS_OF, account_id=row["account_id"]
        )
        assert Recommendation.from_row(row) == single


def test_recommend_with_no_setups_or_accounts(chain: pd.DataFrame) -> None:
    assert list(recommend(chain, [], {"a": OK}, AS_OF).columns) == list(RECOMMENDATION_COLUMNS)
    assert recommend(chain, [BULL], {}, AS_OF).empty


def test_recommend_refuses_wrong_types(chain: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="contexts\\['a'\\]"):
        recommend(chain, [BULL], {"a": {"max_risk_dollars": 1}}, AS_OF)  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="as_of"):
        recommend(chain, [BULL], {"a": OK}, "2026-11-24")  # type: ignore[arg-type]


def test_columns_match_warehouse_table() -> None:
    expected = [c for c in column_names("contract_recommendations") if c not in ("run_id", "generated_at")]
    assert sorted(RECOMMENDATION_COLUMNS) == sorted(expected)


def test_frame_loads_into_warehouse_table(chain: pd.DataFrame) -> None:
    frame = recommend(chain, [BULL], {"ok": OK, "none": NOT_PDT, "z": RiskContext()}, AS_OF)
    frame = frame.assign(run_id="r1", generated_at=pd.Timestamp("2026-11-24 15:30", tz="UTC"))
    con = duckdb.connect()
    for script in ddl_scripts():
        con.execute(script)
    con.register("recs", frame)
    con.execute("INSERT INTO contract_recommendations BY NAME SELECT * FROM recs")
    rows = con.execute(
        "SELECT account_id, limit_price, strike, suggested_cost, expiration_date "
        "FROM contract_recommendations ORDER BY account_id"
    ).fetchall()
    by_account = {r[0]: r for r in rows}
    ok = frame.set_index("account_id").loc["ok"]
    assert by_account["ok"][1] == ok["limit_price"]
    assert by_account["ok"][2] == ok["strike"]
    assert by_account["ok"][3] == ok["suggested_cost"]
    assert by_account["ok"][4] == AS_OF


def test_recommendation_feeds_ticket_legs(chain: pd.DataFrame) -> None:
    setup = Setup("s", "bullish", target_delta=0.2, stop_premium=D("0.50"))
    rec = select_contract(chain, setup, OK, AS_OF)
    assert rec.suggested_contracts >= 2
    legs = build_ticket_legs(rec, setup)
    assert legs["entry"]["option_symbol"] == rec.symbol
    assert legs["entry"]["quantity"] == str(rec.suggested_contracts)
    t1, runner = payload_summary(legs["t1"]), payload_summary(legs["runner_stop"])
    assert int(t1["quantity"]) + int(runner["quantity"]) == rec.suggested_contracts
    # With a stop_premium the T1 slice is an OCO, so both slices carry the same protective stop.
    assert t1["order_type"] == "oco"
    assert t1["stop"] == runner["stop"] == "0.50"


# --- bad input at entry; one bad setup never sinks the batch --------------------------------


def test_scalar_and_vectorized_sizing_refuse_the_same_stops() -> None:
    """A stop the scalar path accepted used to make ``recommend`` raise for the whole batch."""
    with pytest.raises(ValueError, match=r"stop_premium '1\.00005' has more than 4 decimal places"):
        size_position(OK, "2.00", stop_premium="1.00005")


def test_a_setup_that_cannot_be_sized_is_blocked_and_the_others_go_on(chain: pd.DataFrame) -> None:
    broken = Setup("broken", "bullish")
    object.__setattr__(broken, "stop_premium", Decimal("1.00005"))  # built around the validation
    frame = recommend(chain, [broken, BEAR], {"a": OK, "b": NOT_PDT}, AS_OF)
    bad = frame[frame["setup_id"] == "broken"]
    assert bad["blocked"].all() and (bad["binding_constraint"] == "invalid_setup").all()
    assert bad["blocked_reason"].str.contains("Setup broken could not be sized: stop_premium").all()
    assert not frame.loc[frame["setup_id"] == "bear", "blocked"].any()


@pytest.mark.parametrize("field", ["max_risk_dollars", "option_buying_power", "max_daily_risk_dollars"])
@pytest.mark.parametrize("value", [1e308, "1E+400", 10**13])
def test_absurd_money_is_refused_by_name_instead_of_overflowing(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be at most 1,000,000,000,000"):
        RiskContext(**{field: value})  # type: ignore[arg-type]
