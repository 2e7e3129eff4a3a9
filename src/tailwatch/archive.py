"""The Parquet archive: date-partitioned, sorted, deduplicated, written atomically.

Layout: `DIR/points/date=YYYY-MM-DD/part-<run>-<seq>.parquet` (`archive_layout`), each file sorted by
`icao24, timestamp`, zstd-compressed (level 2), in row groups of `ROW_GROUP_ROWS` rows with
statistics, so one aircraft's day is one or two row groups that a query engine
finds from the footers. A writer buffers batches (of one or many sources) per day
and flushes large files, not one file per small input (a flush of a million rows or
more becomes two files, encoded in parallel; days flush in parallel too).

Deduplication: rows equal on (icao24, timestamp, latitude, longitude) are
dropped within a run and against what the partition already held; the first
received is kept. A run holds the key hashes of its newest `SEEN_ROWS` rows in memory and
reads older ones back from its own files when a flush overlaps them in time, so memory does
not grow with the input. Completed
sources leave `DIR/_ingested/<digest>.json`, so re-ingesting the same bytes
reads nothing. Every file is written to a dot-temporary name, fsynced and
renamed: a crash or kill leaves the archive as it was plus complete files, and
the next run of the same input skips the rows those files already hold.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from tailwatch.archive_layout import day_files, migrate, points_root
from tailwatch.archive_lock import day_lock, sweep_temporaries
from tailwatch.schema import ARCHIVE_COLUMNS, ARCHIVE_SCHEMA, with_extensions

ROW_GROUP_ROWS = 65_536
# zstd level 2, not the default 3: encoding is the largest share of an ingest's CPU after the CSV
# scan, and level 2 takes 13 % less of it for files 5 % larger (level 1: 27 % larger for little
# more); reading decompresses at the same speed whatever the level
ZSTD_LEVEL = 2
# rows buffered before files are written: a million keeps a flush's sort, gather and encode in
# working sets the allocator reuses and lets the reader run ahead through most of it (4 M was 10 %
# slower on OpenSky CSV, with 500 MB more peak RSS); files stay large (one per day per flush)
FLUSH_ROWS = int(os.environ.get("TAILWATCH_FLUSH_ROWS", "1000000"))
# key hashes of this run's files held in memory for deduplication across flushes; beyond this,
# the oldest files' keys are read back from disk when a later flush overlaps them in time
SEEN_ROWS = int(os.environ.get("TAILWATCH_SEEN_ROWS", "4000000"))
PARALLEL_WRITE_ROWS = 1 << 20  # flushes from this size on are written as two files in parallel
DEDUPE_KEYS = ["icao24", "timestamp", "latitude", "longitude"]
MANIFEST_DIR = "_ingested"
_SRC = "_src"
_KEY = "_key"


def file_digest(path: Path, chunk: int = 1 << 22) -> str:
    """Content digest of a source file: 128-bit XXH3, 32 hex chars.

    Not for security, only to recognise the same bytes again: XXH3 reads at memory
    speed, where SHA-256 cost a third of the time of ingesting a large CSV.
    """
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def partition_files(archive: Path) -> list[Path]:
    """All committed Parquet files (temporaries excluded)."""
    return day_files(points_root(archive))


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable (the directory entry itself is synced)."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _atomic_write(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=ROW_GROUP_ROWS,
                            statistics=True)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(target.parent)


_MIX_A, _MIX_B = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_NOT_HEX = np.uint64(1 << 63)  # an address that is not hex text keys by its string hash, apart from hex ones


def _mix(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, in place on uint64 (numpy wraps the products, as it must)."""
    h ^= h >> np.uint64(30)
    h *= _MIX_A
    h ^= h >> np.uint64(27)
    h *= _MIX_B
    h ^= h >> np.uint64(31)
    return h


def _addresses(icao: pl.Series) -> pl.Series:
    """Six-hex-digit addresses as their integer value (null where the text is not hex)."""
    return icao.str.to_integer(base=16, strict=False).cast(pl.UInt64)


def _dedupe_keys(frame: pl.DataFrame, addresses: pl.Series | None = None) -> pl.Series:
    """A 64-bit hash per row of (icao24, timestamp, latitude, longitude): one integer per row
    keeps a day's seen-set small.

    Why by hand over the numbers and not `pl.struct(...).hash()`: hashing the struct (a
    string among them) cost a quarter of a flush; mixing the address's value, the
    microseconds and the coordinates' bits with splitmix64 costs a fifth of that. Each
    row's key depends on its own values only, so keys of stored files (read back by
    `_stored_keys`) and of new rows compare. Hashes live in memory only; none is stored.
    """
    if addresses is None:
        addresses = _addresses(frame["icao24"])
    if addresses.has_nulls():  # not after the readers (they keep hex addresses only); kept apart all the same
        addresses = addresses.fill_null(frame["icao24"].hash(seed=0x7A11) | _NOT_HEX)
    h = frame["timestamp"].dt.epoch("us").cast(pl.Int64).to_numpy().view(np.uint64).copy()
    h = _mix(h)
    for part in (addresses.to_numpy(),
                 frame["latitude"].cast(pl.Float64).to_numpy().view(np.uint64),
                 frame["longitude"].cast(pl.Float64).to_numpy().view(np.uint64)):
        h ^= part
        h = _mix(h)
    return pl.Series(_KEY, h, dtype=pl.UInt64)


def _stored_keys(files: list[Path], lo, hi) -> pl.Series:
    """Key hashes of stored rows in [lo, hi] (row groups outside are pruned by statistics)."""
    stored = (
        pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")
        .select(DEDUPE_KEYS)
        .filter(pl.col("timestamp").is_between(lo, hi))
        .collect()
    )
    return _dedupe_keys(stored)


_DAY_BITS = 37  # microseconds in a day < 2**37


def _dedupe_order(part: pl.DataFrame) -> tuple[pl.Series, pl.Series, pl.Series]:
    """The row order that sorts one day by (icao24, timestamp), stably, the key hashes in that
    order, and which rows in that order are the first of their key.

    Why an order and not a sorted frame: the rows are then gathered once, after the
    duplicates are known, instead of once to sort and again to drop. Why one integer:
    sorting on the string column cost two thirds of writing a day; a six-hex-digit address's
    value sorts as its text does, so address << 37 | microseconds into the span sorts the same
    about three times faster. Why not by the key hash too: equal rows share address and time,
    so after a stable sort they sit in one run of equal (address, time), received order
    kept; such runs are rare (one aircraft, one microsecond, two positions), and only
    their rows need the hash-table test, not every row a second sort key.
    """
    addresses = _addresses(part["icao24"])
    keys = _dedupe_keys(part, addresses)
    lo, hi = part["timestamp"].min(), part["timestamp"].max()
    if lo is not None and (hi - lo).total_seconds() * 1e6 < 2**_DAY_BITS and not addresses.has_nulls():
        packed = addresses * (1 << _DAY_BITS) + (part["timestamp"] - lo).dt.total_microseconds().cast(pl.UInt64)
        order = packed.arg_sort()  # stable
        ordered = packed.gather(order)
    else:
        by = pl.DataFrame({"icao24": part["icao24"], "timestamp": part["timestamp"]})
        order = by.select(pl.arg_sort_by(["icao24", "timestamp"], maintain_order=True).alias("order"))["order"]
        ordered = by[order].select(pl.struct("icao24", "timestamp").hash().alias("t"))["t"]
    keys = keys.gather(order)
    tied = (ordered == ordered.shift(1)).fill_null(False)
    first = ~tied
    if tied.any():
        runs = tied | tied.shift(-1).fill_null(False)  # every row of a run of equal (address, time)
        where = runs.arg_true()
        first = first.scatter(where, keys.gather(where).is_first_distinct())
    return order, keys, first


@dataclass
class _Written:
    """Files this run wrote for one day in one flush: their time range, and their rows' key
    hashes while memory holds them (None once evicted: read back from `files`)."""

    lo: object
    hi: object
    hashes: pl.Series | None
    files: list[Path]


@dataclass
class WriteResult:
    rows_written: int = 0
    duplicates: int = 0
    files: int = 0


class ArchiveWriter:
    """Buffers canonical batches per UTC day and writes them as sorted, deduplicated files.

    Rows can be tagged with a source index (`source_index` of `write`) to get
    per-source written/duplicate counts back from `source_counts`.
    """

    def __init__(self, archive: Path, digest: str = "", flush_rows: int = FLUSH_ROWS) -> None:
        self.archive = Path(archive)
        migrate(self.archive)  # an old-layout archive's partitions move to points/ before the first write
        self.points = points_root(self.archive)
        self.digest = digest
        self.flush_rows = flush_rows
        self.result = WriteResult()
        self.run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{os.urandom(3).hex()}"
        self._seq = 0
        self._buffer: dict[str, list[pl.DataFrame]] = {}
        self._buffered = 0
        self._preexisting: dict[str, list[Path]] = {}
        # what this run wrote, per day, per flush with its time range: a batch is checked only
        # against files whose range overlaps its own (time-ordered input checks few); the newest
        # SEEN_ROWS key hashes stay in memory, so memory stays flat however long the input
        self._written: dict[str, list[_Written]] = {}
        self._held: list[_Written] = []  # entries with hashes in memory, oldest first
        self.seen_rows = SEEN_ROWS
        self._per_source: dict[int, list[int]] = {}  # source index -> [written, duplicates]
        self._swept_manifests = False
        self._lock = threading.Lock()  # counters and file numbers shared by days flushed in parallel

    # -- buffering ------------------------------------------------------------------------
    def write(self, batch: pl.DataFrame, source_index: int | pl.Series = 0) -> None:
        """Add one canonical batch; files are written when enough rows are buffered.

        `source_index` may be a Series with one index per row: many small sources in one
        call cost one buffering step, not one each.
        """
        if batch.is_empty():
            return
        tag = (source_index.cast(pl.UInt32) if isinstance(source_index, pl.Series)
               else pl.lit(source_index, dtype=pl.UInt32)).alias(_SRC)
        batch = with_extensions(batch).with_columns(tag)
        days = batch.select(pl.col("timestamp").dt.date().alias("_day"))["_day"]
        if days.n_unique() == 1:
            parts = {str(days[0]): batch}
        else:
            parts = {
                str(day): part.drop("_day")
                for (day,), part in batch.with_columns(days).partition_by("_day", as_dict=True).items()
            }
        for day, part in parts.items():
            self._buffer.setdefault(day, []).append(part)
        self._buffered += batch.height
        if self._buffered >= self.flush_rows:
            self.flush()

    @property
    def buffered_rows(self) -> int:
        return self._buffered

    def discard(self, source_index: int) -> None:
        """Drop buffered rows of one source (it failed midway; its manifest will not be written)."""
        for day, parts in list(self._buffer.items()):
            kept = [p.filter(pl.col(_SRC) != source_index) for p in parts]
            self._buffer[day] = [p for p in kept if p.height]
            if not self._buffer[day]:
                del self._buffer[day]
        self._buffered = sum(p.height for parts in self._buffer.values() for p in parts)

    def flush(self) -> None:
        """Write every buffered day now (days on two threads: each is independent, and
        Polars sorts and encodes without the GIL)."""
        buffer, self._buffer = self._buffer, {}
        self._buffered = 0
        days = sorted(buffer)
        if len(days) == 1:
            self._flush_day(days[0], buffer.pop(days[0]))
        elif days:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="archive-flush") as pool:
                futures = [pool.submit(self._flush_day, day, buffer.pop(day)) for day in days]
                errors = [f.exception() for f in futures]
            for error in errors:
                if error is not None:
                    raise error

    # -- one day ---------------------------------------------------------------------------
    def _flush_day(self, day: str, parts: list[pl.DataFrame]) -> None:
        # One contiguous frame: the reader's batches arrive in hundreds of small chunks, and
        # sorting and gathering across chunks cost twice the copy that joins them.
        part = pl.concat(parts, rechunk=True)
        parts.clear()  # the chunked batches are freed before the sorted copy is made
        folder = self.points / f"date={day}"
        n_in = part.height
        offered = dict(part[_SRC].value_counts().iter_rows())
        # Sorting by (icao24, timestamp), stable, puts equal rows in one run with the first
        # received first: keeping each run's first of a key is keeping first occurrences,
        # with a hash table only over the rare runs (`_dedupe_order`).
        order, keys, first = _dedupe_order(part)
        with day_lock(self.archive, day):  # other writers of this day wait: each sees the other's files
            fresh, fresh_keys = self._fresh_rows(day, folder, part, order, keys, first, n_in, offered)
            del part  # only the sorted copy is kept while it is encoded
            if fresh is not None:
                self._write_sorted_day(day, folder, fresh, fresh_keys)

    def _fresh_rows(self, day: str, folder: Path, part: pl.DataFrame, order: pl.Series, keys: pl.Series,
                    keep: pl.Series, n_in: int, offered: dict) -> tuple[pl.DataFrame | None, pl.Series]:
        """The day's rows not yet stored (this run or before), sorted, with their key hashes."""
        if day not in self._preexisting:
            sweep_temporaries(folder)
        # files of other runs, listed again at every flush: a concurrent ingest may have added some
        self._preexisting[day] = (
            sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".") and self.run not in p.name)
            if folder.exists() else []
        )
        lo, hi = part["timestamp"].min(), part["timestamp"].max()
        with self._lock:
            overlapping = [w for w in self._written.get(day, []) if w.lo <= hi and w.hi >= lo]
            earlier = [w.hashes for w in overlapping if w.hashes is not None]
            evicted = [f for w in overlapping if w.hashes is None for f in w.files]
        seen = pl.concat(earlier, rechunk=False) if earlier else None
        stored = self._preexisting[day] + evicted
        if stored:
            old = _stored_keys(stored, lo, hi)
            seen = old if seen is None else pl.concat([seen, old])
        if seen is not None and seen.len():
            keep = keep & ~keys.is_in(seen.implode())
        fresh = part[order.filter(keep)]  # the one gather of the rows
        kept = dict(fresh[_SRC].value_counts().iter_rows())
        with self._lock:
            for src, n in offered.items():
                entry = self._per_source.setdefault(int(src), [0, 0])
                entry[0] += kept.get(src, 0)
                entry[1] += n - kept.get(src, 0)
            self.result.duplicates += n_in - fresh.height
        return (None if fresh.is_empty() else fresh.drop(_SRC)), keys.filter(keep)

    def _write_sorted_day(self, day: str, folder: Path, out: pl.DataFrame, keys: pl.Series) -> None:
        # Parquet encoding runs on one core: a large flush is written as two files (split at a
        # row-group boundary, each sorted) on two threads, so the last flush of an ingest,
        # which nothing else overlaps, takes half the time.
        half = -(-out.height // 2 // ROW_GROUP_ROWS) * ROW_GROUP_ROWS
        pieces = [out.slice(0, half), out.slice(half)] if PARALLEL_WRITE_ROWS <= out.height and half < out.height else [out]
        targets = []
        with self._lock:
            for _ in pieces:
                targets.append(folder / f"part-{self.run}-{self._seq:05d}.parquet")
                self._seq += 1
        if len(pieces) == 1:
            _atomic_write(out, targets[0])
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(pieces), thread_name_prefix="archive-write") as pool:
                for done in [pool.submit(_atomic_write, piece, target) for piece, target in zip(pieces, targets)]:
                    done.result()
        with self._lock:
            self.result.rows_written += out.height
            self.result.files += len(pieces)
            self._remember(day, _Written(out["timestamp"].min(), out["timestamp"].max(), keys, targets))

    def _remember(self, day: str, written: _Written) -> None:
        """Record a flush's files; drop the oldest held hashes beyond `seen_rows` (under the lock)."""
        self._written.setdefault(day, []).append(written)
        self._held.append(written)
        held = sum(w.hashes.len() for w in self._held if w.hashes is not None)
        while held > self.seen_rows and len(self._held) > 1:
            oldest = self._held.pop(0)
            held -= oldest.hashes.len() if oldest.hashes is not None else 0
            oldest.hashes = None

    def source_counts(self, source_index: int) -> tuple[int, int]:
        """(written, duplicates) so far for rows written with `source_index`."""
        written, dupes = self._per_source.get(source_index, [0, 0])
        return written, dupes

    def commit(self, summary: dict, digest: str | None = None) -> None:
        """Mark a source complete (after `flush`) so that ingesting it again is a no-op."""
        self.commit_many([(summary, digest)])

    def commit_many(self, items: list[tuple[dict, str | None]]) -> None:
        """Mark many sources complete (after `flush`): `(summary, digest)` each (None: this writer's).

        Each manifest is renamed into place whole, and the folder is synced once for all of
        them. No manifest is synced on its own: the points it vouches for were synced before
        it was written (`_atomic_write`), and a manifest lost or torn by a power cut only makes
        the next run read that source again, which deduplication turns into nothing written
        (`already_ingested` takes a damaged manifest for none). Two syncs per manifest were
        a sixth of ingesting 400 small trace files.
        """
        if not items:
            return
        folder = self.archive / MANIFEST_DIR
        if not self._swept_manifests:
            sweep_temporaries(folder)
            self._swept_manifests = True
        folder.mkdir(parents=True, exist_ok=True)
        for summary, digest in items:
            target = folder / f"{digest or self.digest}.json"
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(summary, indent=1, default=str))
            os.replace(tmp, target)
        fsync_dir(folder)


def already_ingested(archive: Path, digest: str) -> dict | None:
    manifest = Path(archive) / MANIFEST_DIR / f"{digest}.json"
    if manifest.exists():
        try:
            return json.loads(manifest.read_text())
        except (OSError, ValueError):
            return None
    return None


def scan(archive: Path) -> pl.LazyFrame:
    """A lazy scan of the whole archive with the canonical dtypes (Polars engine)."""
    files = partition_files(archive)
    if not files:
        return pl.LazyFrame(schema=ARCHIVE_SCHEMA)
    return pl.scan_parquet(files, schema=ARCHIVE_SCHEMA, missing_columns="insert", extra_columns="ignore").select(ARCHIVE_COLUMNS)


def write_frames(archive: Path, frames: Iterable[pl.DataFrame], digest: str) -> WriteResult:
    """Write already-canonical frames (e.g. a live journal flush) under one digest."""
    writer = ArchiveWriter(archive, digest)
    for frame in frames:
        writer.write(frame)
    writer.flush()
    return writer.result
