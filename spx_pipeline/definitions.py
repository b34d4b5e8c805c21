"""The ``spx_pipeline`` code location: every domain folder under ``spx_pipeline/defs/``.

``dg dev``, ``dg check defs``, ``dagster-webserver -w workspace.yaml`` and the daemon load
``code_location``, the module's one ``@dg.definitions`` function. Each folder under ``defs/``
(portfolio, market_data, recommendations, orders, maintenance) owns its assets, checks, jobs,
schedules and sensors; ``defs/resources.py`` declares the resources. Tests, benches and the demo
call ``build_definitions`` (optionally with their own resources) or import ``defs``, built on
first use so that importing this module loads nothing twice.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from spx_pipeline.defs.execution.broker_reads import BROKER_STATE_READ
from spx_pipeline.defs.portfolio.balance_steps import BALANCE_READ
from spx_pipeline.defs.shards import sharded_read
from spx_pipeline.resources.executor import executor_from_settings
from spx_pipeline.settings import VARIABLES, Settings

_PACKAGE_DIR = Path(__file__).parent
# The broker reads that may run as shard steps, by the name of their one-step asset.
SHARDED_READS = {read.name: read for read in (BALANCE_READ, BROKER_STATE_READ)}
T = TypeVar("T")


def build_definitions(
    resources: Mapping[str, dg.ConfigurableResource] | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """The code location; tests and scripts pass their own resources (a temp warehouse, a local server).

    The executor is ``SPX_EXECUTOR``'s (in-process unless set) unless ``executor`` is given.

    The defs folder is read once per process and environment for these (a quarter of a second
    each time; what a folder builds may depend on settings, such as the sync gate's state at load).
    The code location itself (``code_location``, what ``dg``/the webserver load) always reads it.
    """
    return _assemble(_load_folder_once(_settings_now()), resources, executor)


def _load_folder() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=_PACKAGE_DIR)
    with warnings.catch_warnings():
        # Code references are a beta API: its warning is ours to take, not the operator's to read.
        warnings.simplefilter("ignore", dg.BetaWarning)
        # Each asset's page links to the file and line that define it.
        assets = dg.with_source_code_references(
            sharded_reads(_unique(loaded.assets), Settings.from_env().sync_shard_count())
        )
    return dg.Definitions(
        assets=assets,
        asset_checks=_unique(loaded.asset_checks),
        jobs=_unique(loaded.jobs),
        schedules=_unique(loaded.schedules),
        sensors=_unique(loaded.sensors),
        resources=loaded.resources,
    )


@functools.lru_cache(maxsize=8)
def _load_folder_once(settings: tuple[str | None, ...]) -> dg.Definitions:
    return _load_folder()


def _settings_now() -> tuple[str | None, ...]:
    return tuple(os.environ.get(name) for name in sorted(VARIABLES.values()))


def _assemble(
    loaded: dg.Definitions,
    resources: Mapping[str, dg.ConfigurableResource] | None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    return dg.Definitions(
        assets=loaded.assets,
        asset_checks=loaded.asset_checks,
        jobs=loaded.jobs,
        schedules=loaded.schedules,
        sensors=loaded.sensors,
        resources={**(loaded.resources or {}), **(resources or {})},
        # By default one process per run: every step shares the warehouse file, and the
        # per-account concurrency lives inside tradier_balances' thread pool. SPX_EXECUTOR
        # spreads steps over processes or Celery workers (the warehouse pool still serializes writers).
        executor=executor or executor_from_settings(),
    )


def sharded_reads(assets: list[T], shards: int) -> list[T]:
    """The broker reads (``tradier_balances``, ``broker_state``) as shard steps when ``shards`` > 1.

    Same asset keys, tables and run config: the one-step asset is replaced by its sharded graph
    (``defs/shards.py``), whose shards spread over the executor's processes or Celery workers. One
    shard (the in-process default) keeps the one-step assets as they are.
    """
    if shards <= 1:
        return assets

    def swap(item: T) -> T:
        if (
            isinstance(item, dg.AssetsDefinition)
            and item.is_executable
            and item.node_def.name in SHARDED_READS
        ):
            return sharded_read(SHARDED_READS[item.node_def.name], shards=shards)  # type: ignore[return-value]
        return item

    return [swap(item) for item in assets]


def _unique(items: Iterable[T] | None) -> list[T]:
    """One of each: a module importing another folder's asset or job hands it to the loader again."""
    return list({id(item): item for item in items or []}.values())


@dg.definitions
def code_location() -> dg.Definitions:
    return _assemble(_load_folder(), None)


CODE_LOCATION_NAME = "spx_pipeline"  # workspace.yaml's and the dg project's location name


def execute_in_code_location(
    job_name: str,
    *,
    instance: dg.DagsterInstance,
    run_config: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """Run a job in this process as a run *of the code location* (what the UI launches).

    ``execute_in_process`` makes runs without an origin: the UI lists them under Runs but not on
    their job's page, and marks their re-execution as from a different snapshot. Here the run is
    created from the code location's own job (repository label, snapshots, origins), then executed
    in this process. Returns Dagster's execution result (``success``, ``all_events``, ``run_id``).
    """
    # Dagster has no public API for "create a run as the webserver would, then run it here".
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._utils.hosted_user_process import recon_job_from_origin

    from spx_pipeline.resources.executor import check_run_settings

    check_run_settings()  # a bad setting is one line now, not a failed run full of tracebacks
    config = dict(run_config or {})
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=__name__, working_directory=str(Path.cwd())
    )
    origin = InProcessCodeLocationOrigin(target, location_name=CODE_LOCATION_NAME)
    with warnings.catch_warnings():
        # Snapshotting the location reads deprecated properties of Dagster's own objects.
        warnings.simplefilter("ignore", DeprecationWarning)
        location = origin.create_location(instance)
    with location:
        repo = next(iter(location.get_repositories().values()))
        selector = JobSubsetSelector(
            location_name=location.name, repository_name=repo.name, job_name=job_name, op_selection=None
        )
        job = location.get_job(selector)
        plan = location.get_execution_plan(
            job, config, step_keys_to_execute=None, known_state=None, instance=instance
        )
        run = instance.create_run(
            job_name=job.name, run_id=None, run_config=config, resolved_op_selection=None,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute, op_selection=None,
            status=None, root_run_id=None, parent_run_id=None, tags={**job.tags, **(tags or {})},
            job_snapshot=job.job_snapshot, execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=job.parent_job_snapshot, remote_job_origin=job.get_remote_origin(),
            job_code_origin=job.get_python_origin(), asset_selection=None, asset_check_selection=None,
            asset_graph=repo.asset_graph,
        )  # fmt: skip
        return execute_run(recon_job_from_origin(job.get_python_origin()), run, instance)


@functools.cache
def _default_definitions() -> dg.Definitions:
    return build_definitions()


def __getattr__(name: str) -> dg.Definitions:
    # ``from spx_pipeline.definitions import defs`` keeps working for scripts and tests; a
    # module-level Definitions object would be a second target for Dagster's loader.
    if name == "defs":
        return _default_definitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
