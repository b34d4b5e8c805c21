"""A run killed with SIGKILL never wedges the instance: the waiting run and the next run proceed.

Shown here with a real ``kill -9`` of a child process that holds the ``duckdb_warehouse`` pool
slot in the middle of ``tradier_balances``, while another run already waits for that slot. How
fast they proceed (the documented minute) is measured by ``bench/soak.py``, not asserted here: a
loaded machine may take longer, and a test asserts behaviour, not speed.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psutil
import pytest

from spx_pipeline.definitions import build_definitions
from spx_pipeline.emulator import FaultConfig
from spx_pipeline.resources import TradierResource, WarehouseResource
from spx_pipeline.resources.run_guard import WORKER_TAG, reap_dead_runs, worker_alive, worker_identity
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline_tests.fixtures.pipeline import PipelineEnv
from spx_pipeline_tests.fixtures.runs import StartChild, local_instance_home, wait_for

# How long to wait for the waiting run before calling it wedged: far past the documented minute
# (README, docs/deployment.md; `bench/soak.py` reports the real figure), so only a run that never
# proceeds fails, however loaded the machine.
WEDGED_AFTER_SECONDS = 300.0


def slot_holders(home: Path) -> list[tuple[str, str]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        return [(slot.run_id, slot.step_key) for slot in info.claimed_slots]


def waiting_runs(home: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        claimed = {slot.run_id for slot in info.claimed_slots}
        return {step.run_id for step in info.pending_steps} - claimed


@pytest.mark.slow
@pytest.mark.e2e
def test_kill_9_of_the_slot_holder_lets_the_waiting_run_and_the_next_run_succeed(
    pipeline_env: PipelineEnv, tmp_path: Path, start_child_run: StartChild
) -> None:
    env = pipeline_env
    home = local_instance_home(tmp_path / "dagster_home")
    # Balances hang and run A's client waits for them as long as the test may take, so run A sits
    # in tradier_balances holding the only warehouse slot until it is killed, however slow the machine.
    env.emulator.set_faults(FaultConfig(latency_ms=600_000, path_prefix="/accounts"))
    patient = TradierResource(base_url=env.emulator.base_url, read_timeout_seconds=600.0, max_attempts=1)
    a = start_child_run(env, home, defs=build_definitions({**env.resources(), "tradier": patient}))
    a_id = a.run_id()
    wait_for(lambda: (a_id, "tradier_balances") in slot_holders(home), 180, "run A holding the slot")

    results: list[dg.ExecuteInProcessResult] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        env.set_now(env.clock.now() + timedelta(seconds=1))
        # The waiting run's guard looks every second here (5 s by default: 8.9 s from the kill to
        # the waiting run's success was measured with it).
        guarded = WarehouseResource(path=str(env.warehouse_path), guard_interval_seconds=1.0)
        job = build_definitions({**env.resources(), "warehouse": guarded}).resolve_job_def(
            "portfolio_sync_job"
        )
        waiter = threading.Thread(
            target=lambda: results.append(job.execute_in_process(instance=instance, raise_on_error=False))
        )
        waiter.start()
        wait_for(lambda: bool(waiting_runs(home)), 180, "run B waiting behind run A")

        killed = time.monotonic()
        a.kill()
        env.emulator.set_faults(FaultConfig())
        waiter.join(WEDGED_AFTER_SECONDS)
        recovered = time.monotonic() - killed
        assert results and results[0].success, "the run waiting behind the killed one did not succeed"
        print(f"\nrun waiting behind a kill -9 finished {recovered:.1f}s after the kill")

        dead = instance.get_run_by_id(a_id)
        assert dead is not None and dead.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(a_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        assert "is gone (killed or crashed)" in (failure[-1].event_log_entry.message or "")

        # And the next run starts and finishes at once: nothing is held any more.
        env.set_now(env.clock.now() + timedelta(seconds=1))
        assert job.execute_in_process(instance=instance, raise_on_error=False).success
    assert slot_holders(home) == []
    assert env.count("portfolio_snapshots", "run_id = ?", [a_id]) == 0


@pytest.fixture
def log_tail(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Starts a ``tail -F`` of a compute log file of a run, as Dagster's local compute log manager
    runs it; every one started is killed after the test, whatever its outcome."""
    started: list[subprocess.Popen[bytes]] = []

    def start(run_id: str) -> subprocess.Popen[bytes]:
        logs = tmp_path / "storage" / run_id / "compute_logs"
        logs.mkdir(parents=True)
        (logs / "step.out").touch()
        tail = subprocess.Popen(["tail", "-F", "-c", "+0", str(logs / "step.out")], stdout=subprocess.DEVNULL)
        started.append(tail)
        wait_for(lambda: log_tails(run_id) == [tail.pid], 60, "the tail process listed")
        return tail

    yield start
    for tail in started:
        tail.kill()
        tail.wait(30)


def log_tails(run_id: str) -> list[int]:
    """Pids of `tail` processes following run ``run_id``'s compute logs."""
    marker = f"/{run_id}/compute_logs/"
    tails = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "tail" and any(marker in arg for arg in process.info["cmdline"] or ()):
            tails.append(process.pid)
    return tails


def test_worker_identity_tells_a_live_process_from_a_dead_or_reused_pid() -> None:
    me = worker_identity()
    assert worker_alive(me) is True
    host, pid, started = me.rsplit(":", 2)
    assert worker_alive(f"{host}:{pid}:{float(started) - 100:.3f}") is False  # same pid, other process
    assert worker_alive(f"{host}:99999999:{started}") is False
    assert worker_alive(f"another-host:{pid}:{started}") is None  # not ours to judge


def test_the_reaper_frees_slots_of_finished_runs_and_fails_runs_whose_worker_died(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_tail: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    home = local_instance_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage

        def run(status: dg.DagsterRunStatus, worker: str | None) -> str:
            created = instance.create_run_for_job(
                dg.GraphDefinition(name="g", node_defs=[]).to_job(),
                tags={WORKER_TAG: worker} if worker else {},
            )
            if status == dg.DagsterRunStatus.NOT_STARTED:
                return created.run_id
            instance.handle_new_event(
                dg.EventLogEntry(
                    error_info=None,
                    level="INFO",
                    user_message="",
                    run_id=created.run_id,
                    timestamp=time.time(),
                    dagster_event=dg.DagsterEvent(
                        dg.DagsterEventType.RUN_START.value
                        if status == dg.DagsterRunStatus.STARTED
                        else dg.DagsterEventType.RUN_SUCCESS.value,
                        job_name="g",
                    ),
                )
            )
            return created.run_id

        host = worker_identity().rsplit(":", 2)[0]
        dead = run(dg.DagsterRunStatus.STARTED, f"{host}:99999999:1.000")
        alive = run(dg.DagsterRunStatus.STARTED, worker_identity())
        finished = run(dg.DagsterRunStatus.SUCCESS, None)
        untagged = run(dg.DagsterRunStatus.STARTED, None)  # died before recording its worker
        queued = run(dg.DagsterRunStatus.NOT_STARTED, None)  # waits for a launcher: not ours to judge
        created = run(dg.DagsterRunStatus.NOT_STARTED, f"{host}:99999998:1.000")  # died before RUN_START
        storage.claim_concurrency_slot(WAREHOUSE_POOL, dead, "step")  # the pool's one slot
        # The `tail -F` followers a killed run's compute log manager leaves behind, and a live run's.
        tails = {run_id: log_tail(run_id) for run_id in (dead, alive)}
        storage.claim_concurrency_slot(WAREHOUSE_POOL, finished, "step")  # waits behind it
        assert len(storage.get_concurrency_info(WAREHOUSE_POOL).pending_steps) == 2
        report = reap_dead_runs(instance)
        assert sorted(report.failed_runs) == sorted([dead, created])
        assert instance.get_run_by_id(queued).status == dg.DagsterRunStatus.NOT_STARTED
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
        assert report.freed_runs == sorted([dead, finished])
        assert report.stopped_log_tails == 1 and log_tails(dead) == [] and tails[dead].wait(30) is not None
        assert log_tails(alive) == [tails[alive].pid]  # a live run's followers are its own business
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.claimed_slots == [] and info.pending_steps == []
        assert instance.get_run_by_id(untagged).status == dg.DagsterRunStatus.STARTED  # still within grace
        monkeypatch.setattr("spx_pipeline.resources.run_guard.UNTAGGED_GRACE_SECONDS", 0.0)
        assert reap_dead_runs(instance).failed_runs == [untagged]
        assert not reap_dead_runs(instance)  # nothing left to do


def test_the_dead_run_reaper_sensor_fails_a_dead_run_on_an_idle_instance(tmp_path: Path) -> None:
    from spx_pipeline.definitions import defs

    home = local_instance_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        host = worker_identity().rsplit(":", 2)[0]
        run = instance.create_run_for_job(
            dg.GraphDefinition(name="g", node_defs=[]).to_job(), tags={WORKER_TAG: f"{host}:99999997:1.000"}
        )
        sensor = defs.resolve_sensor_def("dead_run_reaper")
        with dg.build_sensor_context(instance=instance) as context:
            tick = sensor.evaluate_tick(context)
        assert not tick.run_requests and run.run_id in (tick.skip_message or "")
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        with dg.build_sensor_context(instance=instance) as context:
            assert sensor.evaluate_tick(context).skip_message == "No dead run and no stale pool slot."
