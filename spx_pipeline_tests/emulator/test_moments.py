"""At every pinned moment the calendar, the local server's clock and listings, and the schedule agree."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest

from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.clock import FixedClock
from spx_pipeline.defs.automation import schedule_tick
from spx_pipeline.domain.market_calendar import is_open_at, trading_day
from spx_pipeline.emulator import EmulatorConfig, TradierEmulator
from spx_pipeline_tests.fixtures.moments import MOMENT_IDS, MOMENTS, Moment

TOKEN = "demo-margin-token-0001"


@pytest.fixture(scope="module")
def emulator() -> TradierEmulator:
    with TradierEmulator(EmulatorConfig(rate_limits_enabled=False), clock=FixedClock(MOMENTS[0].at)) as emu:
        yield emu


@pytest.mark.parametrize("moment", MOMENTS, ids=MOMENT_IDS)
def test_the_domain_calendar_at(moment: Moment) -> None:
    assert trading_day(moment.at) == moment.session
    assert is_open_at(moment.at) is moment.open


@pytest.mark.parametrize("moment", MOMENTS, ids=MOMENT_IDS)
def test_the_local_server_answers_for_its_pinned_clock(emulator: TradierEmulator, moment: Moment) -> None:
    emulator.clock.set(moment.at)  # type: ignore[attr-defined]
    with TradierClient(TOKEN, base_url=emulator.base_url) as client:
        clock = client.get_clock()
        listed = client.get_option_expirations("SPX", include_all_roots=True)
        chain = client.option_chain_frame("SPX", listed[0], greeks=False)
    assert clock.state == moment.state
    assert clock.date == moment.ny_date  # New York's date, even at 04:30 UTC the next day
    assert clock.timestamp == moment.at
    assert emulator.today == moment.session
    assert listed[0] == moment.session  # the current 0DTE series, or the next session's
    stamps = chain["bid_date"].dropna()
    assert (stamps <= moment.at).all() and (stamps > moment.at - timedelta(minutes=1)).all()


@pytest.mark.parametrize("moment", MOMENTS, ids=MOMENT_IDS)
def test_the_schedule_runs_only_in_regular_hours(moment: Moment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADIER_PORTFOLIO_SYNC_ENABLED", "true")
    result = schedule_tick(moment.at)
    assert isinstance(result, dg.RunRequest) is moment.open


def test_the_calendar_defaults_to_new_yorks_month_late_in_the_evening(emulator: TradierEmulator) -> None:
    # Already December in UTC.
    emulator.clock.set("2026-11-30T23:30:00-05:00")  # type: ignore[attr-defined]
    with TradierClient(TOKEN, base_url=emulator.base_url) as client:
        body = client.transport.request("GET", "/markets/calendar")
    assert body["calendar"]["month"] == 11
    assert date(2026, 11, 30).isoformat() in {d["date"] for d in body["calendar"]["days"]["day"]}
