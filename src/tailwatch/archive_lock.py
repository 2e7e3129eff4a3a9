"""Writers that share an archive: one day written at a time, leftovers of killed writers swept.

Why: a writer deduplicates a day against the files already in it. Two ingests into
one archive at once would each miss the other's new files and both keep the same
rows; holding the day's lock from reading the stored keys to renaming the new file
makes the second see the first. A writer killed mid-write leaves its dot-temporary
file (named with its process id) behind; the next writer of that folder removes
those whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR = "_locks"  # underscore: Spark, DuckDB hive scans and `expand_paths` skip it
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp$")  # archive._atomic_write's names: .<name>.<pid>.tmp


@contextlib.contextmanager
def day_lock(archive: Path, day: str) -> Iterator[None]:
    """Exclusive, blocking, per-day lock across processes (released when the holder dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: a single writer is assumed
        yield
        return
    folder = Path(archive) / LOCK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"date={day}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_temporaries(folder: Path) -> int:
    """Remove dot-temporaries of writers no longer running; the number removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        found = _TEMPORARY.match(path.name)
        if found and not _alive(int(found.group(1))):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
