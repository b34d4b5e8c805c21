"""Setup store on SQLite and PostgreSQL: validation, exact decimals, status, domain conversion."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from spx_pipeline.domain.setups import Setup
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.setups import SetupError, SetupRecord, SetupStore


def test_add_round_trips_exact_values(app_db: AppDatabase) -> None:
    store = SetupStore(app_db)
    record = store.add(
        direction="bearish",
        setup_id="fade-open",
        label="Fade the open",
        symbol="spxw",
        target_delta=0.3,
        stop_premium="1.35",
        t1_gain_pct=Decimal("0.75"),
        t1_fraction=0.25,
        runner_stop_limit_offset="0.10",
    )
    again = store.get("fade-open")
    assert again == record
    assert record.symbol == "SPXW"
    assert record.target_delta == pytest.approx(0.3)
    assert record.stop_premium == Decimal("1.35")
    assert record.t1_gain_pct == Decimal("0.75")
    assert record.t1_fraction == Decimal("0.25")
    assert record.runner_stop_limit_offset == Decimal("0.10")
    assert record.status == "active"
    assert record.created_at.tzinfo is not None


def test_defaults_and_generated_id(app_db: AppDatabase) -> None:
    record = SetupStore(app_db).add(direction="bullish")
    assert record.id.startswith("setup-") and len(record.id) == len("setup-") + 12
    assert (record.target_delta, record.stop_premium, record.t1_gain_pct, record.t1_fraction) == (
        0.40,
        None,
        Decimal("0.5"),
        Decimal("0.5"),
    )


def test_active_lists_only_active_setups_and_deactivate_is_idempotent(app_db: AppDatabase) -> None:
    store = SetupStore(app_db)
    store.add(direction="bullish", setup_id="a")
    store.add(direction="bearish", setup_id="b")
    assert store.deactivate("a") is True
    assert store.deactivate("a") is False
    assert [r.id for r in store.active()] == ["b"]
    assert [r.id for r in store.list()] == ["a", "b"]
    assert store.activate("a") is True
    assert sorted(r.id for r in store.active()) == ["a", "b"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "long"}, "direction 'long' is not valid"),
        ({"direction": "bullish", "target_delta": 1.5}, r"target_delta must be in \(0, 1\), got 1\.5"),
        ({"direction": "bullish", "target_delta": "abc"}, "target_delta 'abc' is not a number"),
        ({"direction": "bullish", "stop_premium": "-1"}, "stop_premium '-1' must be greater than 0"),
        ({"direction": "bullish", "stop_premium": "1.23456"}, "more than 4 decimal places"),
        (
            {"direction": "bullish", "t1_fraction": "1.5"},
            r"t1_fraction must be in \(0, 1\], got Decimal\('1\.5'\)",
        ),
        ({"direction": "bullish", "runner_stop_limit_offset": "x"}, "runner_stop_limit_offset 'x' is not"),
        ({"direction": "bullish", "symbol": "NDX"}, "symbol 'NDX' is not valid"),
        ({"direction": "bullish", "setup_id": "bad id"}, "setup id 'bad id' is not valid"),
        ({"direction": "bullish", "status": "done"}, "status 'done' is not valid"),
    ],
)
def test_bad_input_is_refused_naming_field_and_value(
    sqlite_app_db: AppDatabase, kwargs: dict[str, object], message: str
) -> None:
    store = SetupStore(sqlite_app_db)
    with pytest.raises(SetupError, match=message):
        store.add(**kwargs)  # type: ignore[arg-type]
    assert store.list() == []


def test_duplicate_and_unknown_ids(sqlite_app_db: AppDatabase) -> None:
    store = SetupStore(sqlite_app_db)
    store.add(direction="bullish", setup_id="x")
    with pytest.raises(SetupError, match="'x' already exists"):
        store.add(direction="bearish", setup_id="x")
    with pytest.raises(SetupError, match="no setup with id 'nope'"):
        store.deactivate("nope")


def test_to_domain_carries_every_stored_field(sqlite_app_db: AppDatabase) -> None:
    """Each field with a value of its own, so a field copied from the wrong one (or dropped) shows."""
    record = SetupStore(sqlite_app_db).add(
        direction="bearish", setup_id="d2", target_delta=0.3, stop_premium="2.5", t1_gain_pct="0.75",
        t1_fraction="0.25", runner_stop_limit_offset="0.2", priority=7,
    )  # fmt: skip
    assert record.to_domain() == Setup(
        setup_id="d2", direction="bearish", target_delta=0.3, stop_premium=Decimal("2.5"),
        t1_gain_pct=Decimal("0.75"), t1_fraction=Decimal("0.25"),
        runner_stop_limit_offset=Decimal("0.2"), priority=7,
    )  # fmt: skip
    # Every field of the domain setup is stored (under its own name but the id), so none is lost.
    stored = {f.name for f in dataclasses.fields(SetupRecord)}
    assert {f.name for f in dataclasses.fields(Setup)} - {"setup_id"} <= stored


def test_to_domain_builds_the_domain_setup(sqlite_app_db: AppDatabase) -> None:
    record = SetupStore(sqlite_app_db).add(direction="bearish", setup_id="d1", stop_premium="2.5")
    setup = record.to_domain()
    assert setup.setup_id == "d1"
    assert setup.direction == "bearish"
    assert setup.target_delta == pytest.approx(0.40)
    assert setup.stop_premium == Decimal("2.5")
    assert setup.t1_gain_pct == Decimal("0.5")
