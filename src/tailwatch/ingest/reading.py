"""Reading ahead for the ingest: what a file's ingest reports, its source digest, batches on
a background thread, and small files detected, read and validated in chunks on worker threads.

Apart from the pipeline (which writes) because this side only reads: it never touches the
archive's points, only its manifests (to skip what was ingested before).

One file's fault is that file's: whatever a reader raises on a file (our `BadInput`, or a
Polars schema error, a panic, a `KeyError` from a shape nobody foresaw) becomes that file's
one-line `error` naming it (`file_error`), and the other files go on. Files read or validated
together (a chunk of small traces) that fail together are read again one by one, so only the
bad one fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import os
import sys

import polars as pl

from tailwatch.archive import already_ingested, file_digest
from tailwatch.ingest.base import BadInput, Reader, Rejects
from tailwatch.ingest.detect import detect
from tailwatch.ingest.validate import valid_points


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
    time_assumed: str | None = None  # the reader assumed the times (e.g. from the file's modification time): how

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# What reading one file may raise and is that file's fault: anything but an interrupt or an exit
# (a Polars panic is a BaseException).
READ_FAULTS: tuple[type[BaseException], ...] = (Exception, pl.exceptions.PanicException)
DEBUG_ENV = "TAILWATCH_DEBUG"  # set by `tailwatch --debug`: the traceback of an unforeseen fault is shown too


def file_error(path: Path | str, exc: BaseException) -> str:
    """One line naming the file: a `BadInput` as it is (it names the file and where), anything
    else as what went wrong, cut short (a Polars schema error can run to 20 KB on one line)."""
    if isinstance(exc, BadInput):
        text = " ".join(str(exc).split())
        return text if str(path) in text else f"{path}: {text}"
    detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if len(detail) > 200:
        detail = detail[:200] + "…"
    if os.environ.get(DEBUG_ENV):
        import traceback

        sys.stderr.write(f"{path}:\n" + "".join(traceback.format_exception(exc)))
    return f"{path}: cannot read ({type(exc).__name__}{': ' + detail if detail else ''})"


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
    """Detect a few files and read the small ones; readers with `read_many` get them all at once
    (and, should that call fail, one by one: only the bad file fails)."""
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
        except READ_FAULTS as exc:
            prepared.frames = None
            summary.error = file_error(path, exc)
    for group in many.values():
        read = _read_together(group)
        try:
            together = _valid_together(read, batch_rows, icao24)
        except READ_FAULTS:  # one file's rows broke the shared validation: each file on its own
            together = False
        if not together:
            for prepared, result in read:
                try:
                    batches = (result.slice(i, batch_rows) for i in range(0, result.height, batch_rows))
                    prepared.frames = list(valid_points(batches, prepared.rejects, prepared.summary.path, icao24))
                except READ_FAULTS as exc:
                    prepared.frames = None
                    prepared.summary.error = file_error(prepared.summary.path, exc)
    return out


def _read_together(group: list[_Prepared]) -> list[tuple[_Prepared, pl.DataFrame]]:
    """Files of one `read_many` reader in one call; if the call fails, again one file a call.
    Files that fail get their `error`; the others are returned with their frames."""
    reader = group[0].reader
    try:
        results = reader.read_many([Path(p.summary.path) for p in group], [p.rejects for p in group])  # type: ignore[union-attr]
    except READ_FAULTS:
        results = []
        for prepared in group:
            prepared.rejects = Rejects()  # what the failed call counted is forgotten
            try:
                (result,) = reader.read_many([Path(prepared.summary.path)], [prepared.rejects])  # type: ignore[union-attr]
            except READ_FAULTS as exc:
                result = exc
            results.append(result)
    read: list[tuple[_Prepared, pl.DataFrame]] = []
    for prepared, result in zip(group, results):
        if isinstance(result, BaseException):
            prepared.summary.error = file_error(prepared.summary.path, result)
        else:
            read.append((prepared, result))
    return read


def one_schema(frames: list[pl.DataFrame]) -> bool:
    """Whether every frame has the first one's columns and dtypes (a frame's schema is built
    anew at each call, so the first is built once)."""
    first = frames[0].schema
    return all(f.schema == first for f in frames[1:])


def _valid_together(read: list[tuple[_Prepared, pl.DataFrame]], batch_rows: int, icao24: str | None) -> bool:
    """Validate the frames of many small files as one frame and hand each file its slice.

    Per file, `valid_points` is mostly fixed costs. When every row passes (the common
    case) the result is the same as file by file; otherwise (or when the files' columns
    differ) returns False and the caller validates file by file to report rejects per file.
    """
    filled = [(p, f) for p, f in read if f.height]
    if len(filled) < 2 or not one_schema([f for _, f in filled]):
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
