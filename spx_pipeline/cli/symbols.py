"""``spx-pipeline symbols convert``: rewrite option symbols between OSI, Tradier and Massive forms.

Operators paste symbols from one venue into another's tools; converting a whole batch through the
same strict parser as the pipeline means a malformed symbol is caught here, not at the broker.
"""

from __future__ import annotations

import sys

import click
import pandas as pd

from spx_pipeline.cli.common import CliError
from spx_pipeline.domain.occ import STYLES, parse_option_symbols

_ERRORS_SHOWN = 10


@click.group()
def symbols() -> None:
    """Option symbol tools (OSI / Tradier / Massive spellings)."""


@symbols.command()
@click.option("--to", "style", required=True, type=click.Choice(STYLES), help="output spelling")
@click.argument("values", nargs=-1, metavar="[SYMBOL]...")
def convert(style: str, values: tuple[str, ...]) -> int:
    """Convert option symbols to one spelling.

    Reads one symbol per line from stdin when none are given. Any spelling is
    accepted; the OSI form pads the root with spaces to 6 characters, so quote it:

    \b
      spelling  example
      osi       'SPXW  251219C06000000'   (root padded to 6: two spaces after SPXW)
      tradier   'SPXW251219C06000000'
      massive   'O:SPXW251219C06000000'

    \b
    Examples:
      spx-pipeline symbols convert --to osi 'SPXW  251219C06000000' SPXW251219P05900000
      spx-pipeline symbols convert --to tradier < symbols.txt
    """
    if values:
        texts = list(values)
        labels = [f"argument {i}" for i in range(1, len(texts) + 1)]
    else:
        # Blank lines carry no symbol (a trailing newline, spacing between pasted blocks).
        numbered = [(n, line) for n, line in enumerate(sys.stdin.read().splitlines(), 1) if line.strip()]
        texts = [line for _, line in numbered]
        labels = [f"line {n}" for n, _ in numbered]
    if not texts:
        raise CliError("no symbols given (pass them as arguments or one per line on stdin)")
    frame = parse_option_symbols(pd.Series(texts, index=labels, dtype=object), errors="coerce")
    bad = frame["error"].dropna()
    if len(bad):
        shown = "\n".join(f"  {label}: {reason}" for label, reason in bad.iloc[:_ERRORS_SHOWN].items())
        more = f"\n  ... and {len(bad) - _ERRORS_SHOWN} more" if len(bad) > _ERRORS_SHOWN else ""
        raise CliError(f"{len(bad)} invalid option symbol(s); nothing converted:\n{shown}{more}")
    sys.stdout.write("".join(f"{symbol}\n" for symbol in frame[style]))
    return 0
