"""A model of the sharded balance stage: what it takes on W workers of one machine, or on K hosts.

The stage is plan → S shard steps → one write. A shard of n accounts on a worker process costs
its step overhead ``o`` (the Celery round trip, the step's resources, the instance's events) plus
n accounts at ``a`` seconds each: one process fetches at most one account per
``max(c, L / pool)`` seconds (its interpreter lock runs the client's ``c`` seconds of CPU per
request one at a time; its thread pool keeps ``pool`` requests of latency ``L`` in flight), which
``a`` measures. Shards run ``w`` at a time per host (one worker process per core), so
``ceil(S / (K w))`` waves. A fetching shard keeps ``u`` of a core busy (its CPU over its wall time),
and the Tradier server, when it shares the machine, ``s / a`` more (``s``: its CPU per request); while
``w (u + s / a)`` exceeds the cores ``C``, the waves stretch by that excess. Planning and
the single write grow with the accounts and do not spread; handing the plan's shards to the
workers and the shards to the write (``h``: two Celery round trips, and the write's wait for a
warehouse slot another branch of the run may hold) does not depend on either:

    T(N) = plan(N) + h + ceil(S / (K w)) * (o + (N / S) * a * max(1, w (u + s / a) / C)) + write(N)

``fit`` takes ``a``, ``o``, ``u``, plan and write per account from the one-worker run (there it
reproduces the stage by construction; ``u`` from the shard steps' CPU, or the client's calibrated
CPU per request over ``a`` when a run did not report it) and ``s`` from the server's CPU the bench
measured; ``predict`` then gives the other worker counts and other sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ShardStage:
    """The sharded balance stage of one run, as its event log tells it."""

    accounts: int
    workers: int  # Celery worker processes (one step at a time each)
    shards: int
    plan_s: float
    handoff_s: float  # plan end to the first shard's start, plus the last shard's end to the write's start
    phase_s: float  # first shard start to last shard end
    write_s: float
    stage_s: float  # plan start to write end
    shard_steps_s: list[float]  # each shard step's span
    shard_fetch_s: list[float]  # the time each shard spent fetching (its output metadata)
    shard_accounts: list[int]
    shard_cpu_s: list[float]  # each shard step's process CPU while fetching (empty: not reported)


@dataclass(frozen=True)
class Model:
    a: float  # seconds per account inside a shard (one process, no contention)
    o: float  # seconds of overhead per shard step
    h: float  # seconds handing over: to the shards and from them to the write
    plan_per_account: float
    write_per_account: float
    u: float  # share of a core a fetching shard keeps busy
    s: float  # Tradier server CPU seconds per request (0 when the server is elsewhere)

    def phase(self, accounts: int, shards: int, workers: int, *, hosts: int = 1, cores: int = 2) -> float:
        """Seconds from the first shard's start to the last one's end."""
        shards = max(1, min(shards, accounts))
        per_host = min(workers, math.ceil(shards / hosts))
        waves = math.ceil(shards / (hosts * per_host))
        stretch = max(1.0, per_host * (self.u + self.s / self.a) / cores)
        return waves * (self.o + accounts / shards * self.a * stretch)

    def predict(self, accounts: int, shards: int, workers: int, *, hosts: int = 1, cores: int = 2) -> float:
        """Stage seconds for ``accounts`` in ``shards`` on ``hosts`` x ``workers`` processes of ``cores``."""
        fixed = accounts * (self.plan_per_account + self.write_per_account) + self.h
        return fixed + self.phase(accounts, shards, workers, hosts=hosts, cores=cores)


def fit(one_worker: ShardStage, *, client_cpu: float, server_cpu: float) -> Model:
    """The model's constants from a run on one worker (no two shards at once: no contention)."""
    fetched = sum(one_worker.shard_accounts)
    fetching = sum(one_worker.shard_fetch_s)
    a = fetching / max(1, fetched)
    u = sum(one_worker.shard_cpu_s) / fetching if one_worker.shard_cpu_s and fetching else client_cpu / a
    # Everything of the shard phase that is not fetching (each step's set-up and events, the worker
    # picking up the next task), per shard: on one worker the shards ran one by one.
    between = one_worker.phase_s - sum(one_worker.shard_fetch_s)
    return Model(
        a=a,
        o=between / max(1, one_worker.shards),
        h=one_worker.handoff_s,
        plan_per_account=one_worker.plan_s / one_worker.accounts,
        write_per_account=one_worker.write_s / one_worker.accounts,
        u=min(1.0, u),
        s=server_cpu,
    )
