"""The one epoch conversion: numbers in any unit in, UTC out, and epoch milliseconds written back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from spx_pipeline.domain.quotes import epoch_datetime, epoch_seconds, to_epoch_ms, to_epoch_seconds

MOMENT = datetime(2026, 11, 24, 15, 30, 0, 123000, tzinfo=UTC)


def test_written_milliseconds_read_back_to_the_same_instant() -> None:
    ms = to_epoch_ms(MOMENT)
    assert ms == 1795534200123
    assert epoch_datetime(ms) == MOMENT
    assert to_epoch_ms(MOMENT.astimezone(timezone(timedelta(hours=-5)))) == ms  # the offset does not matter
    assert to_epoch_ms(1795534200.123) == ms  # epoch seconds (a rate-limit window's end) too


@pytest.mark.parametrize(
    "value", [1795534200, "1795534200000", Decimal("1795534200000000"), 1795534200 * 10**9]
)
def test_every_unit_is_told_apart_by_magnitude(value: object) -> None:
    assert epoch_seconds(value) == pytest.approx(1795534200.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -5, "junk", None, True, "nan"])
def test_nothing_readable_is_unknown(value: object) -> None:
    assert epoch_seconds(value) is None  # type: ignore[arg-type]
    assert epoch_datetime(value) is None  # type: ignore[arg-type]


def test_whole_seconds_for_the_market_clock() -> None:
    assert to_epoch_seconds(MOMENT) == 1795534200
