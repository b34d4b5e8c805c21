"""``spx-pipeline`` command line: one verb module per area, each exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines ``register(subparsers: argparse._SubParsersAction) -> None`` and sets
# ``func`` on its parsers. Adding a verb = adding a module name here.
_VERB_MODULES: tuple[str, ...] = (
    "spx_pipeline.cli.db",
    "spx_pipeline.cli.credentials",
    "spx_pipeline.cli.setups",
    "spx_pipeline.cli.emulator",
    "spx_pipeline.cli.demo",
    "spx_pipeline.cli.symbols",
)


class CliError(Exception):
    """An error whose message is meant for the operator as it stands (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spx-pipeline",
        description="SPX options data pipeline: broker sync, recommendations and order tickets.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _VERB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # verb module not written yet on this branch
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CliError as exc:
        print(f"spx-pipeline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
