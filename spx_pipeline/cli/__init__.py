"""``spx-pipeline`` command line (click): one verb module per area, each exporting its command or group.

The verbs and flags are public (operators' scripts call them), so they keep the names and defaults of
the earlier argparse CLI; ``spx_pipeline_tests/cli/test_cli_surface.py`` lists every one of them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from spx_pipeline.cli.celery_worker import celery_worker
from spx_pipeline.cli.common import OPERATOR_ERRORS, PROG, CliError
from spx_pipeline.cli.credentials import credentials, keygen
from spx_pipeline.cli.db import db
from spx_pipeline.cli.demo import demo
from spx_pipeline.cli.dev import dev
from spx_pipeline.cli.emulator import tradier_emulator
from spx_pipeline.cli.limits import limits
from spx_pipeline.cli.place import place
from spx_pipeline.cli.positions import positions
from spx_pipeline.cli.report import report
from spx_pipeline.cli.setups import setups
from spx_pipeline.cli.symbols import symbols
from spx_pipeline.cli.trades import trades

__all__ = ["CliError", "cli", "main", "parse_params"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
def cli() -> None:
    """SPX options data pipeline: broker sync, recommendations and order tickets.

    \b
    First hour, from the project root:
      .venv/bin/spx-pipeline demo                      # whole pipeline, local Tradier server
      .venv/bin/spx-pipeline db query recommendations_of_the_day
      .venv/bin/spx-pipeline report                    # charts in data/warehouse_report.html
      .venv/bin/spx-pipeline credentials list          # uses data/credentials.key after the demo
      .venv/bin/spx-pipeline dev                       # the Dagster UI on http://127.0.0.1:3000

    Run `spx-pipeline COMMAND --help` for a command's options.
    """


for _command in (
    db,
    credentials,
    keygen,
    setups,
    limits,
    trades,
    place,
    positions,
    tradier_emulator,
    demo,
    dev,
    symbols,
    celery_worker,
    report,
):
    cli.add_command(_command)


def parse_params(argv: Sequence[str]) -> tuple[click.Command, dict[str, object]]:
    """The command ``argv`` names and its parsed parameters, without running it (tests, tooling).

    Raises ``click.UsageError`` for an unknown verb or flag, as ``main`` would report it.
    """
    command: click.Command = cli
    words, path = list(argv), [PROG]
    while isinstance(command, click.Group):
        if not words:
            raise click.UsageError(f"{' '.join(path)} needs a command")
        name, *words = words
        sub = command.get_command(click.Context(command), name)
        if sub is None:
            raise click.UsageError(f"no such command {name!r} under {' '.join(path)}")
        command, path = sub, [*path, name]
    context = command.make_context(" ".join(path), words)
    return command, dict(context.params)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 1 failed run, 2 operator error, 130 interrupted).

    A usage error (unknown verb or flag, bad choice) prints the subcommand's usage and raises
    ``SystemExit(2)``, as argparse did.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except OPERATOR_ERRORS as exc:
        # Worded for people wherever a verb meets it (a setting read deep inside, SPX_NOW by a
        # store's clock): one line, exit 2, whichever verb it was.
        error = CliError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        error.show()
        return error.exit_code
    except (KeyboardInterrupt, click.Abort):
        click.echo("interrupted", err=True)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
