"""``spx-pipeline demo`` (the README's first command) and ``spx-pipeline dev`` (the Dagster UI)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from spx_pipeline.cli import CliError
from spx_pipeline.clock import NOW_VAR, parse_instant
from spx_pipeline.settings import Settings
from spx_pipeline.storage.analyst import AnalystPaths

_NOW_HELP = (
    "pin the clock of the pipeline and the local Tradier server to this instant "
    f"(e.g. 2026-11-26T15:00:00-05:00; sets {NOW_VAR}); default: real time"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on the embedded default against the local Tradier server",
        description=(
            "Starts the local Tradier-compatible server on a free loopback port, prepares a local key, "
            "demo credentials (margin, cash, pdt) and setups, materializes every asset and the order "
            "tickets into the DuckDB warehouse, and prints a summary. No network, no broker account."
        ),
    )
    demo.add_argument("--data-dir", type=Path, default=Path("data"), help="where local stores live (data/)")
    demo.add_argument("--no-preview", action="store_true", help="build tickets without previewing them")
    demo.add_argument("--quiet", action="store_true", help="hide Dagster's step-by-step log")
    demo.add_argument("--now", help=_NOW_HELP)
    demo.set_defaults(func=_demo)

    dev = subparsers.add_parser(
        "dev",
        help="open the Dagster UI (dagster dev -w workspace.yaml) on local storage",
        description=(
            "Runs `dagster dev -w workspace.yaml` with DAGSTER_HOME under data/ (SQLite instance). By "
            "default it also starts the local Tradier-compatible server and seeds the demo credentials, "
            "so Materialize works without a broker account; --no-emulator uses TRADIER_BASE_URL instead."
        ),
    )
    dev.add_argument("--data-dir", type=Path, default=Path("data"))
    dev.add_argument("--no-emulator", action="store_true", help="do not start the local Tradier server")
    dev.add_argument("--emulator-port", type=int, default=8787, help="local Tradier server port (8787)")
    dev.add_argument("--port", type=int, default=3000, help="Dagster UI port (3000)")
    dev.add_argument("--now", help=_NOW_HELP)
    dev.set_defaults(func=_dev)


def _pin_clock(now: str | None) -> None:
    """``--now`` becomes ``SPX_NOW`` so this process, its Dagster runs and the local server agree."""
    if not now:
        return
    try:
        parse_instant(now, name="--now")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    os.environ[NOW_VAR] = now.strip()


def _demo(args: argparse.Namespace) -> int:
    from spx_pipeline.demo import run_demo

    _pin_clock(args.now)
    summary = run_demo(
        args.data_dir, preview=not args.no_preview, log_level="WARNING" if args.quiet else "INFO"
    )
    status = "succeeded" if summary.success else "FAILED (see the log above)"
    print()
    print(f"spx-pipeline demo {status}: run {summary.run_id}")
    print(f"  accounts synced       {summary.accounts_synced} (failed: {summary.accounts_failed})")
    print(f"  snapshot rows         {summary.snapshot_rows}")
    print(f"  option chain rows     {summary.chain_rows}")
    print(f"  recommendations       {summary.recommendations} ({summary.tradable_recommendations} tradable)")
    print(
        f"  order tickets         {summary.tickets} ({summary.tickets_previewed} previewed ok, none placed)"
    )
    print(f"  warehouse             {summary.warehouse_path}")
    print()
    print("Try:  spx-pipeline db query recommendations_of_the_day")
    catalog = AnalystPaths.for_warehouse(summary.warehouse_path).catalog
    print(
        f"      python -c \"import duckdb; print(duckdb.connect('{catalog}', read_only=True)"
        ".sql('select * from portfolio_snapshots'))\"   # the analysts' copy: never blocks a run"
    )
    print("      spx-pipeline dev      # the same assets in the Dagster UI")
    return 0 if summary.success else 1


def _dev(args: argparse.Namespace) -> int:
    from spx_pipeline.demo import (
        demo_emulator_config,
        prepare_local_environment,
        running_emulator,
        seed_demo_data,
    )

    _pin_clock(args.now)
    prepare_local_environment(args.data_dir)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "--port",
        str(args.port),
    ]
    if args.no_emulator:
        if not Settings.from_env().tradier_base_url:
            print("Using the Tradier sandbox (TRADIER_BASE_URL is not set).", file=sys.stderr)
        return subprocess.call(command, cwd=PROJECT_ROOT)
    config = demo_emulator_config()
    try:
        with running_emulator(config, port=args.emulator_port) as emulator:
            seed_demo_data(config)
            print(f"Local Tradier server at {emulator.base_url}; Dagster UI on http://127.0.0.1:{args.port}")
            return subprocess.call(command, cwd=PROJECT_ROOT)
    except OSError as exc:
        raise CliError(
            f"could not start the local Tradier server on port {args.emulator_port}: {exc}"
        ) from exc
