"""Soak: N portfolio syncs under injected faults and random ``kill -9``s, then an audit of the stores.

Run: ``.venv/bin/python bench/soak.py [--runs 200] [--kills 20] [--accounts 10] [--seed 7]``.

Everything is local and bounded: a temporary directory holds a SQLite app database, the DuckDB
warehouse with its published analyst copy, and a local Dagster instance (the project's local
instance yaml: pool ``duckdb_warehouse`` limited to 1); the local Tradier server listens on
127.0.0.1 only. Runs execute one after another in a worker process forked from this one (as a
run worker would); ``--kills`` of them, chosen at random, are ended with SIGKILL at a random
moment, and the next run starts in a fresh worker. Every run gets random faults: 5xx at
``--error-rate``, a few 429 bursts (``--window`` second rate-limit windows, so 200 runs fit in
minutes; the 60-second windows of Tradier are covered by the test suite with a fake clock) and
read timeouts. One account's token is planted, and the local server echoes every request's
``Authorization`` header (plain and base64) inside each balances body, so a missed redaction
shows up as a leak. An analyst thread queries the published copy the whole time.

After the last run and one clean run (which repairs drift), the audit prints one table:

* rows expected / written / lost: each published sync must account for every active account,
  either a snapshot or a failure row; a run Dagster reports successful must be published;
* duplicated: snapshot keys held more than once in the app database, the warehouse or the
  analyst copy; half runs: published syncs with some accounts neither snapshotted nor failed;
* drift: snapshot keys in one store and not another (app database, published warehouse,
  analyst copy);
* runs recovered: killed runs the next run's guard marked failed; wedged: runs that did not
  finish within ``--bound`` seconds, runs left in progress and pool slots left claimed;
* leak hits: the planted token (or its secret part, or the base64 of its header) in any file
  under the directory (stores, Parquet, instance, worker logs) or in this process's output.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import dagster as dg

from spx_pipeline.clock import NOW_VAR, parse_instant
from spx_pipeline.definitions import build_definitions
from spx_pipeline.demo import LOCAL_INSTANCE_YAML, seed_accounts_and_setups
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts
from spx_pipeline.resources import AppDatabaseResource, TradierResource, WarehouseResource
from spx_pipeline.resources.run_guard import worker_tags
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.storage.app.credentials import generate_key
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.snapshots import read_snapshots
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse

START = "2026-11-24T10:30:00-05:00"  # a regular session; each run is one second later


@dataclass(frozen=True)
class WorkerSpec:
    """What a run worker needs (plain data: workers are forked by a clean fork server)."""

    app_db_url: str
    warehouse_path: str
    home: str
    base_url: str
    key: str
    log_path: str

    def resources(self) -> dict[str, dg.ConfigurableResource]:
        return {
            "app_db": AppDatabaseResource(url=self.app_db_url),
            "warehouse": WarehouseResource(path=self.warehouse_path),
            "tradier": TradierResource(
                base_url=self.base_url,
                max_workers=16,
                read_timeout_seconds=0.5,
                max_attempts=3,
                rate_limit_budget_seconds=15.0,
            ),
        }


@dataclass
class Soak:
    root: Path
    accounts: int
    planted: str
    emulator: TradierEmulator
    app_db_url: str
    warehouse_path: Path
    home: Path
    key: str

    def spec(self) -> WorkerSpec:
        return WorkerSpec(
            self.app_db_url,
            str(self.warehouse_path),
            str(self.home),
            self.emulator.base_url,
            self.key,
            str(self.root / "worker.log"),
        )


@dataclass
class Outcome:
    index: int
    run_id: str | None
    success: bool | None  # None: killed (or wedged) before it reported
    killed: bool
    seconds: float


@dataclass
class Audit:
    values: dict[str, Any] = field(default_factory=dict)


def _worker(spec: WorkerSpec, conn: Connection) -> None:
    """A run worker: executes the job for each instant it is sent, answers (run id, success)."""
    log = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ["SPX_CREDENTIALS_KEY"] = spec.key
    os.environ.pop("SPX_CREDENTIALS_KEY_FILE", None)
    defs = build_definitions(spec.resources())
    job = defs.resolve_job_def("portfolio_sync_job")
    with dg.DagsterInstance.from_config(spec.home) as instance:
        while True:
            message = conn.recv()
            if message is None:
                break
            os.environ[NOW_VAR] = message
            conn.send(("started", None))
            result = job.execute_in_process(instance=instance, raise_on_error=False, tags=worker_tags())
            conn.send(("done", (result.run_id, result.success)))
    os._exit(0)


# Workers are forked by a fork server that imported Dagster and the code location once and runs no
# threads: forking this process directly (it runs the local server and an analyst thread) could
# copy a lock another thread holds and hang the worker.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["dagster", "spx_pipeline.definitions", "duckdb", "pandas"])


class Worker:
    def __init__(self, soak: Soak) -> None:
        parent, child = _CONTEXT.Pipe()
        self.conn = parent
        self.process = _CONTEXT.Process(target=_worker, args=(soak.spec(), child), daemon=True)
        self.process.start()

    def kill(self) -> None:
        if self.process.is_alive() and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(10)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(10)
        if self.process.is_alive():
            self.kill()


def run_ids(home: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {run.run_id for run in instance.get_runs()}


def echo_tokens(emulator: TradierEmulator) -> None:
    """The local server puts each request's bearer header (plain and base64) into balances bodies."""
    book = emulator.book
    real = book.balances
    tokens = {a.account_id: a.token for a in emulator.config.accounts}

    def balances(account_id: str) -> dict[str, Any]:
        body = real(account_id)
        header = f"Bearer {tokens.get(account_id, '')}"
        return {**body, "echo": {"authorization": header, "b64": base64.b64encode(header.encode()).decode()}}

    book.balances = balances  # type: ignore[method-assign]


def random_faults(rng: random.Random, error_rate: float) -> FaultConfig:
    return FaultConfig(
        error_rate=error_rate,
        burst_429=rng.choice([0, 0, 0, 0, 1, 2]),
        timeouts=rng.choice([0, 0, 0, 1]),
        timeout_seconds=1.0,
        seed=rng.randrange(1 << 30),
        path_prefix="/accounts",
    )


def soak_runs(soak: Soak, args: argparse.Namespace) -> tuple[list[Outcome], float]:
    rng = random.Random(args.seed)
    kills_left = min(args.kills, args.runs)
    outcomes: list[Outcome] = []
    worker = Worker(soak)
    worst_recovery = 0.0
    after_kill = False
    start = parse_instant(START, name="START")
    for index in range(args.runs):
        soak.emulator.set_faults(random_faults(rng, args.error_rate))
        before = run_ids(soak.home)
        began = time.monotonic()
        now = (start + timedelta(seconds=index)).isoformat()
        worker.conn.send(now)
        # Spread the kills over the runs left; a run that finishes before its kill moment is not
        # counted, so the kill goes to a later run. The moment is random within a typical run,
        # counted from the worker starting the run (fresh workers take a while to be ready).
        kill = kills_left > 0 and rng.random() < kills_left / (args.runs - index)
        answer = None
        deadline = began + args.bound
        while time.monotonic() < deadline:
            if worker.conn.poll(0.02):
                kind, payload = worker.conn.recv()
                if kind == "started":
                    if kill:
                        deadline = time.monotonic() + rng.uniform(0.05, 1.5)
                elif kind == "done":
                    answer = payload
                    break
        seconds = time.monotonic() - began
        killed = kill and answer is None
        if answer is None:  # killed on purpose, or wedged past the bound
            worker.kill()
            worker = Worker(soak)
            new = sorted(run_ids(soak.home) - before)
            outcomes.append(Outcome(index, new[0] if new else None, None, killed, seconds))
            kills_left -= killed
        else:
            run_id, success = answer
            outcomes.append(Outcome(index, run_id, success, False, seconds))
            if after_kill:
                worst_recovery = max(worst_recovery, seconds)
        after_kill = killed
        if (index + 1) % 20 == 0:
            print(f"  {index + 1}/{args.runs} runs", file=sys.stderr, flush=True)
    soak.emulator.set_faults(FaultConfig())
    worker.conn.send((start + timedelta(seconds=args.runs)).isoformat())
    kind, payload = worker.conn.recv()
    while kind != "done":
        kind, payload = worker.conn.recv()
    outcomes.append(Outcome(args.runs, payload[0], payload[1], False, 0.0))
    worker.stop()
    return outcomes, worst_recovery


def audit(soak: Soak, outcomes: list[Outcome], worst_recovery: float, bound: float) -> dict[str, Any]:
    wh = Warehouse(soak.warehouse_path)
    published = wh.query("SELECT DISTINCT run_id FROM run_publications WHERE stage = 'portfolio_sync'")[
        "run_id"
    ].tolist()
    snaps = wh.query("SELECT run_id, count(*) AS n FROM published.portfolio_snapshots GROUP BY run_id")
    fails = wh.query(
        "SELECT run_id, count(DISTINCT account_id) AS n FROM published.sync_failures GROUP BY run_id"
    )
    snap_n = dict(zip(snaps["run_id"], snaps["n"], strict=True))
    fail_n = dict(zip(fails["run_id"], fails["n"], strict=True))
    covered = wh.query(
        "SELECT run_id, count(DISTINCT account_id) AS n FROM (SELECT run_id, account_id FROM "
        "published.portfolio_snapshots UNION SELECT run_id, account_id FROM published.sync_failures) "
        "GROUP BY run_id"
    )
    covered_n = dict(zip(covered["run_id"], covered["n"], strict=True))
    succeeded = {o.run_id for o in outcomes if o.success}
    expected = soak.accounts * len(set(published) | succeeded)
    lost = sum(
        soak.accounts - min(soak.accounts, covered_n.get(run, 0)) for run in set(published) | succeeded
    )
    half = sum(1 for run in published if 0 < covered_n.get(run, 0) < soak.accounts)
    written = sum(snap_n.values()) + sum(fail_n.values())

    app = read_snapshots(AppDatabase(soak.app_db_url))
    wh_rows = wh.query("SELECT account_id, captured_at FROM published.portfolio_snapshots")
    analyst_rows = AnalystCatalog(soak.warehouse_path).query(
        "SELECT account_id, captured_at FROM portfolio_snapshots"
    )

    def keys(frame: Any) -> list[tuple[str, str]]:
        import pandas as pd

        stamps = pd.to_datetime(frame["captured_at"], utc=True).map(pd.Timestamp.isoformat)
        return list(zip(frame["account_id"], stamps, strict=True))

    key_sets = {
        name: keys(frame) for name, frame in (("app", app), ("warehouse", wh_rows), ("analyst", analyst_rows))
    }
    duplicated = sum(len(k) - len(set(k)) for k in key_sets.values())
    drift = len(set(key_sets["app"]) ^ set(key_sets["warehouse"])) + len(
        set(key_sets["warehouse"]) ^ set(key_sets["analyst"])
    )

    killed = [o for o in outcomes if o.killed]
    with dg.DagsterInstance.from_config(str(soak.home)) as instance:
        statuses = {o.run_id: instance.get_run_by_id(o.run_id).status for o in killed if o.run_id}
        in_progress = [r.run_id for r in instance.get_runs() if not r.is_finished]
        claimed = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
    recovered = sum(1 for status in statuses.values() if status == dg.DagsterRunStatus.FAILURE)
    completed_anyway = sum(1 for status in statuses.values() if status == dg.DagsterRunStatus.SUCCESS)
    wedged = sum(1 for o in outcomes if o.success is None and not o.killed) + len(in_progress) + len(claimed)
    return {
        "runs": len(outcomes) - 1,
        "kills": len(killed),
        "rows expected": expected,
        "rows written": written,
        "lost": lost,
        "duplicated": duplicated,
        "half runs": half,
        "drift": drift,
        "killed runs published whole (commit point passed)": sum(
            1 for o in killed if o.run_id in set(published)
        ),
        "runs recovered": f"{recovered}/{len(statuses)}"
        + (f" (+{completed_anyway} done first)" if completed_anyway else ""),
        "wedged": wedged,
        "worst next run after a kill": f"{worst_recovery:.1f} s (bound {bound:.0f} s)",
        "published syncs": len(published),
        "runs ok / failed": f"{sum(1 for o in outcomes if o.success)} / "
        f"{sum(1 for o in outcomes if o.success is False)}",
    }


def leak_hits(soak: Soak, planted: str, output: str) -> int:
    secret = planted.rsplit("-", 1)[1]
    needles = [planted.encode(), secret.encode(), base64.b64encode(f"Bearer {planted}".encode())[:24]]
    hits = 0
    for path in soak.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += sum(data.count(n) for n in needles)
    hits += sum(output.encode().count(n) for n in needles)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--error-rate", type=float, default=0.10, help="share of balance requests answered 5xx"
    )
    parser.add_argument("--window", type=float, default=3.0, help="rate-limit window of the local server (s)")
    parser.add_argument("--bound", type=float, default=60.0, help="a run not done within this is wedged (s)")
    parser.add_argument("--dir", type=Path, default=None, help="keep the stores here (default: a temp dir)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        root = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spx-soak-")))
        root.mkdir(parents=True, exist_ok=True)
        planted = f"PLANTED-soak-{uuid.uuid4().hex}"
        accounts = make_accounts(args.accounts, seed=args.seed)
        accounts[0] = replace(accounts[0], token=planted)
        emulator = TradierEmulator(
            EmulatorConfig(accounts=accounts, rate_limit_window_seconds=args.window)
        ).start()
        stack.callback(emulator.stop)
        echo_tokens(emulator)
        home = root / "dagster_home"
        home.mkdir(exist_ok=True)
        (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
        dg.DagsterInstance.from_config(str(home)).dispose()
        key = generate_key()
        os.environ["SPX_CREDENTIALS_KEY"] = key
        os.environ.pop("SPX_CREDENTIALS_KEY_FILE", None)
        os.environ[NOW_VAR] = START
        app_db_url = f"sqlite:///{root / 'app.sqlite'}"
        seed_accounts_and_setups(accounts, app_db_url=app_db_url, key=key, setups=(), label="soak")
        soak = Soak(root, args.accounts, planted, emulator, app_db_url, root / "warehouse.duckdb", home, key)

        analyst_reads, analyst_failures = 0, []
        stop = threading.Event()
        catalog = AnalystCatalog(soak.warehouse_path)

        def analyst() -> None:
            nonlocal analyst_reads
            while not stop.wait(0.05):
                if not catalog.catalog_path.exists():
                    continue
                try:
                    catalog.named_query("latest_snapshot_per_account")
                    analyst_reads += 1
                except Exception as exc:  # every failure is reported, none is expected
                    analyst_failures.append(repr(exc)[:200])

        reader = threading.Thread(target=analyst, daemon=True)
        reader.start()
        started = time.monotonic()
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            outcomes, worst = soak_runs(soak, args)
        stop.set()
        reader.join()
        elapsed = time.monotonic() - started
        faults = Counter(r.fault for r in emulator.request_log() if r.fault)
        result = audit(soak, outcomes, worst, args.bound)
        result["faults (5xx / 429 / timeouts)"] = (
            f"{faults.get('error_rate', 0)} / {faults.get('burst_429', 0)} / {faults.get('timeout', 0)}"
        )
        result["leak hits"] = leak_hits(soak, planted, captured.getvalue())
        result["analyst reads (failed)"] = f"{analyst_reads} ({len(analyst_failures)})"
        result["wall time"] = f"{elapsed:.0f} s"
        print(f"\nsoak: {args.runs} syncs of {args.accounts} accounts, seed {args.seed}\n")
        print("| measure | value |\n|---|---:|")
        for name, value in result.items():
            print(f"| {name} | {value} |")
        if analyst_failures:
            print("\nanalyst failures:", *analyst_failures[:5], sep="\n  ")


if __name__ == "__main__":
    main()
