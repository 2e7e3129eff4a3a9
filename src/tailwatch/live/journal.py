"""The live watcher's write-ahead journal: decoded positions survive a kill -9.

Every batch of positions is appended as one framed record to the current
segment file (`ARCHIVE/_journal/seg-<ns>-<pid>.twj`) before anything else
happens to it; the segment is fsynced by policy (every record, every N seconds,
or never). From time to time the segment is sealed and flushed into the Parquet
archive with the archive's atomic writer, then deleted. On start, every segment
left behind is replayed: its torn tail (a record cut by the kill) is truncated,
the intact records go into the archive, the segment is removed.

Record layout, hand-written because no library frames appendable Arrow batches
with a per-record checksum: b"TWJ1", u32 payload length, u32 CRC-32 of the
payload, payload = one Arrow IPC stream holding the batch. A record that is
short or fails its CRC ends the readable part of a segment.

Flushing is idempotent: the archive writer drops rows the partition already
holds, so a crash between writing the archive and deleting the segment only
repeats work on the next start (the segment's torn tail is cut first, so its
content is the same each time).
"""

from __future__ import annotations

import fcntl
import io
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tailwatch.archive import WriteResult, fsync_dir, write_frames
from tailwatch.errors import BadInput
from tailwatch.schema import empty_points, with_extensions

MAGIC = b"TWJ1"
HEADER = struct.Struct("<4sII")
SUFFIX = ".twj"
JOURNAL_DIR = "_journal"


def parse_fsync(policy: str | float | None) -> float | None:
    """'always' → 0, 'never' → None, a number → seconds between syncs."""
    if policy is None:
        return 1.0
    if isinstance(policy, (int, float)):
        return max(float(policy), 0.0)
    text = str(policy).strip().lower()
    if text == "always":
        return 0.0
    if text == "never":
        return None
    try:
        return max(float(text.removesuffix("s")), 0.0)
    except ValueError as exc:
        raise BadInput(f"--fsync: expected 'always', 'never' or seconds, got {policy!r}") from exc


def encode_record(frame: pl.DataFrame) -> bytes:
    """One framed record holding `frame` (the archive's columns: canonical, then the schema extension)."""
    buf = io.BytesIO()
    with_extensions(frame).write_ipc_stream(buf, compression="uncompressed")
    payload = buf.getvalue()
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass
class SegmentRead:
    frame: pl.DataFrame
    records: int
    valid_bytes: int
    total_bytes: int

    @property
    def torn(self) -> bool:
        return self.valid_bytes < self.total_bytes


def read_segment(path: Path) -> SegmentRead:
    """The intact records of one segment, stopping at the first torn or corrupt record."""
    data = path.read_bytes()
    pos, frames = 0, []
    while pos + HEADER.size <= len(data):
        magic, length, crc = HEADER.unpack_from(data, pos)
        start, end = pos + HEADER.size, pos + HEADER.size + length
        if magic != MAGIC or end > len(data):
            break
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            break
        frames.append(pl.read_ipc_stream(io.BytesIO(payload)))
        pos = end
    # records written before the extension columns existed lack them: read as null
    frame = with_extensions(pl.concat(frames, how="diagonal_relaxed")) if frames else with_extensions(empty_points())
    return SegmentRead(frame=frame, records=len(frames), valid_bytes=pos, total_bytes=len(data))


def segments(directory: Path) -> list[Path]:
    """Segment files in write order (names start with a nanosecond clock)."""
    return sorted(directory.glob(f"seg-*{SUFFIX}"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphan_temporaries(archive: Path) -> int:
    """Delete archive temporaries (`.NAME.PID.tmp`) left by writers that were killed."""
    removed = 0
    from tailwatch.archive_layout import heard_root, points_root
    from tailwatch.seen_store import seen_root

    roots = (points_root(archive), heard_root(archive), seen_root(archive))
    for tmp in [t for root in roots for t in root.glob("date=*/.*.tmp")]:
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def flush_segment(path: Path, archive: Path) -> WriteResult:
    """Seal a segment (cut its torn tail), write its positions into the archive, delete it."""
    seg = read_segment(path)
    if seg.torn:
        with open(path, "r+b") as f:
            f.truncate(seg.valid_bytes)
            os.fsync(f.fileno())
    result = WriteResult()
    if seg.frame.height:
        result = write_frames(archive, [seg.frame], digest="live")
    path.unlink()
    fsync_dir(path.parent)
    return result


class JournalLocked(BadInput):
    """Another watcher writes this archive's journal."""


class Journal:
    """Append-only journal of decoded positions for one archive."""

    def __init__(self, archive: Path, fsync: str | float | None = 1.0) -> None:
        self.archive = archive
        self.directory = archive / JOURNAL_DIR
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sync_every = parse_fsync(fsync)
        self._lock = open(self.directory / "LOCK", "a+")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise JournalLocked(f"{self.directory}: another watcher is using this archive") from exc
        self._fd: int | None = None
        self._path: Path | None = None
        self._last_sync = time.monotonic()
        self._dirty = False
        self.rows_written = 0  # rows appended to segments (in the page cache at least)
        self.rows_synced = 0  # rows known to be on stable storage (per the fsync policy)
        self._rows_unsynced = 0
        self.rows_in_segment = 0

    # -- recovery -------------------------------------------------------------------------
    def recover(self) -> WriteResult:
        """Flush every sealed segment into the archive: at start, those an earlier run left behind."""
        remove_orphan_temporaries(self.archive)
        total = WriteResult()
        for path in segments(self.directory):
            if path == self._path:
                continue
            r = flush_segment(path, self.archive)
            total.rows_written += r.rows_written
            total.duplicates += r.duplicates
            total.files += r.files
        return total

    # -- writing --------------------------------------------------------------------------
    def _open_segment(self) -> None:
        self._path = self.directory / f"seg-{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        fsync_dir(self.directory)
        self.rows_in_segment = 0

    def append(self, frame: pl.DataFrame) -> None:
        """Write one batch of canonical positions; fsync per policy."""
        if frame.is_empty():
            return
        if self._fd is None:
            self._open_segment()
        os.write(self._fd, encode_record(frame))
        self.rows_written += frame.height
        self.rows_in_segment += frame.height
        self._rows_unsynced += frame.height
        self._dirty = True
        if self.sync_every == 0.0:
            self.sync()
        else:
            self.tick()

    def tick(self) -> None:
        """Sync when the policy's interval has passed (call regularly, even when idle)."""
        if self._dirty and self.sync_every is not None and time.monotonic() - self._last_sync >= self.sync_every:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
        self._dirty = False
        self._last_sync = time.monotonic()
        self.rows_synced += self._rows_unsynced
        self._rows_unsynced = 0

    def seal(self) -> Path | None:
        """Close the current segment (synced) so it can be flushed; the next append opens a new one."""
        if self._fd is None:
            return None
        self.sync()
        os.close(self._fd)
        path, self._fd, self._path = self._path, None, None
        self.rows_in_segment = 0
        return path

    def sealed(self) -> list[Path]:
        """Segments not being written to, oldest first."""
        return [p for p in segments(self.directory) if p != self._path]

    def close(self) -> None:
        self.seal()
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        finally:
            self._lock.close()
