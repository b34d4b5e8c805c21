"""Dead runs must not wedge the instance: mark them failed and free the pool slots they hold.

A run killed with ``kill -9`` keeps its STARTED status and its ``duckdb_warehouse`` pool slot for
ever: Dagster frees no slot of an unfinished run, and its run monitoring cannot tell a dead worker
for the default launcher or ``execute_in_process``. So every run records its worker (``spx/worker``:
host, pid and the process's start time, so a reused pid is not mistaken for it), and the reaper
fails runs whose worker on this host is gone (or that never recorded one and stayed silent for
``UNTAGGED_GRACE_SECONDS``) and frees the slots of finished runs. It runs when a warehouse run
starts, every few seconds while one executes, and from the ``dead_run_reaper`` sensor; runs of
other hosts are left to Dagster's run monitoring.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Final

import dagster as dg
import psutil
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from spx_pipeline.clock import wall_epoch

WORKER_TAG: Final = "spx/worker"
WATCH_INTERVAL_SECONDS: Final = 5.0
UNTAGGED_GRACE_SECONDS: Final = 120.0
_IN_PROGRESS: Final = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
# A run its own process creates (execute_in_process) is NOT_STARTED until RUN_START; it carries
# its worker tag from creation, so a kill in between is told apart from a run queued for later.
_CREATED: Final = [DagsterRunStatus.NOT_STARTED]
_START_TIME_SLACK: Final = 1.0

log = logging.getLogger("spx_pipeline.run_guard")


def worker_identity(pid: int | None = None) -> str:
    """``host:pid:start-time`` of a process (this one by default)."""
    process = psutil.Process(pid or os.getpid())
    return f"{socket.gethostname()}:{process.pid}:{process.create_time():.3f}"


def worker_tags() -> dict[str, str]:
    """Tags for a run this process is about to execute itself (``execute_in_process``)."""
    return {WORKER_TAG: worker_identity()}


def worker_alive(identity: str) -> bool | None:
    """Whether the process named by ``worker_identity`` still runs; None when it is on another host."""
    try:
        host, pid_text, started_text = identity.rsplit(":", 2)
        pid, started = int(pid_text), float(started_text)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(process.create_time() - started) < _START_TIME_SLACK
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return None


@dataclass
class ReapReport:
    """What one pass found: runs marked failed, and runs whose pool slots were freed."""

    failed_runs: list[str] = field(default_factory=list)
    freed_runs: list[str] = field(default_factory=list)
    stopped_log_tails: int = 0

    def __bool__(self) -> bool:
        return bool(self.failed_runs or self.freed_runs or self.stopped_log_tails)

    def describe(self) -> str:
        return (
            f"dead runs marked failed: {', '.join(self.failed_runs) or 'none'}; "
            f"pool slots freed for runs: {', '.join(self.freed_runs) or 'none'}; "
            f"orphaned log tails stopped: {self.stopped_log_tails}"
        )


def stop_log_tails(run_id: str) -> int:
    """Stop the ``tail -F`` processes Dagster's local compute log manager left for a dead run.

    The run's process starts one per captured stream and stops them when the run ends; killed, it
    never does, and the tails live on for ever, holding the log files open. They are told apart by
    the run's own log folder in their arguments. Returns how many were stopped.
    """
    marker = f"{os.sep}{run_id}{os.sep}compute_logs{os.sep}"
    stopped = 0
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            if process.info["name"] == "tail" and any(marker in arg for arg in process.info["cmdline"] or ()):
                process.kill()
                stopped += 1
        except psutil.Error:
            continue
    return stopped


def reap_dead_runs(instance: dg.DagsterInstance, *, keep: str | None = None) -> ReapReport:
    """One pass over runs in progress and runs holding pool slots (``keep``: a run never touched)."""
    report = ReapReport()
    for record in instance.get_run_records(filters=RunsFilter(statuses=[*_IN_PROGRESS, *_CREATED])):
        run = record.dagster_run
        if run.run_id == keep:
            continue
        identity = run.tags.get(WORKER_TAG)
        if identity is None and run.status in _CREATED:
            continue  # queued or launched by the daemon: not started by a worker yet
        if identity is not None:
            if worker_alive(identity) is not False:
                continue
            message = (
                f"Run worker {identity} is gone (killed or crashed); marked failed so its pool slots are "
                "released and later runs proceed."
            )
        else:
            # Dagster stamps run records with the real wall clock, whatever SPX_NOW pins.
            quiet = wall_epoch() - record.update_timestamp.timestamp()
            if quiet < UNTAGGED_GRACE_SECONDS:
                continue
            message = (
                f"Run never reached its first step and wrote nothing for {quiet:.0f}s: its worker died "
                "before recording itself; marked failed."
            )
        instance.report_run_failed(run, message)
        report.failed_runs.append(run.run_id)
        if identity is not None:  # its worker was on this host: so were its log tails
            report.stopped_log_tails += stop_log_tails(run.run_id)
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return report
    holders = set(storage.get_concurrency_run_ids())
    for key in storage.get_concurrency_keys():
        holders.update(slot.run_id for slot in storage.get_concurrency_info(key).claimed_slots)
    for run_id in sorted(holders - {keep}):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            report.freed_runs.append(run_id)
    return report


class RunGuard:
    """Tags the run with its worker, reaps once, then keeps reaping while the run executes."""

    def __init__(
        self, instance: dg.DagsterInstance, run_id: str, *, interval: float = WATCH_INTERVAL_SECONDS
    ):
        self._instance = instance
        self._run_id = run_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ReapReport:
        """Record this process as the run's worker, unless another live one already is.

        With steps in processes of their own (multiprocess, Celery), the orchestrating process
        records itself first and outlives every step; a step process must not replace it.
        """
        run = self._instance.get_run_by_id(self._run_id)
        recorded = run.tags.get(WORKER_TAG) if run is not None else None
        me = worker_identity()
        if recorded is None or recorded == me or worker_alive(recorded) is False:
            self._instance.add_run_tags(self._run_id, {WORKER_TAG: me})
        report = self._reap()
        self._thread = threading.Thread(target=self._watch, name="spx-run-guard", daemon=True)
        self._thread.start()
        return report

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 5)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self._reap()

    def _reap(self) -> ReapReport:
        try:
            report = reap_dead_runs(self._instance, keep=self._run_id)
        except Exception:  # the guard must never fail the run it protects
            log.exception("reaping dead runs failed")
            return ReapReport()
        if report:
            log.warning("run %s: %s", self._run_id, report.describe())
        return report
