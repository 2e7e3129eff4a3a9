"""The Parquet archive: date-partitioned, sorted, deduplicated, written atomically.

Layout: `DIR/date=YYYY-MM-DD/src-<digest>-<seq>.parquet` where `digest` names
the source content and `seq` the batch. A completed source leaves a manifest in
`DIR/_ingested/<digest>.json`, so re-ingesting the same bytes adds nothing, and
an interrupted ingest resumes at the first batch it had not written. Every file
is written to a dot-temporary name and renamed: readers of the archive see the
old state or the new, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tailwatch.schema import COLUMNS, POINT_SCHEMA

ROW_GROUP_ROWS = 65_536
DEDUPE_KEYS = ["icao24", "timestamp", "latitude", "longitude"]
MANIFEST_DIR = "_ingested"


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """Content digest of a source file (first 16 hex chars of SHA-256)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


def partition_files(archive: Path) -> list[Path]:
    """All committed Parquet files (temporaries excluded)."""
    return sorted(p for p in archive.glob("date=*/*.parquet") if not p.name.startswith("."))


def _atomic_write(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS, statistics=True)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _atomic_write_text(text: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


def _existing_keys(archive: Path, day: str, batch: pl.DataFrame) -> pl.DataFrame | None:
    """Dedupe keys already stored in one partition for the batch's aircraft and time span."""
    files = [p for p in (archive / f"date={day}").glob("*.parquet") if not p.name.startswith(".")]
    if not files:
        return None
    lo, hi = batch["timestamp"].min(), batch["timestamp"].max()
    addresses = batch["icao24"].unique()
    return (
        pl.scan_parquet(files)
        .select(DEDUPE_KEYS)
        .filter(pl.col("timestamp").is_between(lo, hi) & pl.col("icao24").is_in(addresses.implode()))
        .collect()
    )


@dataclass
class WriteResult:
    rows_written: int = 0
    duplicates: int = 0
    files: int = 0


class ArchiveWriter:
    """Writes the batches of one source into the archive."""

    def __init__(self, archive: Path, digest: str) -> None:
        self.archive = archive
        self.digest = digest
        self.result = WriteResult()
        self._seq = 0

    def write(self, batch: pl.DataFrame) -> None:
        """Store one canonical batch: split by UTC day, drop duplicates, sort, write."""
        seq = self._seq
        self._seq += 1
        if batch.is_empty():
            return
        batch = batch.select(COLUMNS)
        n_in = batch.height
        batch = batch.unique(subset=DEDUPE_KEYS, keep="first", maintain_order=False)
        batch = batch.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d").alias("_day"))
        for (day,), part in batch.partition_by("_day", as_dict=True).items():
            target = self.archive / f"date={day}" / f"src-{self.digest}-{seq:05d}.parquet"
            part = part.drop("_day")
            if target.exists():  # written by an earlier, interrupted run of the same source
                self.result.duplicates += part.height
                continue
            stored = _existing_keys(self.archive, day, part)
            if stored is not None and stored.height:
                before = part.height
                part = part.join(stored, on=DEDUPE_KEYS, how="anti", nulls_equal=True)
                self.result.duplicates += before - part.height
            if part.is_empty():
                continue
            part = part.sort(["icao24", "timestamp"])
            _atomic_write(part, target)
            self.result.rows_written += part.height
            self.result.files += 1
        self.result.duplicates += n_in - batch.height

    def commit(self, summary: dict) -> None:
        """Mark the source complete so that ingesting it again is a no-op."""
        _atomic_write_text(
            json.dumps(summary, indent=1, default=str),
            self.archive / MANIFEST_DIR / f"{self.digest}.json",
        )


def already_ingested(archive: Path, digest: str) -> dict | None:
    manifest = archive / MANIFEST_DIR / f"{digest}.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    return None


def scan(archive: Path) -> pl.LazyFrame:
    """A lazy scan of the whole archive with the canonical dtypes (Polars engine)."""
    files = partition_files(archive)
    if not files:
        return pl.LazyFrame(schema=POINT_SCHEMA)
    return pl.scan_parquet(files).select(COLUMNS)


def write_frames(archive: Path, frames: Iterable[pl.DataFrame], digest: str) -> WriteResult:
    """Write already-canonical frames (e.g. a live journal flush) under one digest."""
    writer = ArchiveWriter(archive, digest)
    for frame in frames:
        writer.write(frame)
    return writer.result
