"""``spx-pipeline dev`` from a virtualenv of one's own: the code server runs on that interpreter.

dg's default for a project is ``<project>/.venv/bin/python``; a person who installed the project
into another virtualenv got a UI that never loaded (that file may not exist). This test makes a
second virtualenv, with its own interpreter, console scripts written as pip writes them and the
project's packages visible through a ``.pth`` (as ``--system-site-packages`` would show a base
interpreter's), starts ``dev`` with it, and reads the command line of the code server it starts.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sysconfig
import time
import venv
from pathlib import Path

import psutil
import pytest

from spx_pipeline.cli.dev import wait_until_exited
from spx_pipeline_tests.fixtures.processes import clean_cli_env, free_port, port_is_free

CONSOLE_SCRIPT = "#!{python}\nimport sys\nfrom {module} import {func}\nsys.exit({func}())\n"
CODE_SERVER_MARKS = (("code-server", "start"), ("api", "grpc"))


def _second_virtualenv(root: Path) -> Path:
    """A new virtualenv whose interpreter sees the project's installed packages; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    project_site = sysconfig.get_paths()["purelib"]  # this interpreter's: the project's packages
    (purelib / "project_packages.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    scripts = (("spx-pipeline", "spx_pipeline.cli", "main"), ("dg", "dagster_dg_cli.cli", "main"))
    for name, module, func in scripts:
        script = root / "bin" / name
        script.write_text(CONSOLE_SCRIPT.format(python=python, module=module, func=func))
        script.chmod(0o755)
    return python


def _code_servers(pid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.Process(pid).children(recursive=True):
        try:
            line = process.cmdline()
        except psutil.Error:
            continue
        if any(all(mark in line for mark in marks) for marks in CODE_SERVER_MARKS):
            found.append(process)
    return found


@pytest.mark.slow
@pytest.mark.e2e
def test_dev_starts_the_code_server_with_the_interpreter_that_runs_it(tmp_path: Path) -> None:
    python = _second_virtualenv(tmp_path / "own-venv")
    port, emulator_port = free_port(), free_port()
    log = (tmp_path / "dev.log").open("wb")
    argv = [str(tmp_path / "own-venv" / "bin" / "spx-pipeline"), "dev", "--port", str(port)]
    argv += ["--emulator-port", str(emulator_port), "--data-dir", str(tmp_path / "data")]
    wrapper = subprocess.Popen(argv, env=clean_cli_env(), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        servers: list[psutil.Process] = []
        deadline = time.monotonic() + 240
        while not servers and time.monotonic() < deadline:
            assert wrapper.poll() is None, (tmp_path / "dev.log").read_text(errors="replace")[-3000:]
            servers = _code_servers(wrapper.pid)
            time.sleep(0.5)
        assert servers, "no code server started within 240 s"
        interpreters = {Path(server.cmdline()[0]) for server in servers}
        assert interpreters == {python}, interpreters
        tree = psutil.Process(wrapper.pid).children(recursive=True)
        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait(timeout=90)
        assert wait_until_exited(tree, timeout=10) == []
        assert port_is_free(port) and port_is_free(emulator_port)
    finally:  # on a failure too: nothing of the dev server may outlive the test
        if wrapper.poll() is None:
            started = psutil.Process(wrapper.pid).children(recursive=True)
            wrapper.send_signal(signal.SIGTERM)
            try:
                wrapper.wait(timeout=90)
            except subprocess.TimeoutExpired:
                wrapper.kill()
            for process in started:
                with contextlib.suppress(psutil.Error):
                    process.kill()
        log.close()
