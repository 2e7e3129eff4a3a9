"""What every command shares: the Typer app, the consoles, the exit codes, progress bars, engine flags.

Each command imports its library module lazily so that `tailwatch --help` and small commands start
fast. Errors are one line (exit 2 for bad input, 1 for no result) unless `--debug` asks for the traceback."""

from __future__ import annotations

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
    if debug:  # engines read it too (Spark's JVM then logs to the terminal: engines/spark_quiet.py)
        import os

        os.environ["TAILWATCH_DEBUG"] = "1"


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


EngineOption = Annotated[str, typer.Option(
    "--engine", help="Query engine: duckdb (this machine) or spark (a Spark cluster, see --spark-master).")]
SparkMasterOption = Annotated[Optional[str], typer.Option(
    "--spark-master", help="Spark master URL with --engine spark: local[*] (default), spark://HOST:7077, yarn, "
    "... (under spark-submit: the submission's master).")]


def _engine(name: str, spark_master: Optional[str]):
    from tailwatch.engines import get_engine
    from tailwatch.errors import BadInput

    if spark_master is not None and name.strip().lower() != "spark":
        raise BadInput("--spark-master goes with --engine spark")
    return get_engine(name, spark_master)
