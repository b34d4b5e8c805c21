"""``spx-pipeline setups``: the trade setups every scheduled recommendation run sizes."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from spx_pipeline.cli.db import add_db_url_argument, open_app_db, operator_errors
from spx_pipeline.storage.setups import DIRECTIONS, STATUSES, SetupStore


def _add(args: argparse.Namespace) -> int:
    store = SetupStore(open_app_db(args.db_url))
    with operator_errors():
        record = store.add(
            direction=args.direction,
            setup_id=args.id,
            label=args.label,
            symbol=args.symbol,
            target_delta=args.target_delta,
            stop_premium=args.stop_premium,
            t1_gain_pct=args.t1_gain_pct,
            t1_fraction=args.t1_fraction,
            runner_stop_limit_offset=args.runner_stop_limit_offset,
            priority=args.priority,
        )
    print(
        f"added setup {record.id} ({record.direction} {record.symbol}, delta {record.target_delta:g}, "
        f"priority {record.priority})"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    store = SetupStore(open_app_db(args.db_url))
    with operator_errors():
        records = store.list(status=args.status)
    if not records:
        print("no setups; add one with `spx-pipeline setups add --direction bullish`")
        return 0
    header = ("id", "label", "symbol", "direction", "delta", "stop", "t1 gain", "t1 frac", "runner")
    header = (*header, "priority", "status")

    def text(value: object) -> str:
        return "" if value is None else str(value)

    rows = [
        (
            r.id,
            text(r.label),
            r.symbol,
            r.direction,
            f"{r.target_delta:g}",
            text(r.stop_premium),
            text(r.t1_gain_pct),
            text(r.t1_fraction),
            text(r.runner_stop_limit_offset),
            str(r.priority),
            r.status,
        )
        for r in records
    ]
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _set_status(status: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        store = SetupStore(open_app_db(args.db_url))
        with operator_errors():
            changed = store.set_status(args.setup_id, status)
        verb = "is now" if changed else "was already"
        print(f"setup {args.setup_id} {verb} {status}")
        return 0

    return run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("setups", help="trade setups sized by the recommendation job")
    verbs = parser.add_subparsers(dest="setups_command", metavar="ACTION", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        add_db_url_argument(sub)
        return sub

    add = verb("add", _add, "store a new active setup")
    add.add_argument("--direction", required=True, choices=DIRECTIONS)
    add.add_argument("--id", default=None, help="setup id (default: generated setup-<hex>)")
    add.add_argument("--label", default=None)
    add.add_argument("--symbol", default="SPX", help="SPX or SPXW (default: SPX)")
    add.add_argument("--target-delta", type=float, default=0.40, help="absolute delta (default: 0.40)")
    add.add_argument("--stop-premium", default=None, help="option premium at which the stop triggers")
    add.add_argument("--t1-gain-pct", default="0.5", help="T1 target gain as a fraction (default: 0.5)")
    add.add_argument("--t1-fraction", default="0.5", help="share of contracts sold at T1 (default: 0.5)")
    add.add_argument("--runner-stop-limit-offset", default=None, help="runner stop-limit offset")
    add.add_argument(
        "--priority",
        type=int,
        default=0,
        help="order in which setups share an account's risk budget: lower first, ties by id (default: 0)",
    )

    lst = verb("list", _list, "list setups")
    lst.add_argument("--status", choices=STATUSES, default=None, help="only setups with this status")

    deactivate = verb("deactivate", _set_status("inactive"), "stop sizing a setup")
    deactivate.add_argument("setup_id", metavar="ID")
    activate = verb("activate", _set_status("active"), "resume sizing a setup")
    activate.add_argument("setup_id", metavar="ID")
