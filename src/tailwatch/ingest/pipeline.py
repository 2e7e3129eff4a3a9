"""Ingest source files into the archive: detect, read in batches, validate, write.

Kept apart from the readers (which only turn bytes into frames) and from the CLI
(which only reports), so the live watcher and tests drive the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.archive import ArchiveWriter, already_ingested, file_digest
from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, LINE, MAX_EXAMPLES, BadInput, Reader, Rejects
from tailwatch.ingest.detect import detect
from tailwatch.schema import EXTENSION_SCHEMA, conform, positions_only, with_extensions


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
    error: str | None = None  # the file could not be read (BadInput message)

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


def valid_points(
    frames: Iterator[pl.DataFrame], rejects: Rejects, where: str, icao24: str | None = None
) -> Iterator[pl.DataFrame]:
    """Conform each frame and drop rows without a usable position, counting them.

    `icao24` fills the address of rows that have none (formats such as the FR24
    CSV export do not carry it). Rows keep a reader's extension columns (`schema.EXTENSION_SCHEMA`).
    """
    for frame in frames:
        if icao24 is not None:
            fill = pl.lit(icao24.strip().lower())
            frame = frame.with_columns(
                pl.coalesce(pl.col("icao24").cast(pl.String), fill).alias("icao24") if "icao24" in frame.columns
                else fill.alias("icao24")
            )
        extras = [c for c in EXTENSION_SCHEMA if c in frame.columns]
        canonical, addresses_ok = _conform(frame)
        if extras:
            canonical = canonical.with_columns(frame.select(pl.col(c).cast(EXTENSION_SCHEMA[c]) for c in extras))
        good = _positions_only(canonical, addresses_ok)
        if good.height < canonical.height:
            _report_dropped(frame, canonical, rejects, where)
        yield good


ICAO24_PATTERN = r"^[0-9a-f]{6}$"  # as `schema.positions_only` checks it


def _conform(frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """`schema.conform(frame)`, and whether every address is already canonical.

    Most sources write addresses as six lower-case hex digits: one regex pass proves it,
    and then conform's strip/lower-case (which would return them unchanged) and the
    address check of `positions_only` are skipped; the result is the same frame.
    """
    icao = frame.get_column("icao24", default=None)
    if icao is None or icao.dtype != pl.String or icao.has_nulls() or not icao.str.contains(ICAO24_PATTERN).all():
        return conform(frame), False
    return conform(frame.drop("icao24")).with_columns(icao), True


def _positions_only(frame: pl.DataFrame, addresses_ok: bool) -> pl.DataFrame:
    """`schema.positions_only`, without the address check when `_conform` found every address valid."""
    if not addresses_ok:
        return positions_only(frame)
    return frame.filter(
        pl.col("latitude").is_between(-90.0, 90.0)
        & pl.col("longitude").is_between(-180.0, 180.0)
        & pl.col("latitude").is_not_nan()
        & pl.col("longitude").is_not_nan()
        & pl.col("timestamp").is_not_null()
    )


def _report_dropped(frame: pl.DataFrame, canonical: pl.DataFrame, rejects: Rejects, where: str) -> None:
    """Count rows without a usable position or address, by reason, with the first source lines."""
    lat, lon = pl.col("latitude"), pl.col("longitude")
    reason = (
        pl.when(pl.col("timestamp").is_null()).then(pl.lit("missing or invalid time"))
        .when(pl.col("icao24").is_null()).then(pl.lit("no aircraft address (give one with --icao24)"))
        .when(~pl.col("icao24").str.contains(r"^[0-9a-f]{6}$")).then(pl.lit("invalid icao24 address"))
        .when(lat.is_null() | lon.is_null()).then(pl.lit("no position"))
        .when(~(lat.is_between(-90.0, 90.0) & lon.is_between(-180.0, 180.0)) | lat.is_nan() | lon.is_nan())
        .then(pl.lit("position out of range"))
        .otherwise(None)
        .alias("_reason")
    )
    tagged = canonical.select(reason)
    if LINE in frame.columns:
        tagged = tagged.with_columns(frame[LINE])
    tagged = tagged.filter(pl.col("_reason").is_not_null())
    counts = tagged.group_by("_reason").len()
    for why, n in counts.iter_rows():
        rejects.counts[why] += n
    for row in tagged.head(MAX_EXAMPLES).iter_rows(named=True):
        if len(rejects.examples) >= MAX_EXAMPLES:
            break
        line = row.get(LINE)
        rejects.examples.append(f"{where}:{line}: {row['_reason']}" if line is not None else f"{where}: {row['_reason']}")


def _source_digest(path: Path, icao24: str | None) -> str:
    digest = file_digest(path)
    if icao24 is not None:  # the same bytes under another address are another source
        digest = f"{digest}-{icao24.strip().lower()}"
    return digest


PREFETCH_BYTES = 32 << 20  # files up to this size are read ahead on worker threads
READ_AHEAD = 3  # chunks in flight


@dataclass
class _Prepared:
    """A file detected (and, when small, already read) by a worker thread."""

    summary: IngestSummary
    reader: Reader | None = None
    digest: str = ""
    rejects: Rejects = field(default_factory=Rejects)
    frames: list[pl.DataFrame] | None = None


def in_background(frames: Iterator[pl.DataFrame], depth: int = 1) -> Iterator[pl.DataFrame]:
    """Run a batch iterator on its own thread, `depth` batches ahead of the consumer.

    One batch is enough to overlap the two sides; every further one is a million parsed rows
    held while the writer flushes (measured: depth 4 added ~130 MB to the peak, no speed).

    Reading (CSV scan, casts) and writing (dedupe, sort, Parquet encode) then overlap
    on the two cores: both spend their time in Polars, which releases the GIL.
    Exceptions are re-raised in the consumer, in order.
    """
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        box.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # handed to the consumer
            box.put(exc)

    worker = threading.Thread(target=produce, name="ingest-read", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _prepare_chunk(paths: list[Path], archive: Path, batch_rows: int, icao24: str | None) -> list[_Prepared]:
    """Detect a few files and read the small ones; readers with `read_many` get them all at once."""
    out: list[_Prepared] = []
    many: dict[int, list[_Prepared]] = {}
    for path in paths:
        summary = IngestSummary(path=str(path), format="?")
        prepared = _Prepared(summary)
        out.append(prepared)
        try:
            prepared.reader = detect(path)
            summary.format = prepared.reader.name
            prepared.digest = _source_digest(path, icao24)
            done = already_ingested(archive, prepared.digest)
            if done is not None:
                summary.skipped = True
                summary.records = done.get("records", 0)
                summary.points = done.get("points", 0)
                summary.duplicates = summary.points
            elif path.stat().st_size <= PREFETCH_BYTES:
                if hasattr(prepared.reader, "read_many"):
                    many.setdefault(id(prepared.reader), []).append(prepared)
                else:
                    reading = prepared.reader.read(path, prepared.rejects, batch_rows)
                    prepared.frames = list(valid_points(reading, prepared.rejects, str(path), icao24))
        except (BadInput, OSError) as exc:
            summary.error = str(exc) if isinstance(exc, BadInput) else f"{path}: {exc}"
    for group in many.values():
        reader = group[0].reader
        results = reader.read_many([Path(p.summary.path) for p in group], [p.rejects for p in group])  # type: ignore[union-attr]
        read: list[tuple[_Prepared, pl.DataFrame]] = []
        for prepared, result in zip(group, results):
            if isinstance(result, BadInput):
                prepared.summary.error = str(result)
            else:
                read.append((prepared, result))
        if not _valid_together(read, batch_rows, icao24):
            for prepared, result in read:
                batches = (result.slice(i, batch_rows) for i in range(0, result.height, batch_rows))
                prepared.frames = list(valid_points(batches, prepared.rejects, prepared.summary.path, icao24))
    return out


def _valid_together(read: list[tuple[_Prepared, pl.DataFrame]], batch_rows: int, icao24: str | None) -> bool:
    """Validate the frames of many small files as one frame and hand each file its slice.

    Per file, `valid_points` is mostly fixed costs. When every row passes (the common
    case) the result is the same as file by file; otherwise (or when the files' columns
    differ) returns False and the caller validates file by file to report rejects per file.
    """
    filled = [(p, f) for p, f in read if f.height]
    if len(filled) < 2 or any(f.schema != filled[0][1].schema for _, f in filled):
        return False
    combined = pl.concat([f for _, f in filled], rechunk=False)
    (good,) = valid_points(iter([combined]), Rejects(), "", icao24)
    if good.height != combined.height:
        return False
    for prepared, frame in read:
        prepared.frames = []
    offset = 0
    for prepared, frame in filled:
        prepared.frames = [good.slice(offset + i, min(batch_rows, frame.height - i)) for i in range(0, frame.height, batch_rows)]
        offset += frame.height
    return True


CHUNK_FILES = 64  # files detected and read per task: fixed per-call costs are paid per chunk


def _prepared_chunks(paths: list[Path], archive: Path, batch_rows: int, icao24: str | None) -> Iterator[list[_Prepared]]:
    """Detect and read small files in chunks on two threads (Polars and zlib release the GIL),
    in input order, a chunk at a time (so their rows can be written in one call)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    chunks = [paths[i : i + CHUNK_FILES] for i in range(0, len(paths), CHUNK_FILES)]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-read") as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(_prepare_chunk, chunk, archive, batch_rows, icao24))
            if len(pending) >= READ_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


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
    A file that fails (BadInput) gets `error` set; its rows still in the buffer are
    discarded, the other files go on.
    """
    archive = Path(archive)
    archive.mkdir(parents=True, exist_ok=True)
    writer = ArchiveWriter(archive)
    summaries: list[IngestSummary] = []
    pending: list[tuple[int, IngestSummary, str]] = []

    def settle() -> None:
        for index, summary, digest in pending:
            summary.written, summary.duplicates = writer.source_counts(index)
            writer.commit(summary.as_dict(), digest)
        pending.clear()

    def write_together(run: list[tuple[int, _Prepared]]) -> set[int]:
        """Rows of consecutive small files, already read, in one `write` (per call costs add up
        over thousands of trace files); the indices of files that failed."""
        frames = [(index, frame) for index, prepared in run for frame in prepared.frames or []]
        if not frames:
            return set()
        tags = np.repeat(np.array([i for i, _ in frames], dtype=np.uint32), [f.height for _, f in frames])
        try:
            writer.write(pl.concat([with_extensions(f) for _, f in frames], rechunk=False), source_index=pl.Series(tags))
        except OSError as exc:
            for index, prepared in run:
                writer.discard(index)
                prepared.summary.error = f"{prepared.summary.path}: {exc}"
            return {index for index, _ in run}
        return set()

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
            summary.records = rejects.records
            summary.rejected = rejects.total
            summary.reasons = dict(rejects.counts)
            summary.examples = list(rejects.examples)
            pending.append((index, summary, prepared.digest))
        except (BadInput, OSError) as exc:
            writer.discard(index)
            summary.error = str(exc) if isinstance(exc, BadInput) else f"{path}: {exc}"

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


def _write_heard(archive: Path, rejects: Rejects, digest: str) -> None:
    """A Mode S file's heard minutes beside the points (hiding.heard), before its manifest is committed."""
    if isinstance(rejects.heard, pl.DataFrame) and rejects.heard.height:
        from tailwatch.heard_store import write_heard

        write_heard(archive, rejects.heard, digest)


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
    for batch in in_background(valid_points(reader.read(path, rejects, batch_rows), rejects, str(path), icao24)):
        summary.points += batch.height
        writer.write(batch)
        if on_batch is not None:
            on_batch(batch.height)
    writer.flush()
    _write_heard(archive, rejects, digest)
    summary.records = rejects.records
    summary.written = writer.result.rows_written
    summary.duplicates = writer.result.duplicates
    summary.rejected = rejects.total
    summary.reasons = dict(rejects.counts)
    summary.examples = list(rejects.examples)
    writer.commit(summary.as_dict())
    return summary


def read_file(
    path: Path, reader: Reader | None = None, icao24: str | None = None
) -> tuple[pl.DataFrame, Rejects]:
    """Read a whole file into one canonical frame (no archive): for `--input` and tests.

    Extension columns of the reader (e.g. `new_leg` from readsb traces) are kept.
    """
    reader = reader or detect(path)
    rejects = Rejects()
    frames = [f for f in valid_points(reader.read(path, rejects), rejects, str(path), icao24)]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else conform(pl.DataFrame())
    return frame.sort(["icao24", "timestamp"], maintain_order=True), rejects
