"""The heard-minutes table in the archive: `ARCHIVE/heard/date=YYYY-MM-DD/<source digest>.parquet`.

One file per ingested source and day, written atomically and keyed by the source's digest, so
re-ingesting a file rewrites the same files and adds nothing. A sibling of the points table
(`archive_layout`), never inside it: a glob over either table sees one schema.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.archive_layout import day_files, heard_root
from tailwatch.heard import HEARD_SCHEMA, empty_heard, merge


def write_heard(archive: Path, minutes: pl.DataFrame, digest: str) -> list[Path]:
    """Write a source's heard minutes, one file per day, atomically (same digest → same files)."""
    from tailwatch.archive import _atomic_write

    if minutes.height == 0:
        return []
    out = []
    days = minutes.with_columns(pl.col("minute").dt.date().alias("_day"))
    for (day,), part in days.partition_by("_day", as_dict=True).items():
        folder = heard_root(archive) / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{digest}.parquet"
        _atomic_write(part.drop("_day").sort("icao24", "minute"), target)
        out.append(target)
    return out


def read_heard(archive: Path, icao24: list[str] | None = None, start: datetime | None = None,
               end: datetime | None = None) -> pl.DataFrame:
    """Heard minutes of the archive (none for archives written before the table existed)."""
    files = day_files(heard_root(archive), start, end)
    if not files:
        return empty_heard()
    frame = pl.scan_parquet(files, schema=HEARD_SCHEMA, missing_columns="insert", extra_columns="ignore")
    if icao24 is not None:
        frame = frame.filter(pl.col("icao24").is_in(icao24))
    if start is not None:
        frame = frame.filter(pl.col("last") >= start)
    if end is not None:
        frame = frame.filter(pl.col("first") <= end)
    return merge(frame.collect())  # merge: null position_messages (older files) fall back to positions
