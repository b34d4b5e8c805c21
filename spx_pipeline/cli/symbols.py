"""``spx-pipeline symbols convert``: rewrite option symbols between OSI, Tradier and Massive forms.

Operators paste symbols from one venue into another's tools; converting a whole batch through the
same strict parser as the pipeline means a malformed symbol is caught here, not at the broker.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from spx_pipeline.cli import CliError
from spx_pipeline.domain.occ import STYLES, parse_option_symbols

_ERRORS_SHOWN = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("symbols", help="option symbol tools (OSI / Tradier / Massive)")
    verbs = parser.add_subparsers(dest="symbols_command", metavar="ACTION", required=True)
    convert = verbs.add_parser(
        "convert",
        help="convert option symbols to one spelling",
        description="Convert option symbols (any of OSI 'SPXW  251219C06000000', Tradier "
        "'SPXW251219C06000000', Massive 'O:SPXW251219C06000000') to the chosen spelling. "
        "Reads one symbol per line from stdin when none are given.",
    )
    convert.add_argument("--to", required=True, choices=STYLES, help="output spelling")
    convert.add_argument("symbols", nargs="*", metavar="SYMBOL", help="symbols to convert")
    convert.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> int:
    if args.symbols:
        values = list(args.symbols)
        labels = [f"argument {i}" for i in range(1, len(values) + 1)]
    else:
        # Blank lines carry no symbol (a trailing newline, spacing between pasted blocks).
        numbered = [(n, line) for n, line in enumerate(sys.stdin.read().splitlines(), 1) if line.strip()]
        values = [line for _, line in numbered]
        labels = [f"line {n}" for n, _ in numbered]
    if not values:
        raise CliError("no symbols given (pass them as arguments or one per line on stdin)")
    frame = parse_option_symbols(pd.Series(values, index=labels, dtype=object), errors="coerce")
    bad = frame["error"].dropna()
    if len(bad):
        shown = "\n".join(f"  {label}: {reason}" for label, reason in bad.iloc[:_ERRORS_SHOWN].items())
        more = f"\n  ... and {len(bad) - _ERRORS_SHOWN} more" if len(bad) > _ERRORS_SHOWN else ""
        raise CliError(f"{len(bad)} invalid option symbol(s); nothing converted:\n{shown}{more}")
    sys.stdout.write("".join(f"{symbol}\n" for symbol in frame[args.to]))
    return 0
