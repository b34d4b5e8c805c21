"""How a run executes its steps, chosen by ``SPX_EXECUTOR``, and where steps hand over their outputs.

``in_process`` (the default) keeps every step in the run's process. ``multiprocess`` and ``celery``
run each step in a process of its own (Celery: on workers, possibly other hosts), so the process
that orchestrates the run, and holds its ``duckdb_warehouse`` pool slots, is not the one that
executes steps: the executor is wrapped so that the orchestrator records itself as the run's
worker and guards the pool (``run_guard``) while it runs. ``dagster_celery`` is imported only
when Celery is chosen; it ships with the ``celery`` extra. ``SPX_IO_DIR`` moves the filesystem io
manager's files (a mount every worker shares); unset, Dagster's default (the instance's storage).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dagster as dg

from spx_pipeline.resources.run_guard import RunGuard
from spx_pipeline.settings import (
    CELERY_BACKEND_URL_VAR,
    CELERY_BROKER_URL_VAR,
    EXECUTOR_VAR,
    IO_DIR_VAR,
    SettingError,
    Settings,
)

CELERY_EXTRA_HINT = "install the celery extra: pip install 'spx-pipeline[celery]'"


class OrchestratorGuardedExecutor(dg.Executor):
    """The wrapped executor, plus ``RunGuard`` in the orchestrating process for the run's length.

    Attributes the wrapped executor's own machinery asks its context's executor for (Celery's
    ``app_args``) are passed through.
    """

    def __init__(self, inner: dg.Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> Any:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self._inner.step_dependency_config

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (copying): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        guard = RunGuard(plan_context.instance, plan_context.run_id)
        guard.start()
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        finally:
            guard.stop()


class CeleryCheckedExecutor(OrchestratorGuardedExecutor):
    """A Celery executor that first makes sure its broker answers (``check_celery_broker``).

    A dead broker otherwise fails the run after retries with a wall of kombu/redis errors; here it
    fails at once, in one line naming the setting and the URL (password hidden).
    """

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        check_celery_broker(Settings.from_env())
        yield from super().execute(plan_context, execution_plan)


def _guarded(
    definition: dg.ExecutorDefinition, wrapper: type[OrchestratorGuardedExecutor] | None = None
) -> dg.ExecutorDefinition:
    wrap = wrapper or OrchestratorGuardedExecutor

    def create(init_context: dg.InitExecutorContext) -> dg.Executor:
        return wrap(definition.executor_creation_fn(init_context))  # type: ignore[misc]

    return dg.ExecutorDefinition(
        name=definition.name,
        config_schema=definition.config_schema,
        requirements=definition.get_requirements,
        executor_creation_fn=create,
        description=definition.description,
    )


def _celery_executor(settings: Settings) -> dg.ExecutorDefinition:
    try:
        from dagster_celery import celery_executor
    except ImportError:
        raise SettingError(
            f"{EXECUTOR_VAR}={settings.executor!r} needs dagster-celery, which is not installed; "
            f"{CELERY_EXTRA_HINT}"
        ) from None

    # Variables as {env: ...}: a broker URL may carry a password and must not sit in config.
    def source(name: str, value: str | None, default: str) -> object:
        return {"env": name} if value else default

    broker, backend = settings.celery_urls()
    return celery_executor.configured(
        {
            "broker": source(CELERY_BROKER_URL_VAR, settings.celery_broker_url, broker),
            "backend": source(
                CELERY_BACKEND_URL_VAR if settings.celery_backend_url else CELERY_BROKER_URL_VAR,
                settings.celery_backend_url or settings.celery_broker_url,
                backend,
            ),
        }
    )


def executor_from_settings(settings: Settings | None = None) -> dg.ExecutorDefinition:
    """The executor ``SPX_EXECUTOR`` names (``SettingError`` for an unknown one or a missing extra)."""
    settings = settings or Settings.from_env()
    kind = settings.executor_kind()
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        return _guarded(dg.multiprocess_executor)
    return _guarded(_celery_executor(settings), CeleryCheckedExecutor)


def shown_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (what a message may quote)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def check_celery_broker(settings: Settings, *, timeout: float = 3.0) -> None:
    """``SettingError`` in one line unless the Celery broker and a Redis result backend answer now."""
    if settings.executor_kind() != "celery":
        return
    broker, backend = settings.celery_urls()
    broker_var = CELERY_BROKER_URL_VAR
    backend_var = CELERY_BACKEND_URL_VAR if settings.celery_backend_url else CELERY_BROKER_URL_VAR
    try:
        from kombu import Connection
    except ImportError:
        raise SettingError(
            f"{EXECUTOR_VAR}='celery' needs kombu, which is not installed; {CELERY_EXTRA_HINT}"
        ) from None
    try:
        with Connection(broker, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:
        raise _unreachable(broker_var, broker, exc) from None
    if backend.startswith(("redis://", "rediss://", "unix://")):
        import redis

        try:
            redis.Redis.from_url(backend, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
        except Exception as exc:
            raise _unreachable(backend_var, backend, exc) from None


def _unreachable(name: str, url: str, exc: Exception) -> SettingError:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return SettingError(
        f"{name}={shown_url(url)!r} cannot be reached ({reason}); start the broker "
        f"(redis-server) or point {name} at a running one, or unset {EXECUTOR_VAR}"
    )


def io_dir_from_settings(settings: Settings) -> str | None:
    """``SPX_IO_DIR``, checked: a directory that exists (or can be made) and can be written.

    Refused in one line naming the setting and the value, before any step tries to write there.
    """
    raw = settings.io_dir
    if not raw:
        return None
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise SettingError(f"{IO_DIR_VAR}={raw!r} cannot be used: it is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingError(f"{IO_DIR_VAR}={raw!r} cannot be used: {reason}") from None
    return raw


def check_run_settings(settings: Settings | None = None) -> None:
    """Every setting a run's execution depends on, checked before the run starts (one line each)."""
    settings = settings or Settings.from_env()
    settings.executor_kind()
    settings.warehouse_backend_name()
    io_dir_from_settings(settings)
    check_celery_broker(settings)


def io_manager_from_settings(settings: Settings | None = None) -> dict[str, dg.ConfigurableIOManager]:
    """``{"io_manager": ...}`` rooted at ``SPX_IO_DIR`` when set; empty (Dagster's default) otherwise."""
    settings = settings or Settings.from_env()
    if not io_dir_from_settings(settings):
        return {}
    return {"io_manager": dg.FilesystemIOManager(base_dir=dg.EnvVar(IO_DIR_VAR))}


def reconstructable_job(name: str) -> Any:
    """Job ``name`` of the code location as a reconstructable job (``dg.execute_job``).

    Executors with steps in other processes (multiprocess, Celery workers) load the job again
    there, from this module path, with their own environment's resources.
    """
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module("spx_pipeline.definitions", "code_location")
    return repository.get_reconstructable_job(name)
