"""Where the archive's tables live: `ARCHIVE/points/date=…` and `ARCHIVE/heard/date=…`, siblings.

Each table is its own hive-partitioned root, so `read_parquet('ARCHIVE/points/**/*.parquet')`
(or Spark's `parquet('ARCHIVE/points')`) sees one schema. Bookkeeping stays at the top
(`_ingested/` manifests, `_locks/` the writers' per-day locks, `identity/` tables).

Archives written before this layout kept the point partitions at the top (`ARCHIVE/date=…`,
with `heard/` inside the same root). They still read as they are (`points_root`), and the first
write moves their partitions into `points/` (`migrate`), one rename per day.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

POINTS_DIR = "points"
HEARD_DIR = "heard"
PARTITION = "date="


def _old_partitions(archive: Path) -> list[Path]:
    return sorted(p for p in Path(archive).glob(PARTITION + "*") if p.is_dir())


def points_root(archive: Path) -> Path:
    """The folder holding the point partitions: `ARCHIVE/points`, or the top of an old-layout archive."""
    archive = Path(archive)
    new = archive / POINTS_DIR
    if new.is_dir() or not _old_partitions(archive):
        return new
    return archive


def heard_root(archive: Path) -> Path:
    """The folder holding the heard-minutes partitions (the same in both layouts)."""
    return Path(archive) / HEARD_DIR


def migrate(archive: Path) -> int:
    """Move an old archive's top-level point partitions into `points/` (atomic per day); how many moved.

    A day already present under `points/` (a migration interrupted mid-way) gains the old
    folder's files one by one; nothing is ever overwritten.
    """
    moved = 0
    new = Path(archive) / POINTS_DIR
    for folder in _old_partitions(archive):
        new.mkdir(parents=True, exist_ok=True)
        target = new / folder.name
        if not target.exists():
            os.replace(folder, target)
        else:
            for item in folder.iterdir():
                if not (target / item.name).exists():
                    os.replace(item, target / item.name)
            try:
                folder.rmdir()
            except OSError:
                continue
        moved += 1
    return moved


def _day(folder: Path) -> date | None:
    try:
        return date.fromisoformat(folder.name.removeprefix(PARTITION))
    except ValueError:
        return None


def _as_date(moment: date | datetime | None) -> date | None:
    return moment.date() if isinstance(moment, datetime) else moment


def day_folders(root: Path, start: date | datetime | None = None, end: date | datetime | None = None
                ) -> list[tuple[date, Path]]:
    """(day, folder) of a table's partitions whose day lies in [start, end], in day order."""
    first, last = _as_date(start), _as_date(end)
    out = []
    for folder in sorted(Path(root).glob(PARTITION + "*")):
        day = _day(folder)
        if day is None or (first is not None and day < first) or (last is not None and day > last):
            continue
        out.append((day, folder))
    return out


def day_files(root: Path, start: date | datetime | None = None, end: date | datetime | None = None) -> list[Path]:
    """Committed Parquet files (temporaries excluded) of a table's partitions in [start, end]."""
    return [p for _, folder in day_folders(root, start, end)
            for p in sorted(folder.glob("*.parquet")) if not p.name.startswith(".")]


__all__ = ["POINTS_DIR", "HEARD_DIR", "points_root", "heard_root", "migrate", "day_folders", "day_files"]
