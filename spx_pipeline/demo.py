"""The main job on the embedded default: no broker account, no network, one command.

Starts the local Tradier-compatible server on a free loopback port, prepares a local key, demo
credentials (margin, cash and pdt accounts) and a few setups, materializes every asset and the
order tickets into the DuckDB warehouse through a persistent local Dagster instance (so the runs
show up later in ``spx-pipeline dev``), and summarizes what landed.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from spx_pipeline.clock import Clock
from spx_pipeline.domain.risk_context import DEFAULT_MAX_RISK_DOLLARS
from spx_pipeline.emulator import (
    EmulatedAccount,
    EmulatorConfig,
    TradierEmulator,
    account_from_row,
    demo_accounts,
)
from spx_pipeline.emulator.ledger import is_option
from spx_pipeline.settings import (
    APP_DB_URL_VAR,
    CREDENTIALS_KEY_FILE_VAR,
    CREDENTIALS_KEY_VAR,
    TRADIER_BASE_URL_VAR,
    WAREHOUSE_PATH_VAR,
    Settings,
)
from spx_pipeline.storage.app.acknowledgements import AcknowledgementStore
from spx_pipeline.storage.app.credentials import CredentialStore, UnknownAccountError, generate_key
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.setups import SetupError, SetupStore
from spx_pipeline.storage.warehouse.store import Warehouse

if TYPE_CHECKING:
    from spx_pipeline.demo_execution import ExecutionSummary

LOCAL_INSTANCE_HEADER = "# Local Dagster instance for spx-pipeline (SQLite storage under this directory)."
LOCAL_INSTANCE_YAML = f"""\
{LOCAL_INSTANCE_HEADER}
# Written by `spx-pipeline demo` / `spx-pipeline dev`; deployments use deploy/dagster.yaml.
concurrency:
  pools:
    default_limit: 1
    granularity: op
# A killed run must not wedge the instance: the daemon (under `spx-pipeline dev`) fails runs stuck
# starting/cancelling or over the runtime limit and frees slots of finished runs; every run and the
# dead_run_reaper sensor also fail runs whose worker process is gone and free their pool slots.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_runtime_seconds: 3600
  poll_interval_seconds: 10
  free_slots_after_run_end_seconds: 10
telemetry:
  enabled: false
"""

DEMO_SETUPS: tuple[dict[str, object], ...] = (
    {
        "setup_id": "demo-bull-040",
        # No stop premium: the premium paid is the risk; the runner's stop sits at the entry
        # price once T1 filled (domain.orders), a stop-limit $0.10 below it.
        "label": (
            "Bullish 0.40 delta, no stop premium (premium at risk), runner stop-limit from entry after T1"
        ),
        "direction": "bullish",
        "target_delta": 0.40,
        "stop_premium": None,
        "runner_stop_limit_offset": Decimal("0.10"),
    },
    {
        "setup_id": "demo-bear-030",
        "label": "Bearish 0.30 delta, no stop premium (premium at risk)",
        "direction": "bearish",
        "target_delta": 0.30,
        "stop_premium": None,
        "runner_stop_limit_offset": None,
    },
)


@dataclass(frozen=True)
class DemoSummary:
    run_id: str
    success: bool
    warehouse_path: Path
    accounts_synced: int
    accounts_failed: int
    snapshot_rows: int
    chain_rows: int
    recommendations: int
    tradable_recommendations: int
    tickets: int
    tickets_previewed: int
    execution: ExecutionSummary | None = None


def prepare_local_environment(data_dir: Path) -> None:
    """Point every store, the key and the Dagster instance at ``data_dir``.

    The local stores win over the environment on purpose: a shell that exports a production
    ``SPX_APP_DB_URL`` must not receive active demo credentials, which the production schedule
    would then sync (and every demo run would look like a rotation to the sensor).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ[APP_DB_URL_VAR] = f"sqlite:///{(data_dir / 'app.sqlite').resolve()}"
    os.environ[WAREHOUSE_PATH_VAR] = str((data_dir / "warehouse.duckdb").resolve())
    dagster_home = data_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    write_local_instance_yaml(dagster_home)
    os.environ["DAGSTER_HOME"] = str(dagster_home.resolve())
    # Created and migrated once, before any run, daemon or worker opens it (no schema race).
    from spx_pipeline.resources.instance import prepare_instance

    prepare_instance(dagster_home)
    ensure_local_key(data_dir)


def write_local_instance_yaml(dagster_home: Path) -> None:
    """The local instance configuration; an older one this project wrote is brought up to date.

    A file someone wrote by hand (without this project's header line) is left alone.
    """
    instance_yaml = dagster_home / "dagster.yaml"
    if instance_yaml.exists():
        current = instance_yaml.read_text(encoding="utf-8")
        if current == LOCAL_INSTANCE_YAML or not current.startswith(LOCAL_INSTANCE_HEADER):
            return
    instance_yaml.write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")


def ensure_local_key(data_dir: Path) -> None:
    """The demo's own key file under ``data_dir`` (mode 0600), created on first use."""
    key_file = data_dir / "credentials.key"
    if not key_file.exists():
        key_file.write_text(generate_key() + "\n", encoding="utf-8")
        key_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    os.environ[CREDENTIALS_KEY_FILE_VAR] = str(key_file.resolve())
    os.environ.pop(CREDENTIALS_KEY_VAR, None)


# Under the legacy $25,000 minimum: shows the 0DTE policy blocking same-day expiries.
SMALL_MARGIN_ACCOUNT = account_from_row(
    ("VA00000004", "demo-small-margin-token-0004", "margin", "12450.00", "12450.00", "6225.00", None),
    name="Demo Small Margin",
)


def demo_emulator_config() -> EmulatorConfig:
    """The emulator's margin, cash and pdt demo accounts, plus a margin account under $25k."""
    return EmulatorConfig(accounts=[*demo_accounts(), SMALL_MARGIN_ACCOUNT])


def seed_accounts_and_setups(
    accounts: Sequence[EmulatedAccount],
    *,
    app_db_url: str | None = None,
    key: str | None = None,
    setups: Sequence[Mapping[str, object]] = DEMO_SETUPS,
    label: str = "demo",
) -> None:
    """Store each account's token (added, or rotated and re-activated) and the setups that are missing.

    Idempotent, so the demo can run again; the test fixtures and the pipeline bench seed with it too.
    """
    appdb = AppDatabase(app_db_url)
    try:
        appdb.upgrade()
        store = CredentialStore(
            appdb, key=key if key is not None else Settings.from_env().read_credentials_key()
        )
        for account in accounts:
            try:
                info = store.get(account.account_id)
            except UnknownAccountError:
                store.add(account.account_id, account.token, label=f"{label} {account.account_type}")
                continue
            # Rotate first: activate() checks the stored token decrypts, which fails if the key changed.
            store.rotate(account.account_id, account.token)
            if not info.is_active:
                store.activate(account.account_id)
        setup_store = SetupStore(appdb)
        for spec in setups:
            try:
                setup_store.get(str(spec["setup_id"]))
            except SetupError:
                setup_store.add(**spec)  # type: ignore[arg-type]
    finally:
        appdb.dispose()


def seed_demo_data(emulator_config: EmulatorConfig) -> None:
    """Demo credentials for the emulator's accounts and the demo setups, in the environment's stores.

    The demo accounts hold a few option positions opened by hand before the pipeline: the demo
    acknowledges them (what an operator does once), so its reconciliation ends green.
    """
    seed_accounts_and_setups(emulator_config.accounts)
    acknowledge_held_positions(emulator_config.accounts)


def acknowledge_held_positions(accounts: Sequence[EmulatedAccount], app_db_url: str | None = None) -> None:
    appdb = AppDatabase(app_db_url)
    try:
        store = AcknowledgementStore(appdb)
        for account in accounts:
            for position in account.positions:
                if is_option(position.symbol):
                    store.acknowledge(
                        account.account_id, position.symbol, int(position.quantity),
                        note="held in the demo account from before the pipeline (opened by hand)",
                    )  # fmt: skip
    finally:
        appdb.dispose()


@contextmanager
def running_emulator(
    config: EmulatorConfig, port: int = 0, clock: Clock | None = None
) -> Iterator[TradierEmulator]:
    emulator = TradierEmulator(config, port=port, clock=clock).start()
    previous = os.environ.get(TRADIER_BASE_URL_VAR)
    os.environ[TRADIER_BASE_URL_VAR] = emulator.base_url
    try:
        yield emulator
    finally:
        emulator.stop()
        if previous is None:
            os.environ.pop(TRADIER_BASE_URL_VAR, None)
        else:
            os.environ[TRADIER_BASE_URL_VAR] = previous


# The demo sizes with the one default max risk (domain.risk_context.DEFAULT_MAX_RISK_DOLLARS), the value
# the Dagster UI's run config shows, so "Materialize all" and `spx-pipeline demo` agree. Kept as a
# name for scripts that pass it explicitly.
DEMO_MAX_RISK_DOLLARS = float(DEFAULT_MAX_RISK_DOLLARS)


def run_full_pipeline(*, preview: bool = True, log_level: str = "INFO") -> tuple[str, bool]:
    """Materialize every asset (sync, chains, recommendations, tickets) in the local instance."""
    import dagster as dg

    from spx_pipeline.definitions import execute_in_code_location
    from spx_pipeline.resources.run_guard import worker_tags

    with dg.DagsterInstance.get() as instance:
        result = execute_in_code_location(
            "full_pipeline_job",
            instance=instance,
            run_config={
                "ops": {
                    "order_tickets": {"ops": {"preview_order_payloads": {"config": {"preview": preview}}}},
                },
                "loggers": {"console": {"config": {"log_level": log_level}}},
            },
            tags={"spx/trigger": "demo", **worker_tags()},
        )
        return result.dagster_run.run_id, result.success


def summarize(run_id: str, success: bool) -> DemoSummary:
    warehouse = Warehouse()
    q = warehouse.query
    failures = q("SELECT count(*) AS n FROM sync_failures WHERE run_id = ?", [run_id])["n"].iloc[0]
    recs = q(
        "SELECT count(*) AS n, count(*) FILTER (WHERE NOT blocked AND suggested_contracts > 0) AS t "
        "FROM contract_recommendations WHERE run_id = ?",
        [run_id],
    )
    tickets = q(
        "SELECT count(*) AS n, count(*) FILTER (WHERE preview_status = 'ok') AS p "
        "FROM order_tickets WHERE run_id = ?",
        [run_id],
    )
    return DemoSummary(
        run_id=run_id,
        success=success,
        warehouse_path=warehouse.path.resolve(),
        accounts_synced=int(
            q("SELECT count(*) AS n FROM tradier_balances WHERE run_id = ?", [run_id])["n"].iloc[0]
        ),
        accounts_failed=int(failures),
        snapshot_rows=int(
            q("SELECT count(*) AS n FROM portfolio_snapshots WHERE run_id = ?", [run_id])["n"].iloc[0]
        ),
        chain_rows=int(
            q("SELECT count(*) AS n FROM spx_option_chain WHERE run_id = ?", [run_id])["n"].iloc[0]
        ),
        recommendations=int(recs["n"].iloc[0]),
        tradable_recommendations=int(recs["t"].iloc[0]),
        tickets=int(tickets["n"].iloc[0]),
        tickets_previewed=int(tickets["p"].iloc[0]),
    )


def run_demo(
    data_dir: Path = Path("data"),
    *,
    port: int = 0,
    preview: bool = True,
    log_level: str = "INFO",
    execute: bool = False,
) -> DemoSummary:
    """The whole pipeline on the embedded default; with ``execute`` also place, fill and reconcile."""
    prepare_local_environment(data_dir)
    config = demo_emulator_config()
    if not execute:
        with running_emulator(config, port=port):
            seed_demo_data(config)
            run_id, success = run_full_pipeline(preview=preview, log_level=log_level)
        return summarize(run_id, success)
    from spx_pipeline.demo_execution import execution_clock, execution_emulator_config, run_execution

    config = execution_emulator_config(config)
    seed_demo_data(config)  # on the real clock: the credentials are stored now, whatever session replays
    clock = execution_clock()
    with running_emulator(config, port=port, clock=clock):
        run_id, success = run_full_pipeline(preview=preview, log_level=log_level)
        execution = run_execution(clock, log_level=log_level) if success else None
    return dataclasses.replace(summarize(run_id, success), execution=execution)
