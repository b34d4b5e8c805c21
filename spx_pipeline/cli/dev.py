"""``spx-pipeline dev``: the Dagster UI on local storage, stopped cleanly by SIGTERM or Ctrl-C.

``dg dev`` (Dagster's project-aware dev server, run from the repository root where ``[tool.dg]``
names the project) starts a webserver, a daemon and a code server. The wrapper runs it in a process
group of its own and forwards SIGTERM/SIGINT/SIGHUP to the dev server, which stops its children in
order; once it exited, whatever is left of its group (and any descendant that left the group) gets
SIGTERM, then SIGKILL after a grace period, so stopping the wrapper never orphans a process that
keeps the UI's port. ``dev_server_command`` is the one
place that names the dev server.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

import click
import psutil

from spx_pipeline.cli.common import CliError, data_dir_option
from spx_pipeline.cli.demo import NOW_HELP, pin_clock
from spx_pipeline.settings import Settings

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
# `dg dev`, run by the interpreter that runs `spx-pipeline` (whichever virtualenv that is, the
# project's .venv or one's own with `pip install -e .`). It is aimed at a one-project dg workspace
# written into DAGSTER_HOME, because dg runs Dagster from the directory it is aimed at and Dagster
# warns when that directory holds a dagster.yaml other than DAGSTER_HOME's (the repository root
# holds one, for a bare `dg dev`). `--use-active-venv` keeps dg from starting the code server with
# `<project>/.venv/bin/python` (its default for a project, missing in any other virtualenv): the
# code server then runs on this same interpreter.
DEV_SERVER: Final[tuple[str, ...]] = ("dev", "--use-active-venv")
_DG_MAIN: Final = "import sys; from dagster_dg_cli.cli import main; sys.argv[0] = 'dg'; main()"
FORWARDED_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_SECONDS: Final = 30.0


def dev_server_command(port: int) -> list[str]:
    """The dev server, always on ``sys.executable`` (never a console script's own interpreter)."""
    if importlib.util.find_spec("dagster_dg_cli") is None:
        # Installed without the dg CLI: the classic command, same code location, same interpreter.
        return [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "--port",
            str(port),
        ]
    target = str(_dg_workspace())
    return [sys.executable, "-c", _DG_MAIN, *DEV_SERVER, "--target-path", target, "--port", str(port)]


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def supervise(command: Sequence[str], *, cwd: Path | None = None, grace: float = GRACE_SECONDS) -> int:
    """Run ``command`` in its own process group until it exits; signals to us go to its leader.

    Returns the child's exit code (128 + signal number when a signal ended it). Whatever the child
    leaves behind (its group, or descendants that started a session of their own) is stopped
    before returning: SIGTERM, then SIGKILL after ``grace`` seconds.
    """
    stopping = threading.Event()
    known: dict[int, psutil.Process] = {}
    started: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        if not started:
            return
        leader = started[0].pid  # a new session makes the child the leader of a new process group
        known.update((p.pid, p) for p in _descendants(leader))
        # The dev server alone: it stops its webserver, daemon and code server in order. Signalled
        # together, the code server died first and the dev server's monitor restarted it during the
        # shutdown, then waited for the new one (measured: 12-15 s to exit instead of about 5).
        # Whatever outlives it is stopped below (_stop_leftovers), descendants that left included.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(leader, signum)

    # Handlers first: a child forked while a signal is *ignored* here (inherited, for instance, from
    # a parent that ignores SIGTERM) would ignore it too; a *handled* signal is reset by exec.
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        child = subprocess.Popen(list(command), cwd=cwd, start_new_session=True)
    except BaseException:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        raise
    started.append(child)
    pgid = child.pid
    if stopping.is_set():  # a signal came while the child was being started
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pgid, signal.SIGTERM)
    try:
        while child.poll() is None:
            known.update((p.pid, p) for p in _descendants(child.pid))
            if stopping.wait(0.5):
                try:
                    child.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(pgid, signal.SIGKILL)
                    child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_leftovers(pgid, list(known.values()), grace)
    code = child.returncode
    return 128 - code if code < 0 else code


def _stop_leftovers(pgid: int, known: list[psutil.Process], grace: float) -> None:
    """Stop what outlived the child: its process group and every descendant it was seen with."""
    _signal_group(pgid, signal.SIGTERM)
    alive = [p for p in known if _running(p)]
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    still = wait_until_exited(alive, grace)
    for process in still:
        with contextlib.suppress(psutil.Error):
            if _running(process):
                process.kill()
    _signal_group(pgid, signal.SIGKILL)
    # Members started after the last look (dg dev spawns servers late) die by the group SIGKILL;
    # return only once none is still running, so the port and the files are really free.
    psutil.wait_procs(live_group_members(pgid), timeout=grace)


def wait_until_exited(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those still running after ``timeout``. A process that exited counts as gone even while its
    reaping is pending (a descendant whose parent died waits for init to reap it), which
    ``psutil.wait_procs`` would wait out to the end of the timeout."""
    deadline = time.monotonic() + timeout
    still = [p for p in processes if _running(p)]
    while still and time.monotonic() < deadline:
        time.sleep(0.02)
        still = [p for p in still if _running(p)]
    return still


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def live_group_members(pgid: int) -> list[psutil.Process]:
    """Processes of group ``pgid`` still running (a zombie, dead and waiting to be reaped, is not)."""
    members = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process)
    return members


def _dagster_home() -> Path:
    return Path(os.environ["DAGSTER_HOME"])  # set by prepare_local_environment


def _dg_workspace() -> Path:
    """DAGSTER_HOME as a dg workspace whose one project is this repository."""
    home = _dagster_home()
    workspace = (
        'directory_type = "workspace"\n\n[workspace]\n\n'
        f'[[workspace.projects]]\npath = "{PROJECT_ROOT.as_posix()}"\n'
    )
    (home / "dg.toml").write_text(workspace, encoding="utf-8")
    return home


@click.command()
@data_dir_option
@click.option("--no-emulator", is_flag=True, help="do not start the local Tradier server")
@click.option("--emulator-port", type=int, default=8787, show_default=True, help="local Tradier server port")
@click.option("--port", type=int, default=3000, show_default=True, help="Dagster UI port")
@click.option("--now", default=None, help=NOW_HELP)
def dev(data_dir: Path, no_emulator: bool, emulator_port: int, port: int, now: str | None) -> int:
    """Open the Dagster UI on local storage (dg dev).

    Runs the dev server with DAGSTER_HOME under data/ (SQLite instance). By default it also starts
    the local Tradier-compatible server and seeds the demo credentials, so Materialize works
    without a broker account; --no-emulator uses TRADIER_BASE_URL instead. SIGTERM or Ctrl-C stops
    the server and every process it started.
    """
    from spx_pipeline.demo import (
        demo_emulator_config,
        prepare_local_environment,
        running_emulator,
        seed_demo_data,
    )

    pin_clock(now)
    prepare_local_environment(data_dir)
    command = dev_server_command(port)
    if no_emulator:
        if not Settings.from_env().tradier_base_url:
            click.echo("Using the Tradier sandbox (TRADIER_BASE_URL is not set).", err=True)
        return supervise(command, cwd=_dagster_home())
    config = demo_emulator_config()
    try:
        with running_emulator(config, port=emulator_port) as emulator:
            seed_demo_data(config)
            click.echo(f"Local Tradier server at {emulator.base_url}; Dagster UI on http://127.0.0.1:{port}")
            return supervise(command, cwd=_dagster_home())
    except OSError as exc:
        raise CliError(f"could not start the local Tradier server on port {emulator_port}: {exc}") from exc
