"""The live journal: framed records, torn tails, fsync policies, flush into the archive."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import scan
from tailwatch.ingest.base import BadInput
from tailwatch.live.journal import (
    JOURNAL_DIR, Journal, JournalLocked, encode_record, flush_segment, parse_fsync, read_segment, segments,
)
from tailwatch.schema import conform


def points(n: int, start: int = 0, icao: str = "4ca123") -> pl.DataFrame:
    t0 = datetime(2026, 11, 24, 23, 59, 0, tzinfo=timezone.utc)
    return conform(pl.DataFrame({
        "timestamp": [t0 + timedelta(seconds=start + i) for i in range(n)],
        "icao24": [icao] * n,
        "latitude": [50.0 + (start + i) * 1e-3 for i in range(n)],
        "longitude": [4.0 + (start + i) * 1e-3 for i in range(n)],
        "altitude": [30000.0] * n,
    }), source="live")


def test_fsync_policy_parsing():
    assert parse_fsync("always") == 0.0
    assert parse_fsync("never") is None
    assert parse_fsync("2.5") == 2.5 and parse_fsync("1s") == 1.0
    with pytest.raises(BadInput, match="--fsync"):
        parse_fsync("sometimes")


def test_append_read_and_torn_tail(tmp_path: Path):
    j = Journal(tmp_path, fsync="always")
    j.append(points(10))
    j.append(points(5, start=10))
    assert j.rows_synced == 15
    seg = segments(tmp_path / JOURNAL_DIR)[0]
    # a kill in the middle of a write leaves half a record behind
    half = encode_record(points(7, start=15))
    with open(seg, "ab") as f:
        f.write(half[: len(half) // 2])
    read = read_segment(seg)
    assert read.records == 2 and read.frame.height == 15 and read.torn
    # a flipped byte inside a record ends the readable part at that record
    data = bytearray(seg.read_bytes())
    data[len(encode_record(points(10))) + 20] ^= 0xFF
    bad = tmp_path / "bad.twj"
    bad.write_bytes(bytes(data))
    assert read_segment(bad).frame.height == 10
    j.close()


def test_recover_flushes_segments_into_archive_once(tmp_path: Path):
    j = Journal(tmp_path, fsync="1")
    j.append(points(120))  # spans midnight: two partitions
    j.seal()
    j.append(points(30, start=120))
    j.close()
    assert len(segments(tmp_path / JOURNAL_DIR)) == 2
    # a "killed" run left a segment; a new journal replays it
    j2 = Journal(tmp_path)
    res = j2.recover()
    assert res.rows_written == 150
    stored = scan(tmp_path).collect()
    assert stored.height == 150
    assert sorted(p.name for p in (tmp_path / "points").glob("date=*")) == ["date=2026-11-24", "date=2026-11-25"]
    assert segments(tmp_path / JOURNAL_DIR) == []
    j2.close()


def test_flush_after_crash_between_archive_and_delete_adds_nothing(tmp_path: Path):
    j = Journal(tmp_path)
    j.append(points(50))
    seg = j.seal()
    j.close()
    copy = seg.read_bytes()
    flush_segment(seg, tmp_path)
    seg.write_bytes(copy)  # as if the process died before deleting the segment
    again = flush_segment(seg, tmp_path)
    assert again.rows_written == 0 and again.duplicates == 50
    assert scan(tmp_path).collect().height == 50


def test_orphan_temporaries_are_removed(tmp_path: Path):
    folder = tmp_path / "date=2026-11-25"
    folder.mkdir(parents=True)
    dead = folder / ".part-x-00000.parquet.999999999.tmp"
    dead.write_bytes(b"PAR1 half")
    live = folder / f".part-y-00000.parquet.{os.getpid()}.tmp"
    live.write_bytes(b"PAR1 being written")
    j = Journal(tmp_path)
    j.recover()
    j.close()
    assert not dead.exists() and live.exists()


def test_one_watcher_per_archive(tmp_path: Path):
    j = Journal(tmp_path)
    with pytest.raises(JournalLocked, match="another watcher"):
        Journal(tmp_path)
    j.close()
    Journal(tmp_path).close()


def test_interval_policy_syncs_on_tick(tmp_path: Path):
    j = Journal(tmp_path, fsync="0.05")
    j.append(points(3))
    assert j.rows_written == 3
    import time

    time.sleep(0.06)
    j.tick()
    assert j.rows_synced == 3
    never = Journal(tmp_path / "other", fsync="never")
    never.append(points(2))
    never.tick()
    assert never.rows_synced == 0
    never.close()
    j.close()
