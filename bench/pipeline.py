"""The full Dagster graph for 10, 100 and 1,000 accounts on the embedded default.

Run: ``.venv/bin/python bench/pipeline.py [--accounts 10,100,1000] [--latency-ms 50] [--max-workers 32]
[--preview]``.

Each size gets its own temporary SQLite app database (one encrypted credential per account, each
its own token), DuckDB warehouse, local Dagster instance and local Tradier server whose every
request pays ``--latency-ms`` (standing in for the round trip to Tradier). ``full_pipeline_job``
runs once per size; the stage times are read back from the run's event log (STEP_START to
STEP_SUCCESS of each step; an order_tickets stage spans its four ops), so they are what Dagster
measured, not a wrapper's guess. Rows/s is the rows the stage wrote over its time. Order previews
are off by default (``--preview`` turns them on: one broker call per unblocked recommendation).
Nothing is asserted; the table is the result, sizes side by side from one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from spx_pipeline.definitions import build_definitions
from spx_pipeline.demo import DEMO_MAX_RISK_DOLLARS, LOCAL_INSTANCE_YAML, seed_accounts_and_setups
from spx_pipeline.emulator import EmulatorConfig, FaultConfig, TradierEmulator, make_accounts
from spx_pipeline.resources import AppDatabaseResource, TradierResource, WarehouseResource
from spx_pipeline.storage.credentials import generate_key
from spx_pipeline.storage.warehouse import Warehouse

# Stage name → (step key prefix, warehouse table whose rows for the run the stage wrote).
STAGES: dict[str, tuple[str, str]] = {
    "credentials": ("broker_credentials", "broker_credentials"),
    "balances": ("tradier_balances", "tradier_balances"),
    "snapshots": ("portfolio_snapshots", "portfolio_snapshots"),
    "chain": ("spx_option_chain", "spx_option_chain"),
    "recommendations": ("contract_recommendations", "contract_recommendations"),
    "tickets": ("order_tickets.", "order_tickets"),
}


@dataclass(frozen=True)
class Measured:
    accounts: int
    success: bool
    wall_s: float
    seconds: dict[str, float]
    rows: dict[str, int]
    checks_s: float
    requests: int


def step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """step key → (start, end) epoch seconds from the event log."""
    spans: dict[str, list[float]] = {}
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
            spans.setdefault(event.step_key, [entry.timestamp, entry.timestamp])
            span = spans[event.step_key]
            span[0], span[1] = min(span[0], entry.timestamp), max(span[1], entry.timestamp)
    return {key: (a, b) for key, (a, b) in spans.items()}


def stage_seconds(spans: dict[str, tuple[float, float]], prefix: str) -> float:
    chosen = [v for k, v in spans.items() if k == prefix or (prefix.endswith(".") and k.startswith(prefix))]
    return max(b for _, b in chosen) - min(a for a, _ in chosen) if chosen else float("nan")


def seed(root: Path, config: EmulatorConfig) -> tuple[str, str]:
    url = f"sqlite:///{root / 'app.sqlite'}"
    key = generate_key()
    seed_accounts_and_setups(config.accounts, app_db_url=url, key=key, label="bench")
    return url, key


def measure(n: int, *, latency_ms: float, max_workers: int, preview: bool) -> Measured:
    import os

    config = EmulatorConfig(accounts=make_accounts(n), faults=FaultConfig(latency_ms=latency_ms))
    with tempfile.TemporaryDirectory(prefix=f"spx-bench-{n}-") as tmp:
        root = Path(tmp)
        url, key = seed(root, config)
        os.environ["SPX_CREDENTIALS_KEY"] = key
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
        warehouse_path = root / "warehouse.duckdb"
        with TradierEmulator(config) as emulator, dg.DagsterInstance.from_config(str(home)) as instance:
            defs = build_definitions(
                {
                    "app_db": AppDatabaseResource(url=url),
                    "warehouse": WarehouseResource(path=str(warehouse_path)),
                    "tradier": TradierResource(base_url=emulator.base_url, max_workers=max_workers),
                }
            )
            run_config = {
                "ops": {
                    "contract_recommendations": {"config": {"max_risk_dollars": DEMO_MAX_RISK_DOLLARS}},
                    "order_tickets": {"ops": {"preview_order_payloads": {"config": {"preview": preview}}}},
                },
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            }
            started = time.perf_counter()
            result = defs.resolve_job_def("full_pipeline_job").execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False
            )
            wall = time.perf_counter() - started
            spans = step_spans(instance, result.run_id)
            requests = emulator.request_count()
        warehouse = Warehouse(warehouse_path)
        rows = {
            stage: int(
                warehouse.query(f"SELECT count(*) AS n FROM {table} WHERE run_id = ?", [result.run_id])[
                    "n"
                ].iloc[0]
            )
            for stage, (_, table) in STAGES.items()
        }
    seconds = {stage: stage_seconds(spans, prefix) for stage, (prefix, _) in STAGES.items()}
    check_spans = [v for k, v in spans.items() if "_unique_keys" in k or k.startswith("portfolio_snapshots_")]
    checks = sum(b - a for a, b in check_spans)
    return Measured(n, result.success, wall, seconds, rows, checks, requests)


def print_table(results: list[Measured]) -> None:
    header = f"{'accounts':>8} {'stage':<16} {'seconds':>8} {'rows':>7} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for m in results:
        for stage in STAGES:
            secs, rows = m.seconds[stage], m.rows[stage]
            rate = rows / secs if secs > 0 else float("nan")
            print(f"{m.accounts:>8} {stage:<16} {secs:>8.2f} {rows:>7} {rate:>9.0f}")
        print(f"{m.accounts:>8} {'asset checks':<16} {m.checks_s:>8.2f}")
        status = "ok" if m.success else "FAILED"
        tail = f"{status}, {m.requests} requests"
        print(f"{m.accounts:>8} {'whole run':<16} {m.wall_s:>8.2f} {'':>7} {'':>9}  {tail}")
        print()
    base = results[0]
    print("growth vs the smallest size (whole run, balances):")
    for m in results:
        scale = m.accounts / base.accounts
        run_growth = m.wall_s / base.wall_s
        balances_growth = m.seconds["balances"] / base.seconds["balances"]
        print(
            f"  {m.accounts:>5} accounts: x{scale:<6.0f} accounts -> whole run x{run_growth:.2f}, "
            f"balances x{balances_growth:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts", default="10,100,1000", help="comma-separated sizes (default 10,100,1000)"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--max-workers", type=int, default=32, help="TradierResource.max_workers")
    parser.add_argument("--preview", action="store_true", help="preview every entry ticket (one call each)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.accounts.split(",") if s.strip()]
    print(
        f"full_pipeline_job, embedded default (SQLite app DB, DuckDB warehouse, local instance), "
        f"{args.latency_ms:g} ms per request, max_workers={args.max_workers}, preview={args.preview}\n"
    )
    results = [
        measure(n, latency_ms=args.latency_ms, max_workers=args.max_workers, preview=args.preview)
        for n in sizes
    ]
    print_table(results)


if __name__ == "__main__":
    main()
