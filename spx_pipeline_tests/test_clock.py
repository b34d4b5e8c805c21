"""The one clock: pinned, ticking and system clocks, SPX_NOW, and refusing ambiguous instants."""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spx_pipeline.clock import (
    NOW_VAR,
    FixedClock,
    SystemClock,
    TickingClock,
    clock_from_env,
    is_pinned,
    parse_instant,
)

PACKAGE = Path(__file__).resolve().parents[1] / "spx_pipeline"


def test_fixed_clock_stays_put_until_moved() -> None:
    clock = FixedClock("2026-11-26T15:00:00-05:00")
    assert clock.now() == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(minutes=5)) == datetime(2026, 11, 26, 20, 5, tzinfo=UTC)
    clock.set(datetime(2026, 3, 9, 13, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert is_pinned(clock) and not is_pinned(SystemClock())


def test_ticking_clock_starts_at_the_pin_and_moves_forward() -> None:
    clock = TickingClock("2026-11-24T10:30:00-05:00")
    first = clock.now()
    time.sleep(0.01)
    second = clock.now()
    assert datetime(2026, 11, 24, 15, 30, tzinfo=UTC) <= first < second < first + timedelta(seconds=5)
    assert is_pinned(clock)


def test_system_clock_is_timezone_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T15:00:00-05:00", datetime(2026, 11, 26, 20, 0, tzinfo=UTC)),
        ("2026-11-27T04:30:00Z", datetime(2026, 11, 27, 4, 30, tzinfo=UTC)),
        (" 2026-03-09T09:30:00-04:00 ", datetime(2026, 3, 9, 13, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant_accepts_offsets_and_z(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["2026-11-26T15:00:00", "2026-11-26", "tomorrow", "", "2026-13-01T00:00Z"])
def test_parse_instant_refuses_naive_or_malformed_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match=rf"^{NOW_VAR}={text!r}"):
        parse_instant(text, name=NOW_VAR)


def test_clock_from_env_pins_on_spx_now_and_follows_real_time_without_it() -> None:
    pinned = clock_from_env({NOW_VAR: "2026-11-26T15:00:00-05:00"})
    assert isinstance(pinned, FixedClock)
    assert pinned.now() == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert isinstance(clock_from_env({}), SystemClock)
    assert isinstance(clock_from_env({NOW_VAR: "  "}), SystemClock)
    default = FixedClock("2026-01-02T10:00:00-05:00")
    assert clock_from_env({}, default=default) is default
    with pytest.raises(ValueError, match=NOW_VAR):
        clock_from_env({NOW_VAR: "2026-11-26 15:00"})


def _wall_clock_reads(source: str) -> list[str]:
    """Calls of datetime.now / date.today / time.time / Timestamp.now / utcnow in a module."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (attr, owner_name) in {
                ("now", "datetime"),
                ("utcnow", "datetime"),
                ("today", "date"),
                ("today", "datetime"),
                ("time", "time"),
                ("now", "Timestamp"),
                ("utcnow", "Timestamp"),
                ("today", "Timestamp"),
            }:
                found.append(f"{owner_name}.{attr}() line {node.lineno}")
    return found


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    assert _wall_clock_reads("import time\ntime.time()\ndatetime.now(UTC)\npd.Timestamp.now()") == [
        "time.time() line 2",
        "datetime.now() line 3",
        "Timestamp.now() line 4",
    ]
    offenders = {
        str(path.relative_to(PACKAGE)): reads
        for path in PACKAGE.rglob("*.py")
        if path.name != "clock.py" or path.parent != PACKAGE
        if (reads := _wall_clock_reads(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
