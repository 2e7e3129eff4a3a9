"""The `tailwatch` command: parses arguments, calls the application layer, prints.

One module per command group (`archive`, `bridge`, `identity`, `planning`, `live`), all on the Typer app
of `base`. Each command imports its library module lazily so that `tailwatch --help` and small
commands start fast. Errors are one line (exit 2 for bad input, 1 for no result) unless
`--debug` asks for the traceback. This file is also what `spark-submit` runs (README).
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from tailwatch.cli import archive, bridge, identity, live, planning  # noqa: F401 - each registers its commands
from tailwatch.cli.base import EXIT_BAD_INPUT, EXIT_NO_RESULT, EXIT_OK, NoResult, _state, app, console, err_console

__all__ = ["app", "main", "console", "err_console", "NoResult"]


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: one-line errors with exit codes per DESIGN.md."""
    from tailwatch.errors import BadInput

    try:
        rc = app(args=argv, standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else EXIT_OK)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except NoResult as exc:
        if _state["debug"]:
            raise
        err_console.print(f"no result: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_NO_RESULT)
    except (BadInput, FileNotFoundError, IsADirectoryError) as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if _state["debug"]:
            raise
        err_console.print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
                          markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
