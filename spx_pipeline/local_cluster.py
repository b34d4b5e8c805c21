"""Redis and Celery workers on this machine, for the distributed tests and the pipeline bench.

Each process (``redis-server``, every ``spx-pipeline celery-worker``) starts in a session of its
own, so it is stopped whole by its process group id, also when the caller fails half-way: SIGTERM,
then SIGKILL after a grace period. A worker counts as started once Celery logs that it is ready;
``tree`` gives the pids of a worker and its pool processes (where steps execute). Redis may listen
on another address than loopback (with a password), and each worker may start through a command
prefix of its own (``ip netns exec <host>``: the multi-host test's simulated hosts).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psutil

REDIS_SERVER: Final = "redis-server"
READY_MARKER: Final = "ready."


def free_port(host: str = "127.0.0.1") -> int:
    """A port of ``host`` (loopback by default) nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class GroupProcess:
    """A child started as the leader of its own process group, its output in ``log``."""

    process: subprocess.Popen[bytes]
    log: Path
    _known: dict[int, psutil.Process] = field(default_factory=dict, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> set[int]:
        """This process and every descendant (remembered, so it still counts after they exit)."""
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.pid)
            self._known.update((p.pid, p) for p in [root, *root.children(recursive=True)])
        return set(self._known)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def signal(self, signum: int) -> None:
        self.tree()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the group, SIGKILL to whatever is left after ``grace`` seconds."""
        stop_all([self], grace)


def stop_all(processes: list[GroupProcess], grace: float = 15.0) -> None:
    """Stop every group at once: SIGTERM to all, then SIGKILL to what is left after ``grace`` seconds."""
    for process in processes:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        process.signal(signal.SIGKILL)
        process.process.wait()
    left = [p for process in processes for p in process._known.values() if p.is_running()]
    for member in left:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(left, timeout=grace)


def start_group(
    command: list[str], log: Path, env: Mapping[str, str] | None = None, *, user: str | None = None
) -> GroupProcess:
    """``command`` as the leader of a new session, output to ``log``; ``user`` runs it as that user
    (a caller running as root starting a server that refuses root, such as PostgreSQL)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            user=user,
        )
    return GroupProcess(process, log)


def wait_until(process: GroupProcess, ready: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready in process.output():
            return
        if process.process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.process.returncode}: {process.output()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {timeout:.0f}s: {process.output()[-2000:]}")


def redis_server_program() -> str | None:
    return shutil.which(REDIS_SERVER) or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )


@contextlib.contextmanager
def redis_server(
    workdir: Path, port: int | None = None, *, host: str = "127.0.0.1", password: str | None = None
) -> Iterator[str]:
    """A throwaway Redis (no persistence) listening on ``host`` only; yields its URL, database 0.

    With ``password`` the server requires it (``requirepass``) and the URL carries it.
    """
    program = redis_server_program()
    if program is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = port or free_port(host)
    command = [program, "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no"]
    command += ["--dir", str(workdir)]
    if password:
        command += ["--requirepass", password]
    server = start_group(command, workdir / "redis.log")
    try:
        wait_until(server, "Ready to accept connections", 20, "redis-server")
        credentials = f":{password}@" if password else ""
        yield f"redis://{credentials}{host}:{port}/0"
    finally:
        server.stop()


# Where worker ``i`` runs: a prefix to its command (``ip netns exec <host>``) and its own variables.
WorkerPlacement = Callable[[int], tuple[list[str], Mapping[str, str]]]


@contextlib.contextmanager
def celery_workers(
    count: int,
    env: Mapping[str, str],
    logs: Path,
    *,
    concurrency: int = 1,
    timeout: float = 90.0,
    placement: WorkerPlacement | None = None,
) -> Iterator[list[GroupProcess]]:
    """``count`` workers (``spx-pipeline celery-worker``) started together, all ready, stopped at exit.

    ``placement`` starts worker ``i`` through a command prefix with variables of its own on top of
    ``env`` (a simulated host's namespace and its own DAGSTER_HOME); by default all run here.
    """
    host = socket.gethostname()
    workers: list[GroupProcess] = []
    try:
        for i in range(count):
            prefix, own = placement(i) if placement is not None else ([], {})
            command = [*prefix, sys.executable, "-m", "spx_pipeline.cli", "celery-worker"]
            command += ["--name", f"spx-w{i}@{host}", "--concurrency", str(concurrency)]
            workers.append(start_group(command, logs / f"worker{i}.log", {**env, **own}))
        for i, worker in enumerate(workers):
            wait_until(worker, READY_MARKER, timeout, f"celery worker {i}")
            worker.tree()
        yield workers
    finally:
        stop_all(workers)
