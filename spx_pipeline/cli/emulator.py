"""``spx-pipeline tradier-emulator``: run the local Tradier-compatible server in the foreground.

The default port is a fixed 8787 (not a random free port) so a newcomer can export
``TRADIER_BASE_URL=http://127.0.0.1:8787/v1`` once and keep it across restarts; ``--port 0``
asks the OS for a free one. The banner prints the base URL and the demo tokens: they are fixed
strings that open nothing but this loopback server, so printing them is the point.
"""

from __future__ import annotations

import sys
import threading
from datetime import date
from types import SimpleNamespace
from typing import TextIO

import click

from spx_pipeline.cli.common import CliError
from spx_pipeline.clock import NOW_VAR, Clock, FixedClock, TickingClock, clock_from_env, parse_instant
from spx_pipeline.emulator import (
    EmulatorConfig,
    FaultConfig,
    TradierEmulator,
    demo_accounts,
    make_accounts,
)

DEFAULT_PORT = 8787
_LISTED_SYNTHETIC = 5


_NOW_HELP = (
    "pin the server's clock to this instant, e.g. 2026-11-26T15:00:00-05:00, to reproduce a day "
    f"by hand (default: {NOW_VAR}, else real time); sessions, expirations and quotes follow it"
)


@click.command("tradier-emulator")
@click.option(
    "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (0 = any free; default {DEFAULT_PORT})"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback address to bind")
@click.option("--now", default=None, help=_NOW_HELP)
@click.option("--tick", is_flag=True, help="with --now: let the pinned clock run forward in real time")
@click.option(
    "--today", default=None, help="trading day YYYY-MM-DD for expirations (default: the clock's NYSE day)"
)
@click.option(
    "--spot", type=float, default=6000.0, show_default=True, help="SPX level the chains are built around"
)
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="delay added to every answer")
@click.option(
    "--accounts", type=int, default=0, show_default=True, help="extra synthetic accounts, one token each"
)
@click.option("--production-limits", is_flag=True, help="120/120/60 per minute instead of sandbox 60")
@click.option("--no-rate-limits", is_flag=True, help="never answer 429")
def tradier_emulator(**params: object) -> int:
    """Run a local Tradier-compatible API server (loopback only).

    Serves Tradier's REST API on 127.0.0.1 with deterministic demo accounts and SPX chains, until
    Ctrl-C. Point the pipeline at it with TRADIER_BASE_URL.

    \b
    Examples:
      spx-pipeline tradier-emulator --port 8787
      spx-pipeline tradier-emulator --port 0 --now 2026-11-26T15:00:00-05:00 --tick
    """
    return run(SimpleNamespace(**params))


def build_config(args: SimpleNamespace) -> EmulatorConfig:
    """Turn the flags into a config; CliError names the flag and the bad value."""
    today: date | None = None
    if args.today:
        try:
            today = date.fromisoformat(args.today)
        except ValueError as exc:
            raise CliError(f"--today must be YYYY-MM-DD, got {args.today!r}") from exc
    if args.accounts < 0:
        raise CliError(f"--accounts must be >= 0, got {args.accounts}")
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be within 0-65535, got {args.port}")
    try:
        return EmulatorConfig(
            accounts=[*demo_accounts(), *make_accounts(args.accounts)],
            today=today,
            spot=args.spot,
            sandbox=not args.production_limits,
            rate_limits_enabled=not args.no_rate_limits,
            faults=FaultConfig(latency_ms=args.latency_ms),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def banner(emulator: TradierEmulator) -> str:
    accounts = emulator.config.accounts
    lines = [
        f"Tradier emulator listening on {emulator.base_url}  (trading day {emulator.today.isoformat()})",
        f"  clock: {emulator.clock!r}",
        f"  export TRADIER_BASE_URL={emulator.base_url}",
        "",
        f"  {'account':<12} {'type':<7} token",
    ]
    demo_ids = {a.account_id for a in demo_accounts()}
    shown = [a for a in accounts if a.account_id in demo_ids]
    synthetic = [a for a in accounts if a.account_id not in demo_ids]
    shown.extend(synthetic[:_LISTED_SYNTHETIC])
    lines.extend(f"  {a.account_id:<12} {a.account_type:<7} {a.token}" for a in shown)
    if len(synthetic) > _LISTED_SYNTHETIC:
        lines.append(f"  ... and {len(synthetic) - _LISTED_SYNTHETIC} more synthetic accounts")
    first = accounts[0]
    lines += [
        "",
        "  try:",
        f"    curl -H 'Authorization: Bearer {first.token}' -H 'Accept: application/json' \\",
        f"         {emulator.base_url}/accounts/{first.account_id}/balances",
        "",
        "Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def build_clock(args: SimpleNamespace) -> Clock | None:
    """The server's clock from ``--now``/``--tick``; None leaves it to the config (or ``SPX_NOW``)."""
    now = getattr(args, "now", None)
    if not now:
        if getattr(args, "tick", False):
            raise CliError("--tick needs --now (the instant the clock starts from)")
        try:
            clock_from_env()
        except ValueError as exc:
            raise CliError(str(exc)) from None
        return None
    try:
        start = parse_instant(now, name="--now")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return TickingClock(start) if args.tick else FixedClock(start)


def run(args: SimpleNamespace, *, out: TextIO | None = None) -> int:
    """Serve until Ctrl-C (or until ``args.stop_event`` is set, which is how tests stop it)."""
    config = build_config(args)
    clock = build_clock(args)
    try:
        emulator = TradierEmulator(config, clock=clock, host=args.host, port=args.port)
    except ValueError as exc:
        raise CliError(f"--host: {exc}") from exc
    try:
        emulator.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    stop: threading.Event = getattr(args, "stop_event", None) or threading.Event()
    stream = out or sys.stdout
    print(banner(emulator), file=stream, flush=True)
    started = getattr(args, "started", None)
    if started is not None:
        started(emulator)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nstopping", file=stream)
    finally:
        emulator.stop()
    return 0
