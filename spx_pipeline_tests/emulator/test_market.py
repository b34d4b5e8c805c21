"""Market data over real HTTP (expirations, chains, quotes, clock, calendar) plus the pricing model."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import requests

from spx_pipeline.broker.tradier.option_chain import GREEK_COLUMNS
from spx_pipeline.domain import market_calendar
from spx_pipeline.emulator import EmulatorConfig, TradierEmulator
from spx_pipeline.emulator.market import third_friday
from spx_pipeline.emulator.sample_data import tradier_chain_records

TOKEN = {"Authorization": "Bearer demo-margin-token-0001"}
# Tuesday 2026-11-24, 10:00 ET: a regular session
SESSION_MORNING = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
# fmt: off
CHAIN_FIELDS = {
    "symbol", "description", "exch", "type", "last", "change", "change_percentage", "volume",
    "average_volume", "last_volume", "trade_date", "open", "high", "low", "close", "prevclose",
    "week_52_high", "week_52_low", "bid", "bidsize", "bidexch", "bid_date", "ask", "asksize", "askexch",
    "ask_date", "open_interest", "underlying", "strike", "contract_size", "expiration_date",
    "expiration_type", "option_type", "root_symbol",
}
# fmt: on
GREEK_FIELDS = {*GREEK_COLUMNS, "updated_at"}  # the fields the client reads, and when


@pytest.fixture
def emu(tradier_emulator_factory) -> TradierEmulator:
    return tradier_emulator_factory(EmulatorConfig(now=SESSION_MORNING))


def get(session: requests.Session, emu: TradierEmulator, path: str, **params: str) -> requests.Response:
    return session.get(emu.base_url + path, params=params, headers=TOKEN, timeout=30)


# ----- expirations ----------------------------------------------------------------------------


def test_today_defaults_to_the_trading_day_of_the_frozen_clock(emu):
    assert emu.today == date(2026, 11, 24)
    assert emu.market.spxw_dates == market_calendar.sessions_from(date(2026, 11, 24), 6)


def test_spx_without_include_all_roots_lists_only_am_monthlies(emu, tradier_session):
    body = get(tradier_session, emu, "/markets/options/expirations", symbol="SPX").json()
    assert body["expirations"]["date"] == ["2026-12-18", "2027-01-15", "2027-02-19"]


def test_include_all_roots_adds_spxw_dailies_with_a_0dte(emu, tradier_session):
    dates = get(
        tradier_session, emu, "/markets/options/expirations", symbol="SPX", includeAllRoots="true"
    ).json()
    listed = dates["expirations"]["date"]
    assert listed[0] == "2026-11-24"  # 0DTE
    assert "2026-11-26" not in listed  # Thanksgiving
    assert "2026-11-27" in listed  # early-close Friday is still a session
    assert listed == sorted(listed)
    assert set(listed) == {d.isoformat() for d in emu.market.spxw_dates} | {
        "2026-12-18",
        "2027-01-15",
        "2027-02-19",
    }


def test_single_expiration_collapses_to_a_bare_string(tradier_emulator_factory, tradier_session):
    emu = tradier_emulator_factory(EmulatorConfig(now=SESSION_MORNING, expirations=1))
    body = get(tradier_session, emu, "/markets/options/expirations", symbol="SPXW").json()
    assert body == {"expirations": {"date": "2026-11-24"}}


def test_expirations_with_strikes_and_unknown_symbol(emu, tradier_session):
    body = get(tradier_session, emu, "/markets/options/expirations", symbol="SPXW", strikes="true").json()
    rows = body["expirations"]["expiration"]
    assert len(rows) == 6
    strikes = rows[0]["strikes"]["strike"]
    assert len(strikes) == 81
    assert strikes[40] == 6000.0
    assert strikes[1] - strikes[0] == 5.0
    assert get(tradier_session, emu, "/markets/options/expirations", symbol="QQQ").json() == {
        "expirations": "null"
    }
    missing = get(tradier_session, emu, "/markets/options/expirations")
    assert missing.status_code == 400
    assert "symbol" in missing.json()["errors"]["error"]


# ----- chains ---------------------------------------------------------------------------------


def test_chain_rows_have_tradier_fields_and_greeks(emu, tradier_session):
    body = get(
        tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="2026-11-24", greeks="true"
    )
    rows = body.json()["options"]["option"]
    assert len(rows) == 162
    for row in rows:
        assert set(row) == CHAIN_FIELDS | {"greeks"}
        assert set(row["greeks"]) == GREEK_FIELDS
        assert row["root_symbol"] == "SPXW"
        assert row["underlying"] == "SPX"
        assert row["expiration_type"] == "weeklys"
        assert row["contract_size"] == 100
        assert row["option_type"] in ("call", "put")
        quote_ms = int(SESSION_MORNING.timestamp() * 1000)
        assert quote_ms - 60_000 <= row["bid_date"] <= quote_ms
        assert 0 <= row["bid"] < row["ask"]
    assert any(r["bid"] == 0 for r in rows)  # no bid far out of the money
    assert any(r["last"] is None for r in rows)
    atm_call = next(r for r in rows if r["strike"] == 6000.0 and r["option_type"] == "call")
    assert atm_call["symbol"] == "SPXW261124C06000000"
    assert 0.45 < atm_call["greeks"]["delta"] < 0.55
    assert atm_call["greeks"]["updated_at"] == "2026-11-24 10:00:00"  # the hour, Eastern


def test_chain_deltas_are_monotonic_and_call_minus_put_delta_is_one(emu, tradier_session):
    rows = get(
        tradier_session, emu, "/markets/options/chains", symbol="SPXW", expiration="2026-12-01", greeks="true"
    ).json()["options"]["option"]
    calls = {r["strike"]: r["greeks"]["delta"] for r in rows if r["option_type"] == "call"}
    puts = {r["strike"]: r["greeks"]["delta"] for r in rows if r["option_type"] == "put"}
    assert list(calls) == sorted(calls)
    assert list(calls.values()) == sorted(calls.values(), reverse=True)
    for strike, delta in calls.items():
        assert delta - puts[strike] == pytest.approx(1.0)


def test_chain_matches_the_sample_data(emu, tradier_session):
    expected = [
        r
        for r in tradier_chain_records(
            date(2026, 11, 24), 6000.0, emu.market.spxw_dates, 40, 5, 7, SESSION_MORNING
        )
        if r["expiration_date"] == "2026-11-25"
    ]
    rows = get(
        tradier_session, emu, "/markets/options/chains", symbol="SPXW", expiration="2026-11-25", greeks="true"
    ).json()["options"]["option"]
    assert [r["symbol"] for r in rows] == [r["symbol"] for r in expected]
    assert [(r["bid"], r["ask"], r["greeks"]["delta"]) for r in rows] == [
        (r["bid"], r["ask"], r["greeks"]["delta"]) for r in expected
    ]


def test_chain_without_greeks_and_unknown_expiration(emu, tradier_session):
    rows = get(
        tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="2026-11-25", greeks="false"
    ).json()["options"]["option"]
    assert all("greeks" not in r for r in rows)
    assert get(
        tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="2026-11-26"
    ).json() == {"options": "null"}
    bad = get(tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="11/26/2026")
    assert bad.status_code == 400
    assert "11/26/2026" in bad.json()["errors"]["error"]
    missing = get(tradier_session, emu, "/markets/options/chains", symbol="SPX")
    assert missing.status_code == 400


def test_monthly_friday_has_both_roots_for_spx_and_only_spxw_for_spxw(
    tradier_emulator_factory, tradier_session
):
    emu = tradier_emulator_factory(EmulatorConfig(today=date(2026, 12, 11), expirations=6))
    both = get(tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="2026-12-18").json()
    roots = {r["root_symbol"]: r["expiration_type"] for r in both["options"]["option"]}
    assert roots == {"SPX": "standard", "SPXW": "weeklys"}
    only = get(tradier_session, emu, "/markets/options/chains", symbol="SPXW", expiration="2026-12-18").json()
    assert {r["root_symbol"] for r in only["options"]["option"]} == {"SPXW"}


def test_chains_are_deterministic(tradier_emulator_factory, tradier_session):
    a = tradier_emulator_factory(EmulatorConfig(now=SESSION_MORNING))
    b = tradier_emulator_factory(EmulatorConfig(now=SESSION_MORNING))
    params = {"symbol": "SPX", "expiration": "2026-11-25", "greeks": "true"}
    assert get(tradier_session, a, "/markets/options/chains", **params).text == (
        get(tradier_session, b, "/markets/options/chains", **params).text
    )
    shifted = tradier_emulator_factory(EmulatorConfig(now=SESSION_MORNING, spot=6100.0))
    moved = get(tradier_session, shifted, "/markets/options/chains", **params).json()["options"]["option"]
    calls = [r["strike"] for r in moved if r["option_type"] == "call"]
    assert calls[40] == 6100.0  # the strike grid is centred on the spot


def test_third_friday():
    assert third_friday(2026, 12) == date(2026, 12, 18)
    assert third_friday(2027, 1) == date(2027, 1, 15)
    assert third_friday(2026, 5) == date(2026, 5, 15)


# ----- quotes ---------------------------------------------------------------------------------


def test_quotes_single_object_index_type(emu, tradier_session):
    quote = get(tradier_session, emu, "/markets/quotes", symbols="SPX").json()["quotes"]["quote"]
    assert isinstance(quote, dict)
    assert quote["type"] == "index"
    assert quote["last"] == 6000.0


def test_quotes_many_with_unmatched_and_post_form(emu, tradier_session):
    symbols = "SPX,SPXW261124C06000000,NOPE,SPXW201124C06000000"
    body = get(tradier_session, emu, "/markets/quotes", symbols=symbols, greeks="true").json()["quotes"]
    assert [q["symbol"] for q in body["quote"]] == ["SPX", "SPXW261124C06000000"]
    assert "greeks" in body["quote"][1]
    assert body["unmatched_symbols"]["symbol"] == ["NOPE", "SPXW201124C06000000"]  # the last one expired
    posted = tradier_session.post(
        emu.base_url + "/markets/quotes", data={"symbols": symbols}, headers=TOKEN, timeout=30
    )
    assert [q["symbol"] for q in posted.json()["quotes"]["quote"]] == ["SPX", "SPXW261124C06000000"]


def test_option_quote_matches_the_chain_row(emu, tradier_session):
    row = next(
        r
        for r in get(
            tradier_session, emu, "/markets/options/chains", symbol="SPX", expiration="2026-11-24"
        ).json()["options"]["option"]
        if r["symbol"] == "SPXW261124P05950000"
    )
    quote = get(tradier_session, emu, "/markets/quotes", symbols="SPXW261124P05950000").json()["quotes"][
        "quote"
    ]
    assert quote == row


# ----- clock and calendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 24, 8, 30, tzinfo=UTC), ("closed", "04:00", "premarket")),  # 03:30 ET
        (datetime(2026, 11, 24, 13, 0, tzinfo=UTC), ("premarket", "09:30", "open")),  # 08:00 ET
        (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), ("open", "16:00", "postmarket")),  # 10:00 ET
        (datetime(2026, 11, 24, 21, 30, tzinfo=UTC), ("postmarket", "20:00", "closed")),  # 16:30 ET
        (datetime(2026, 11, 25, 2, 0, tzinfo=UTC), ("closed", "04:00", "premarket")),  # 21:00 ET
        (
            datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
            ("open", "13:00", "postmarket"),
        ),  # early close day, 12:00 ET
        (datetime(2026, 11, 26, 15, 0, tzinfo=UTC), ("closed", "04:00", "premarket")),  # Thanksgiving
        (datetime(2026, 11, 28, 15, 0, tzinfo=UTC), ("closed", "04:00", "premarket")),  # Saturday
    ],
)
def test_clock_states(tradier_emulator_factory, tradier_session, moment, expected):
    emu = tradier_emulator_factory(EmulatorConfig(now=moment))
    clock = get(tradier_session, emu, "/markets/clock").json()["clock"]
    assert (clock["state"], clock["next_change"], clock["next_state"]) == expected
    assert clock["timestamp"] == int(moment.timestamp())
    assert clock["date"] == moment.astimezone(market_calendar.NEW_YORK).date().isoformat()


def test_calendar_month_with_holiday_and_early_close(emu, tradier_session):
    body = get(tradier_session, emu, "/markets/calendar", month="11", year="2026").json()["calendar"]
    assert (body["month"], body["year"]) == (11, 2026)
    days = {d["date"]: d for d in body["days"]["day"]}
    assert len(days) == 30
    assert days["2026-11-26"]["status"] == "closed"  # Thanksgiving
    assert days["2026-11-28"]["status"] == "closed"  # Saturday
    assert days["2026-11-24"]["open"] == {"start": "09:30", "end": "16:00"}
    assert days["2026-11-27"]["status"] == "open"
    assert days["2026-11-27"]["open"]["end"] == "13:00"
    bad = get(tradier_session, emu, "/markets/calendar", month="13", year="2026")
    assert bad.status_code == 400
    assert "13" in bad.json()["errors"]["error"]
