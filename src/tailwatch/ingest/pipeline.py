"""Ingest source files into the archive: detect, read in batches, validate, write.

Kept apart from the readers (which only turn bytes into frames) and from the CLI
(which only reports), so the live watcher and tests drive the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.archive import ArchiveWriter, already_ingested
from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, BadInput, Reader, Rejects
from tailwatch.ingest.detect import detect
from tailwatch.ingest.reading import (  # noqa: F401 - IngestSummary, in_background: imported from here
    READ_FAULTS,
    IngestSummary,
    _Prepared,
    _prepared_chunks,
    _source_digest,
    file_error,
    in_background,
    one_schema,
)
from tailwatch.ingest.validate import valid_points
from tailwatch.schema import conform, with_extensions


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


def ingest_files(
    paths: list[Path],
    archive: Path,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    icao24: str | None = None,
    on_file: Callable[[IngestSummary], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[IngestSummary]:
    """Ingest many files through one writer (large files out, not one per small input).

    A file's manifest is written only once all its rows are on disk, so a kill at
    any moment leaves complete files and no false "done" mark; the next run
    re-reads unfinished files and deduplication drops what was already stored.
    A file that fails (BadInput, or anything else its reader raises) gets `error` set, one
    line naming it; its rows still in the buffer are discarded, the other files go on.
    """
    archive = Path(archive)
    archive.mkdir(parents=True, exist_ok=True)
    writer = ArchiveWriter(archive)
    summaries: list[IngestSummary] = []
    pending: list[tuple[int, IngestSummary, str]] = []

    said: dict[int, tuple[str, pl.DataFrame]] = {}  # identity claims of pending sources, written at settle

    def settle() -> None:
        _write_seen_together(archive, pending, said)
        for index, summary, digest in pending:
            summary.written, summary.duplicates = writer.source_counts(index)
        writer.commit_many([(summary.as_dict(), digest) for _, summary, digest in pending if summary.error is None])
        pending.clear()
        said.clear()

    def write_together(run: list[tuple[int, _Prepared]]) -> set[int]:
        """Rows of consecutive small files, already read, in one `write` (per call costs add up
        over thousands of trace files); the indices of files that failed."""
        frames = [(index, frame) for index, prepared in run for frame in prepared.frames or []]
        if not frames:
            return set()
        tags = np.repeat(np.array([i for i, _ in frames], dtype=np.uint32), [f.height for _, f in frames])
        try:
            stacked = _stacked([f for _, f in frames])
        except READ_FAULTS:  # one file's columns do not stack with the others': each file alone
            return write_alone(run)
        try:
            writer.write(stacked, source_index=pl.Series(tags))
        except OSError as exc:
            for index, prepared in run:
                writer.discard(index)
                prepared.summary.error = f"{prepared.summary.path}: {exc}"
            return {index for index, _ in run}
        return set()

    def write_alone(run: list[tuple[int, _Prepared]]) -> set[int]:
        failed: set[int] = set()
        for index, prepared in run:
            try:
                for frame in prepared.frames or []:
                    writer.write(frame, source_index=index)
            except READ_FAULTS as exc:
                writer.discard(index)
                prepared.summary.error = file_error(prepared.summary.path, exc)
                failed.add(index)
        return failed

    def account(index: int, prepared: _Prepared, frames: Iterator[pl.DataFrame] | list[pl.DataFrame], written: bool) -> None:
        summary, rejects = prepared.summary, prepared.rejects
        path = Path(summary.path)
        try:
            for batch in frames:
                summary.points += batch.height
                if not written:
                    writer.write(batch, source_index=index)
                if on_batch is not None:
                    on_batch(batch.height)
            _write_heard(archive, rejects, prepared.digest)
            if isinstance(rejects.seen, pl.DataFrame) and rejects.seen.height:
                said[index] = (prepared.digest, rejects.seen)
            summary.records = rejects.records
            summary.rejected = rejects.total
            summary.reasons = dict(rejects.counts)
            summary.examples = list(rejects.examples)
            summary.time_assumed = rejects.time_assumed
            pending.append((index, summary, prepared.digest))
        except READ_FAULTS as exc:
            writer.discard(index)
            summary.error = file_error(path, exc)

    index = 0
    for chunk in _prepared_chunks(paths, archive, batch_rows, icao24):
        numbered = list(enumerate(chunk, start=index))
        index += len(chunk)
        k = 0
        while k < len(numbered):
            # a run of small files read ahead: written in one call, then accounted file by file
            run_end = k
            while run_end < len(numbered) and numbered[run_end][1].frames is not None:
                run_end += 1
            run = [(i, p) for i, p in numbered[k:run_end] if p.summary.error is None and not p.summary.skipped]
            failed = write_together(run)
            for i, prepared in numbered[k:run_end] if run_end > k else numbered[k : k + 1]:
                summary = prepared.summary
                summaries.append(summary)
                if summary.error is None and not summary.skipped and prepared.reader is not None and i not in failed:
                    frames = prepared.frames
                    if frames is None:  # a large file: streamed batch by batch, read ahead on a thread
                        path = Path(summary.path)
                        frames = in_background(
                            valid_points(prepared.reader.read(path, prepared.rejects, batch_rows),
                                         prepared.rejects, str(path), icao24)
                        )
                    account(i, prepared, frames, written=prepared.frames is not None)
                if writer.buffered_rows == 0:
                    settle()
                if on_file is not None:
                    on_file(summary)
            k = max(run_end, k + 1)
    writer.flush()
    settle()
    return summaries


def _stacked(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames of many small files as one: as they are when their columns agree (files of one
    reader: the writer adds the missing extension columns once), else each given the archive's
    columns first (one reader's columns against another's). Conforming each of 400 trace
    files cost a fifth of ingesting them."""
    if one_schema(frames):
        return pl.concat(frames, rechunk=False)
    return pl.concat([with_extensions(f) for f in frames], rechunk=False)


@contextmanager
def _as_bad_input(path: Path) -> Iterator[None]:
    """Whatever reading `path` raises, as one `BadInput` line naming it (`reading.file_error`)."""
    try:
        yield
    except BadInput:
        raise
    except READ_FAULTS as exc:
        raise BadInput(file_error(path, exc)) from exc


def _write_heard(archive: Path, rejects: Rejects, digest: str) -> None:
    """A Mode S file's heard minutes beside the points (hiding.heard), before its manifest is committed."""
    if isinstance(rejects.heard, pl.DataFrame) and rejects.heard.height:
        from tailwatch.heard_store import write_heard

        write_heard(archive, rejects.heard, digest)


def _write_seen(archive: Path, rejects: Rejects, digest: str) -> None:
    """The identity claims a file makes (`tailwatch.seen`) beside the points, before its manifest is
    committed: keyed by the source's digest, so a re-ingest rewrites the same files."""
    if isinstance(rejects.seen, pl.DataFrame) and rejects.seen.height:
        from tailwatch.seen_store import write_seen

        write_seen(archive, rejects.seen, digest)


def _write_seen_together(archive: Path, pending: list[tuple[int, IngestSummary, str]],
                         said: dict[int, tuple[str, pl.DataFrame]]) -> None:
    """The claims of the sources about to be committed, in one file per day (`seen_store.write_seen_many`),
    before their manifests: one synced write per batch, not one per snapshot or trace file (a sync
    each would cost more than reading them). A failed write fails those sources (their manifests are
    not written, so the next run reads them again)."""
    batch = [said[index] for index, summary, _ in pending if index in said and summary.error is None]
    if not batch:
        return
    from tailwatch.seen_store import write_seen_many

    try:
        write_seen_many(archive, [digest for digest, _ in batch], [frame for _, frame in batch])
    except OSError as exc:
        for index, summary, _ in pending:
            if index in said:
                summary.error = f"{summary.path}: {exc}"


def ingest_file(
    path: Path,
    archive: Path,
    reader: Reader | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
    icao24: str | None = None,
) -> IngestSummary:
    """Ingest one file; raises BadInput (UnknownFormat) if no reader takes it or it breaks midway.

    `icao24` is the address for rows that carry none (e.g. an FR24 CSV export).
    """
    reader = reader or detect(path)
    summary = IngestSummary(path=str(path), format=reader.name)
    digest = _source_digest(path, icao24)
    done = already_ingested(archive, digest)
    if done is not None:
        summary.skipped = True
        summary.records = done.get("records", 0)
        summary.points = done.get("points", 0)
        summary.duplicates = summary.points
        return summary
    rejects = Rejects()
    writer = ArchiveWriter(archive, digest)
    with _as_bad_input(path):
        for batch in in_background(valid_points(reader.read(path, rejects, batch_rows), rejects, str(path), icao24)):
            summary.points += batch.height
            writer.write(batch)
            if on_batch is not None:
                on_batch(batch.height)
    writer.flush()
    _write_heard(archive, rejects, digest)
    _write_seen(archive, rejects, digest)
    summary.records = rejects.records
    summary.written = writer.result.rows_written
    summary.duplicates = writer.result.duplicates
    summary.rejected = rejects.total
    summary.reasons = dict(rejects.counts)
    summary.examples = list(rejects.examples)
    summary.time_assumed = rejects.time_assumed
    writer.commit(summary.as_dict())
    return summary


def read_file(
    path: Path, reader: Reader | None = None, icao24: str | None = None
) -> tuple[pl.DataFrame, Rejects]:
    """Read a whole file into one canonical frame (no archive): for `--input` and tests.

    Extension columns of the reader (e.g. `new_leg` from readsb traces) are kept.
    """
    rejects = Rejects()
    with _as_bad_input(path):
        reader = reader or detect(path)
        frames = [f for f in valid_points(reader.read(path, rejects), rejects, str(path), icao24)]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else conform(pl.DataFrame())
    return frame.sort(["icao24", "timestamp"], maintain_order=True), rejects
