"""Two full runs on Celery workers in three simulated hosts, every service on the main host's bridge.

``make test-multihost`` (marker ``multihost``, root and iproute2; CI runs it). The hosts are network
namespaces on a bridge (``fixtures/netns.py``); Redis, PostgreSQL (the Dagster instance and the app
database) and the local Tradier server listen on the main host's bridge address only
(``fixtures/multihost.py``). One ``spx-pipeline celery-worker`` runs in each host, and the two runs'
orchestrators run in two of them, so every process of the deployment reaches every service over
the bridge. The hosts share a directory (the step outputs and the Parquet warehouse), nothing else:
each has its own DAGSTER_HOME and key file.

What the distributed test asserts holds here too (``fixtures/distributed.check_runs_on_workers``),
and besides: the sync's shard steps executed on more than one host; no process of a simulated host
used a loopback address but for its own namespace's loopback (sockets read with ``ss`` inside each
namespace every half second while the runs ran; a service asked for at 127.0.0.1 there would have
refused, failing its step), and nothing left the lab's subnet; the servers listened on the bridge
address only; each host reached Redis and PostgreSQL over the bridge, and the hosts that fetched
balances reached the Tradier server; no password of the deployment reached the event log, the
runs' config and tags, or the workers' logs.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster import serialize_value

from spx_pipeline.emulator import make_accounts
from spx_pipeline.local_cluster import celery_workers
from spx_pipeline_tests.fixtures.distributed import (
    PARQUET,
    check_runs_on_workers,
    job_plan,
    print_worker_logs,
    two_runs,
)
from spx_pipeline_tests.fixtures.multihost import MultihostStack, MultihostStackFactory
from spx_pipeline_tests.fixtures.netns import ConnectionLog

pytestmark = [pytest.mark.multihost, pytest.mark.slow]

HOSTS = 3
ACCOUNTS = 12
SHARDS = 3
SHARD_STEP = "tradier_balances.fetch_balance_shard"
RUN_CONFIG = {"ops": {"tradier_balances": {"config": {"min_accounts_per_shard": 1}}}}


def check_network(stack: MultihostStack, log: ConnectionLog, shard_hosts: set[str]) -> None:
    main, subnet = stack.network.main_address, stack.network.subnet
    assert subnet is not None and log.samples >= 2 and not log.errors, (log.samples, log.errors)
    ports = {
        "redis": int(stack.redis_url.rsplit(":", 1)[1].split("/")[0]),
        "postgres": stack.postgres.port,
        "tradier": int(stack.env.emulator.base_url.rsplit(":", 1)[1].split("/")[0]),
    }
    for host in stack.hosts:
        assert log.loopback_use(host.name) == [], host.name
        connected = [s for s in log.of(host.name) if s.state != "LISTEN" and s.peer[1] is not None]
        outside = [s for s in connected if not s.is_loopback() and not _within(s.peer[0], str(subnet))]
        assert outside == [], f"{host.name} reached beyond the lab's subnet: {outside}"
        reached = {name for name, port in ports.items() if (main, port) in {s.peer for s in connected}}
        assert {"redis", "postgres"} <= reached, (host.name, reached)
        if host.name in shard_hosts:
            assert "tradier" in reached, (host.name, reached)
        assert all(s.local[0] in (host.address, "0.0.0.0", "::") or s.is_loopback() for s in connected)
    # The servers (this process holds the Tradier server) listened on the bridge address only.
    servers = {os.getpid(), *stack.postgres.process.tree(), *_pids_of("redis-server", ports["redis"])}
    listening = [s for s in log.of("main") if s.state == "LISTEN" and s.pids & servers]
    assert {s.local for s in listening if s.local[1] in ports.values()} == {(main, p) for p in ports.values()}
    assert all(s.local[0] == main for s in listening if s.local[1] in ports.values()), listening


def _pids_of(program: str, port: int) -> set[int]:
    """Processes running ``program`` with ``port`` in their title (Redis shows ``host:port`` there)."""
    found = set()
    for proc in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(proc.info["cmdline"] or [])
        if program in (proc.info["name"] or "") and f":{port}" in title:
            found.add(proc.pid)
    return found


def _within(address: str, subnet: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    except ValueError:
        return False


@pytest.mark.parametrize("warehouse_backend", [PARQUET.name], indirect=True)
def test_two_runs_on_workers_of_three_hosts_reach_every_service_over_the_bridge(
    warehouse_backend: str, multihost_stack: MultihostStackFactory, tmp_path: Path
) -> None:
    stack = multihost_stack(hosts=HOSTS, accounts=make_accounts(ACCOUNTS))
    stack.base |= {"SPX_WAREHOUSE_BACKEND": warehouse_backend, "SPX_SYNC_SHARDS": str(SHARDS)}
    main = stack.environ(None)
    with dg.DagsterInstance.from_config(main["DAGSTER_HOME"]) as instance:
        instance.event_log_storage.set_concurrency_slots(PARQUET.pool, PARQUET.pool_limit)

    runners = stack.hosts[:2]  # the two runs are orchestrated from two of the hosts
    with (
        stack.network.watching() as seen,
        two_runs(
            stack.env,
            [stack.environ(h) for h in runners],
            tmp_path,
            prefixes=[h.command([]) for h in runners],
            run_config=RUN_CONFIG,
        ) as start,
        celery_workers(HOSTS, stack.base, tmp_path / "logs", placement=stack.placement) as workers,
    ):
        try:
            run_ids = start()
            trees = [worker.tree() for worker in workers]
        except BaseException:
            print_worker_logs(workers)
            raise
        worker_logs = [worker.output() for worker in workers]

    with dg.DagsterInstance.from_config(main["DAGSTER_HOME"]) as instance:
        plan = job_plan(main | {"SPX_WAREHOUSE_BACKEND": warehouse_backend})
        assert SHARD_STEP in plan.mapped
        steps = check_runs_on_workers(
            stack.env, instance, run_ids, trees=trees, case=PARQUET, plan=plan, io_dir=stack.shared / "io"
        )
        records = [serialize_value(r.event_log_entry) for run_id in run_ids
                   for r in instance.get_records_for_run(run_id).records]  # fmt: skip
        runs = [instance.get_run_by_id(run_id) for run_id in run_ids]

    # The sync ran as SHARDS shard steps per run, spread over more than one host.
    shard_steps = [s for s in steps if s.step.startswith(SHARD_STEP + "[")]
    assert len(shard_steps) == 2 * SHARDS
    host_of = {pid: stack.hosts[i % HOSTS].name for i, tree in enumerate(trees) for pid in tree}
    shard_hosts = {host_of[pid] for s in shard_steps for pid in s.pids}
    assert len(shard_hosts) > 1, f"every shard step ran on {shard_hosts}"

    check_network(stack, seen, shard_hosts)

    # Passwords travel in variables only: never in the event log, the runs, or the workers' logs.
    for secret in stack.secrets:
        assert not any(secret in text for text in records)
        assert not any(secret in serialize_value(run) for run in runs)  # type: ignore[arg-type]
        assert not any(secret in text for text in worker_logs)
