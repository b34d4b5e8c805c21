"""The four-year calendar blocks answer every session question exactly as the whole 2000-2045 span.

The reference is the module itself with every question sent to ``nyse()`` (what it did before the
blocks): the same functions, the same answers and the same refusals, day by day over the windows
where a block could differ (its edges, the span's edges, New Year) and the days that are not plain
(holidays, half days, 9/11, Sandy, national days of mourning).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from spx_pipeline.domain import market_calendar as mc


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# Each window: where a question moves to the next block (New Year of an even year: blocks hold the
# pairs 2000-01, 2002-03, ...), the span's ends, and days that are not plain.
WINDOWS = [
    (date(2000, 1, 3), date(2000, 2, 10)),  # the span's first session
    (date(2001, 9, 5), date(2001, 9, 20)),  # 9/11: four sessions closed
    (date(2001, 12, 20), date(2002, 1, 10)),  # a block's pair ends, the next begins
    (date(2004, 6, 8), date(2004, 6, 14)),  # Reagan's day of mourning
    (date(2012, 10, 26), date(2012, 11, 2)),  # Sandy: two sessions closed
    (date(2018, 12, 3), date(2018, 12, 7)),  # Bush's day of mourning
    (date(2024, 12, 20), date(2025, 1, 14)),  # New Year inside a pair, Carter's day of mourning
    (date(2025, 12, 20), date(2026, 1, 10)),  # the next pair's block
    (date(2026, 7, 1), date(2026, 7, 7)),  # Independence Day on a Saturday
    (date(2026, 11, 24), date(2027, 1, 5)),  # Black Friday and Christmas Eve half days
    (date(2043, 12, 24), date(2044, 1, 6)),  # the last block, which ends with the span
    (date(2045, 11, 20), date(2045, 12, 29)),  # the span's last session
]
DAYS = sorted({d for first, last in WINDOWS for d in _days(first, last)})
# The regular open and close, the half days' close, and both sides of each (Eastern, as UTC below).
MOMENTS = [time(9, 29), time(9, 30), time(12, 59), time(13, 0), time(15, 59), time(16, 0), time(23, 0)]


def _answer(ask: Callable[[], Any]) -> Any:
    try:
        return ask()
    except Exception as exc:  # the refusal is part of the answer: its type and its words
        return (type(exc).__name__, str(exc))


def _questions(day: date) -> dict[str, Callable[[], Any]]:
    asked: dict[str, Callable[[], Any]] = {
        "is_session": lambda: mc.is_session(day),
        "session": lambda: mc.session(day),
        "next_session": lambda: mc.next_session(day),
        "previous_session": lambda: mc.previous_session(day),
        "sessions_from_1": lambda: mc.sessions_from(day, 1),
        "sessions_from_11": lambda: mc.sessions_from(day, 11),
        "sessions_between_week": lambda: mc.sessions_between(day, day + timedelta(days=7)),
        "sessions_between_backwards": lambda: mc.sessions_between(day, day - timedelta(days=3)),
    }
    for at in MOMENTS:
        moment = datetime.combine(day, at, tzinfo=mc.NEW_YORK).astimezone(UTC)
        asked[f"is_open_at {at}"] = lambda moment=moment: mc.is_open_at(moment)
        asked[f"trading_day {at}"] = lambda moment=moment: mc.trading_day(moment)
        asked[f"minutes_to_close {at}"] = lambda moment=moment: mc.minutes_to_close(moment)
    return asked


def _answers(days: list[date]) -> dict[tuple[date, str], Any]:
    return {(day, name): _answer(ask) for day in days for name, ask in _questions(day).items()}


def test_every_answer_is_the_whole_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _answers(DAYS)
    with monkeypatch.context() as patched:
        patched.setattr(mc, "calendar_for", lambda first, last=None: mc.nyse())
        whole = _answers(DAYS)
    assert blocks == whole
    # The windows hold what they are there for (so the comparison above is not of plain days only).
    assert not mc.is_session(date(2001, 9, 12)) and not mc.is_session(date(2025, 1, 9))
    assert mc.session(date(2026, 11, 27)).is_early_close and mc.session(date(2026, 12, 24)).is_early_close
    assert mc.previous_session(date(2026, 1, 2)) == date(2025, 12, 31)
    assert "outside the NYSE calendar span" in str(blocks[(date(2045, 12, 29), "next_session")])


@pytest.mark.parametrize("year", [2000, 2002, 2011, 2024, 2026, 2027, 2045])
def test_a_block_holds_the_whole_spans_schedule_and_a_year_around_its_pair(year: int) -> None:
    start, end = mc._block_span(year)
    block = mc.calendar_for(date(year, 6, 1))
    assert (block.first_session.date(), block.last_session.date()) == (
        mc.nyse().date_to_session(start, "next").date(),
        mc.nyse().date_to_session(end, "previous").date(),
    )
    whole = mc.nyse().schedule.loc[block.first_session : block.last_session]
    assert block.schedule.equals(whole)
    assert start <= date(year - 1, 1, 1) or start == mc.CALENDAR_START
    assert end >= date(year + 1, 12, 31) or end == mc.CALENDAR_END


def test_a_question_past_its_block_goes_to_the_whole_span() -> None:
    assert mc.calendar_for(date(2026, 6, 1), date(2029, 6, 1)) is mc.nyse()
    assert mc.calendar_for(date(2026, 6, 1), date(2028, 6, 1)) is not mc.nyse()
    many = mc.sessions_from(date(2026, 6, 1), 2000)  # eight years of sessions: the whole span answers
    whole = mc.nyse().sessions_in_range("2026-06-01", many[-1])
    assert len(many) == 2000 and many == [s.date() for s in whole]
