"""``broker_read_step``: the one start of fidelity and reconciliation (warehouse, run moment, read).

Both assets took these figures inline before; here each is pinned against what the inline code
read: the run's id, the pinned instant and its NYSE session, the run that materialized
``tradier_positions`` and the accounts its metadata says the broker answered for.
"""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from spx_pipeline.defs.execution.assets import BrokerReadStep, broker_read_step
from spx_pipeline.resources import ClockResource, WarehouseResource

# Black Friday, after its 13:00 early close: the session is the next one (trading_day's rule).
NOW = datetime(2026, 11, 27, 13, 5, tzinfo=ZoneInfo("America/New_York"))


@dg.asset(key="tradier_positions")
def _positions() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"reported_accounts": dg.MetadataValue.json(["VA222", "VA111"])})


def _probe(found: list[BrokerReadStep]) -> dg.AssetsDefinition:
    @dg.asset(deps=["tradier_positions"])
    def probe(context: dg.AssetExecutionContext, warehouse: WarehouseResource, clock: ClockResource) -> None:
        found.append(broker_read_step(context, warehouse, clock))

    return probe


def test_a_step_names_its_run_moment_and_the_latest_broker_read(tmp_path: Path) -> None:
    found: list[BrokerReadStep] = []
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "clock": ClockResource(now=NOW.isoformat()),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        read = dg.materialize([_positions], instance=instance)
        step_run = dg.materialize(
            [_probe(found)], instance=instance, resources=resources, selection=["probe"]
        )
    [step] = found
    assert read.run_id != step_run.run_id
    assert step.run_id == step_run.run_id
    assert step.captured_at == NOW
    assert step.session == date(2026, 11, 30)
    assert step.read == read.run_id  # the read's run, not the step's
    assert step.reported == frozenset({"VA111", "VA222"})
    assert step.wh.path == tmp_path / "w.duckdb"


def test_a_step_without_a_broker_read_fails_naming_the_job(tmp_path: Path) -> None:
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "clock": ClockResource(now=NOW.isoformat()),
    }
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(dg.Failure, match="reconciliation_job"):
        dg.materialize([_positions, _probe([])], instance=instance, resources=resources, selection=["probe"])
