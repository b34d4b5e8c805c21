"""Two processes preparing one fresh SQLite instance at once leave it with one schema head per database.

Without the lock the race is real: two processes creating the instance together each stamp
``alembic_version`` and (most of the time, within a few tries) one database ends up with two heads.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import dagster as dg
import pytest

from spx_pipeline.demo import LOCAL_INSTANCE_YAML
from spx_pipeline.resources.instance import prepare_instance

TRIES = 3


def _prepare_when_told(home: str, go: str) -> None:
    while not Path(go).exists():  # both processes forked and waiting: start together
        time.sleep(0.001)
    prepare_instance(Path(home))


def _heads(home: Path) -> dict[str, int]:
    heads = {}
    for db in sorted(home.rglob("*.db")):
        with sqlite3.connect(db) as con:
            [(count,)] = con.execute("SELECT count(*) FROM alembic_version").fetchall()
        heads[str(db.relative_to(home))] = count
    return heads


@pytest.mark.parametrize("attempt", range(TRIES))
def test_two_preparations_at_once_leave_one_alembic_head(tmp_path: Path, attempt: int) -> None:
    home = tmp_path / f"home{attempt}"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
    go = tmp_path / "go"
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_prepare_when_told, args=(str(home), str(go))) for _ in range(2)]
    for proc in procs:
        proc.start()
    time.sleep(0.2)
    go.touch()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    heads = _heads(home)
    assert {"history/runs.db", "schedules/schedules.db"} <= set(heads)
    assert set(heads.values()) == {1}, heads
    with dg.DagsterInstance.from_config(str(home)) as instance:  # and it opens
        assert instance.get_runs() == []


def test_preparing_again_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
    prepare_instance(tmp_path)
    first = {p: p.stat().st_size for p in tmp_path.rglob("*.db")}
    prepare_instance(tmp_path)
    assert _heads(tmp_path) and set(_heads(tmp_path).values()) == {1}
    assert {p: p.stat().st_size for p in tmp_path.rglob("*.db")} == first


def test_preparing_an_instance_with_runs_prints_no_progress_bars(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`demo` and `dev` prepare their instance on every start: Dagster's data migrations draw tqdm
    bars on stderr when given a print function, so none is given (the migrations still run)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
    prepare_instance(home)

    @dg.asset
    def one() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for _ in range(3):
            assert dg.materialize([one], instance=instance).success
    capfd.readouterr()
    prepare_instance(home)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_run_records()) == 3
