"""Keep the JVM's start-up chatter off the user's terminal.

Why: the JVM that PySpark launches inherits this process's stderr and prints lines we
do not control ("WARNING: Using incubator modules", "Setting default log level", ...)
on every run, before any log4j setting applies. Handing the JVM a log file as its
stderr at launch keeps the command's stderr to tailwatch's own lines; `--debug` (the
`TAILWATCH_DEBUG` variable the CLI sets) leaves the JVM on the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

DEBUG_ENV = "TAILWATCH_DEBUG"


def jvm_log_path() -> Path:
    return Path(tempfile.gettempdir()) / f"tailwatch-spark-{os.getpid()}.log"


@contextlib.contextmanager
def jvm_stderr_to_log() -> Iterator[Path | None]:
    """While Spark starts (the JVM is spawned inside), point file descriptor 2 at the log file.

    Yields the log path (None with debugging on, when nothing is redirected).
    """
    if os.environ.get(DEBUG_ENV):
        yield None
        return
    path = jvm_log_path()
    sys.stderr.flush()
    saved = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(log, 2)
        yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)


def last_log_line(path: Path | None) -> str:
    """The JVM's last words, for the one-line error when Spark does not start."""
    if path is None or not path.exists():
        return ""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
