"""The `tailwatch` command: parses arguments, calls the library, prints.

Each command imports its library module lazily so that `tailwatch --help` and
small commands start fast. Errors are one line (exit 2 for bad input, 1 for no
result) unless `--debug` asks for the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

app = typer.Typer(
    name="tailwatch",
    help="Follow aircraft in ADS-B data: ingest, identify, rebuild itineraries, report, watch live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one error = one line
_state = {"debug": False}

EXIT_OK, EXIT_NO_RESULT, EXIT_BAD_INPUT = 0, 1, 2


class NoResult(Exception):
    """Nothing matched (e.g. aircraft not in the archive): exit 1."""


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def progress():
    """A Rich progress bar on stderr for steps that can take more than a second."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursed); format detected by content.")],
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (created if missing).")],
) -> None:
    """Ingest ADS-B files into the Parquet archive."""
    from rich.table import Table

    from tailwatch.ingest.base import BadInput
    from tailwatch.ingest.pipeline import expand_paths, ingest_file

    files = expand_paths(paths)
    missing = [p for p in files if not p.exists()]
    if missing:
        raise BadInput(f"{missing[0]}: no such file")
    archive.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"ingest → {archive}")
    for col in ("file", "format", "records", "points", "written", "duplicates", "rejected", "reasons"):
        table.add_column(col, justify="right" if col not in ("file", "format", "reasons") else "left")
    failures: list[str] = []
    examples: list[str] = []
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(files))
        for path in files:
            bar.update(task, description=f"ingesting {path.name}")
            try:
                s = ingest_file(path, archive)
            except BadInput as exc:
                failures.append(str(exc))
                bar.advance(task)
                continue
            reasons = ", ".join(f"{k}: {v}" for k, v in s.reasons.items()) or ("already ingested" if s.skipped else "")
            table.add_row(str(path), s.format, f"{s.records:,}", f"{s.points:,}", f"{s.written:,}",
                          f"{s.duplicates:,}", f"{s.rejected:,}", reasons)
            examples.extend(s.examples)
            bar.advance(task)
    console.print(table)
    for line in examples[:10]:
        err_console.print(f"rejected {line}", markup=False, highlight=False)
    for line in failures:
        err_console.print(f"error: {line}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("tailwatch-demo"),
) -> None:
    """Run the bundled, simulated scenario end to end (no network needed)."""
    from tailwatch.demo import run_demo

    run_demo(out, console=console, progress=progress)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: one-line errors with exit codes per DESIGN.md."""
    from tailwatch.ingest.base import BadInput

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
