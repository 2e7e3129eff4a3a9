"""`tailwatch ingest --engine spark`: the readers as Spark tasks, each UTC day written by one task.

A folder of a year of captures is read by many executors at once (one task per group of
files, each running the same reader and validation as `ingest.pipeline`), and the rows are
shuffled by UTC day so that each day is written by exactly one task with the archive's own
`ArchiveWriter`: sorted, deduplicated against what the day already held, written atomically.
The archive's layout is therefore the one the DuckDB engine writes and reads.

What differs from the single-machine pipeline, by necessity: of two equal rows (same
icao24, timestamp and position) from two files, the one kept is the first to reach the
day's task, not the first in the command line; a file that breaks midway loses the rows it
had buffered (up to `FILE_BUFFER_ROWS`), as with DuckDB, but rows a large file streamed
before the break may be stored (its manifest is not written, so the next run reads it again
and deduplication drops them).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from tailwatch.archive import ArchiveWriter, already_ingested
from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, Rejects
from tailwatch.ingest.reading import IngestSummary
from tailwatch.schema import with_extensions

FILE_BUFFER_ROWS = 4_000_000  # a file's rows are held back until it has read cleanly, up to this many


def _settings() -> dict[str, str | None]:
    """Reader settings the CLI passes through the environment (--capture-start, --receiver):
    handed to every task, since a cluster's executors do not share the driver's environment."""
    from tailwatch.ingest.capture import SETTING_ENVS

    return {name: os.environ.get(name) for name in SETTING_ENVS}  # unset ones too: a reused worker forgets them


def _ipc(frame: pl.DataFrame) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    frame.write_ipc(sink)
    return sink.getvalue().to_pybytes()


def read_source(path: Path, archive: Path, icao24: str | None, batch_rows: int = DEFAULT_BATCH_ROWS,
                claims: list[tuple[str, pl.DataFrame]] | None = None,
                ) -> tuple[IngestSummary, str, Iterator[pl.DataFrame]]:
    """Detect one file and stream its valid canonical batches; the summary fills as it is read.
    The file's identity claims go to `claims` when given (the task writes them for all its files
    at once), else to the archive as the file ends."""
    from tailwatch.ingest.detect import detect
    from tailwatch.ingest.pipeline import _write_heard, _write_seen
    from tailwatch.ingest.reading import READ_FAULTS, _source_digest, file_error
    from tailwatch.ingest.validate import valid_points

    summary = IngestSummary(path=str(path), format="?")
    rejects = Rejects()
    digest = ""
    try:
        reader = detect(path)
        summary.format = reader.name
        digest = _source_digest(path, icao24)
        done = already_ingested(archive, digest)
    except READ_FAULTS as exc:  # one file's fault is that file's (reading.file_error)
        summary.error = file_error(path, exc)
        return summary, digest, iter(())
    if done is not None:
        summary.skipped = True
        summary.records = done.get("records", 0)
        summary.points = done.get("points", 0)
        summary.duplicates = summary.points
        return summary, digest, iter(())

    def batches() -> Iterator[pl.DataFrame]:
        try:
            for batch in valid_points(reader.read(path, rejects, batch_rows), rejects, str(path), icao24):
                summary.points += batch.height
                yield with_extensions(batch)  # canonical columns and the schema extension, as the archive keeps them
        except READ_FAULTS as exc:
            summary.error = file_error(path, exc)
        summary.records = rejects.records
        summary.rejected = rejects.total
        summary.reasons = dict(rejects.counts)
        summary.examples = list(rejects.examples)
        summary.time_assumed = rejects.time_assumed
        if summary.error is None:  # heard minutes and identity claims, before the driver commits the manifest
            _write_heard(archive, rejects, digest)
            if claims is None:
                _write_seen(archive, rejects, digest)
            elif isinstance(rejects.seen, pl.DataFrame) and rejects.seen.height:
                claims.append((digest, rejects.seen))

    return summary, digest, batches()


def _by_day(index: int, batch: pl.DataFrame) -> Iterator[tuple[str, tuple[int, bytes]]]:
    days = batch.with_columns(pl.col("timestamp").dt.date().cast(pl.String).alias("_day"))
    for (day,), part in days.partition_by("_day", as_dict=True).items():
        yield day, (index, _ipc(part.drop("_day")))


def read_task(items: Iterator[tuple[int, str]], archive: str, icao24: str | None, settings: dict[str, str | None],
              summaries) -> Iterator[tuple[str, tuple[int, bytes]]]:
    """Spark task: read its files, report each file's summary, hand on (day, (file, rows)). The
    identity claims of all its files are written at its end, in one file per day (a synced write
    per trace or snapshot file would cost more than reading it), before the driver commits any
    manifest; if that write fails, its files fail."""
    from tailwatch.ingest.capture import apply_settings

    apply_settings(settings)
    reported: list[tuple[int, IngestSummary, str]] = []
    said: list[tuple[int, str, pl.DataFrame]] = []
    for index, name in items:
        claims: list[tuple[str, pl.DataFrame]] = []
        summary, digest, batches = read_source(Path(name), Path(archive), icao24, claims=claims)
        held: list[pl.DataFrame] = []
        held_rows, streaming = 0, False
        for batch in batches:
            if streaming:
                yield from _by_day(index, batch)
                continue
            held.append(batch)
            held_rows += batch.height
            if held_rows > FILE_BUFFER_ROWS:  # too large to hold back: stream the rest
                streaming = True
                for part in held:
                    yield from _by_day(index, part)
                held = []
        if summary.error is None:
            for part in held:
                yield from _by_day(index, part)
        reported.append((index, summary, digest))
        said.extend((index, d, frame) for d, frame in claims if summary.error is None)
    if said:
        from tailwatch.seen_store import write_seen_many

        try:
            write_seen_many(Path(archive), [d for _, d, _ in said], [frame for _, _, frame in said])
        except OSError as exc:
            failed = {index for index, _, _ in said}
            for index, summary, _ in reported:
                if index in failed:
                    summary.error = f"{summary.path}: {exc}"
    summaries.add([(index, summary.as_dict(), digest) for index, summary, digest in reported])


def write_task(records: Iterator[tuple[str, tuple[int, bytes]]], archive: str) -> Iterator[tuple[int, int, int]]:
    """Spark task: write the days it owns; (file, written, duplicates) per file it saw."""
    writer = ArchiveWriter(Path(archive))
    seen: set[int] = set()
    for _day, (index, blob) in records:
        seen.add(index)
        writer.write(pl.read_ipc(blob), source_index=index)
    writer.flush()
    for index in sorted(seen):
        written, duplicates = writer.source_counts(index)
        yield index, written, duplicates


def _list_param():
    from pyspark.accumulators import AccumulatorParam

    class ListParam(AccumulatorParam):
        def zero(self, value):
            return []

        def addInPlace(self, value1, value2):
            value1.extend(value2)
            return value1

    return ListParam()


def day_partition(day: str, partitions: int) -> int:
    """The write task of a UTC day (stable across processes, unlike `hash`)."""
    return zlib.crc32(day.encode()) % partitions


def ingest_on_spark(spark, paths: list[Path], archive: Path, icao24: str | None = None,
                    on_file: Callable[[IngestSummary], None] | None = None) -> list[IngestSummary]:
    """Ingest `paths` into `archive` with Spark; one summary per path, in order, as `ingest_files`."""
    from functools import partial


    archive = Path(archive).resolve()
    archive.mkdir(parents=True, exist_ok=True)
    if not paths:
        return []
    sc = spark.sparkContext
    numbered = [(i, str(Path(p).resolve())) for i, p in enumerate(paths)]
    read_slices = max(1, min(len(numbered), 4 * sc.defaultParallelism))
    write_slices = max(1, sc.defaultParallelism)
    summaries = sc.accumulator([], _list_param())
    settings, where = _settings(), str(archive)
    counts = (
        sc.parallelize(numbered, read_slices)
        .mapPartitions(lambda items: read_task(items, where, icao24, settings, summaries))
        .partitionBy(write_slices, partial(day_partition, partitions=write_slices))
        .mapPartitions(lambda records: write_task(records, where))
        .collect()
    )
    by_index: dict[int, tuple[dict, str]] = {}
    for index, summary, digest in summaries.value:  # a retried task reports twice: the last one counts
        by_index[index] = (summary, digest)
    written: dict[int, list[int]] = {}
    for index, n_written, n_dupes in counts:
        entry = written.setdefault(index, [0, 0])
        entry[0] += n_written
        entry[1] += n_dupes
    committer = ArchiveWriter(archive)
    out: list[IngestSummary] = []
    for index, name in numbered:
        fields, digest = by_index.get(index, ({"path": str(paths[index]), "format": "?",
                                               "error": f"{paths[index]}: no result from the Spark task"}, ""))
        summary = IngestSummary(**fields)
        summary.path = str(paths[index])
        if summary.error is None and not summary.skipped:
            summary.written, summary.duplicates = written.get(index, [0, 0])
            committer.commit(summary.as_dict(), digest)
        out.append(summary)
        if on_file is not None:
            on_file(summary)
    return out


__all__ = ["ingest_on_spark", "day_partition", "read_source", "read_task", "write_task"]
