"""Ingest one source file into the archive: detect, read in batches, validate, write.

Kept apart from the readers (which only turn bytes into frames) and from the CLI
(which only reports), so the live watcher and tests drive the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tailwatch.archive import ArchiveWriter, already_ingested, file_digest
from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, Reader, Rejects
from tailwatch.ingest.detect import detect
from tailwatch.schema import conform, positions_only


@dataclass
class IngestSummary:
    path: str
    format: str
    records: int = 0
    points: int = 0
    written: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    skipped: bool = False  # the same content was ingested before

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files given, with folders recursed (hidden files and archive internals skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
                )
            )
        else:
            out.append(path)
    return out


def valid_points(frames: Iterator[pl.DataFrame], rejects: Rejects, where: str) -> Iterator[pl.DataFrame]:
    """Conform each frame and drop rows without a usable position, counting them."""
    for frame in frames:
        frame = conform(frame)
        good = positions_only(frame)
        if good.height < frame.height:
            rejects.add("no valid position or address", where, frame.height - good.height)
        yield good


def ingest_file(
    path: Path,
    archive: Path,
    reader: Reader | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> IngestSummary:
    """Ingest one file; raises BadInput (UnknownFormat) if no reader takes it."""
    reader = reader or detect(path)
    summary = IngestSummary(path=str(path), format=reader.name)
    digest = file_digest(path)
    done = already_ingested(archive, digest)
    if done is not None:
        summary.skipped = True
        summary.records = done.get("records", 0)
        summary.points = done.get("points", 0)
        summary.duplicates = summary.points
        return summary
    rejects = Rejects()
    writer = ArchiveWriter(archive, digest)
    for batch in valid_points(reader.read(path, rejects, batch_rows), rejects, str(path)):
        summary.points += batch.height
        writer.write(batch)
        if on_batch is not None:
            on_batch(batch.height)
    summary.records = rejects.records
    summary.written = writer.result.rows_written
    summary.duplicates = writer.result.duplicates
    summary.rejected = rejects.total
    summary.reasons = dict(rejects.counts)
    summary.examples = list(rejects.examples)
    writer.commit(summary.as_dict())
    return summary


def read_file(path: Path, reader: Reader | None = None) -> tuple[pl.DataFrame, Rejects]:
    """Read a whole file into one canonical frame (no archive): for `--input` and tests."""
    reader = reader or detect(path)
    rejects = Rejects()
    frames = list(valid_points(reader.read(path, rejects), rejects, str(path)))
    frame = pl.concat(frames) if frames else conform(pl.DataFrame())
    return frame.sort(["icao24", "timestamp"]), rejects
