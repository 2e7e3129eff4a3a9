"""Durability: SIGKILL the watcher 20 times at random moments during a replayed feed.

After every kill, what the journal holds (synced or at least written) plus what the
archive holds is the set of positions that must survive; the archive must open at
every moment, and after the next start replays the journal every one of those
positions is in the archive.
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

import iq
from tailwatch.archive import partition_files, scan
from tailwatch.live.journal import JOURNAL_DIR, read_segment, segments

KEYS = ["icao24", "timestamp", "latitude", "longitude"]


def synthetic_capture(path: Path, aircraft: int = 100, seconds: float = 120.0) -> None:
    frames = []
    for k in range(aircraft):
        icao = f"{0x400000 + k * 97:06x}"
        lat0, lon0 = 50.0 + (k % 8) * 0.3, 2.0 + (k // 8) * 0.4
        track = [(0.5 * i + k * 0.011, lat0 + i * 0.0004, lon0 + i * 0.0006, 20000 + 100 * k)
                 for i in range(int(seconds / 0.5))]
        frames += iq.flight_messages(icao, f"KT{k:04d}", track)
    path.write_bytes(iq.beast_capture(frames))


def archive_keys(archive: Path) -> pl.DataFrame:
    for f in partition_files(archive):
        pq.read_metadata(f)  # every committed file is a complete Parquet file
    return scan(archive).select(KEYS).collect()


def journal_keys(archive: Path) -> pl.DataFrame:
    parts = [read_segment(p).frame.select(KEYS) for p in segments(archive / JOURNAL_DIR)]
    return pl.concat(parts) if parts else pl.DataFrame(schema=archive_keys(archive).schema)


def start_watcher(port: int, archive: Path) -> tuple[subprocess.Popen, queue.Queue]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli", "watch", "--feed", f"beast://127.0.0.1:{port}",
         "--archive", str(archive), "--fsync", "0.2", "--flush-seconds", "0.7",
         "--rules", str(archive.parent / "rules.yaml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in iter(proc.stderr.readline, ""):
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, q


def wait_for(lines: queue.Queue, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        assert line is not None, f"watcher exited before {text!r}"
        if text in line:
            return
    raise TimeoutError(f"watcher did not log {text!r} within {timeout} s")


@pytest.mark.slow
def test_sigkill_twenty_times_loses_nothing_synced(tmp_path: Path):
    capture = tmp_path / "capture.bin"
    synthetic_capture(capture)
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    archive = tmp_path / "archive"
    replay = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli", "replay", str(capture), "--serve", "beast", "--port", "0",
         "--speed", "2", "--loop"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    rng = random.Random(20)
    must_survive: list[pl.DataFrame] = []
    kills = 0
    try:
        banner = replay.stderr.readline()
        port = int(banner.rsplit(":", 1)[1])
        started = time.monotonic()
        while kills < 20:
            proc, lines = start_watcher(port, archive)
            if kills % 2:  # any moment from start: imports, journal replay, connecting, running
                time.sleep(rng.uniform(0.2, 1.8))
            else:  # a moment while positions flow
                wait_for(lines, "connected", timeout=15)
                time.sleep(rng.uniform(0.05, 1.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
            before = archive_keys(archive) if archive.exists() else None
            if before is not None:
                must_survive.append(pl.concat([before, journal_keys(archive)]))
        assert time.monotonic() - started < 120
        # a clean start replays the journal, then a clean stop flushes
        proc, q = start_watcher(port, archive)
        wait_for(q, "journal replayed", timeout=30)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        replay.kill()
        replay.wait(timeout=10)

    final = archive_keys(archive)
    assert not list((archive / JOURNAL_DIR).glob("seg-*"))  # everything flushed
    assert final.height == final.unique().height  # no position stored twice
    expected = pl.concat(must_survive).unique()
    assert expected.height > 500  # the watcher did receive and journal a real amount of data
    missing = expected.join(final, on=KEYS, how="anti")
    assert missing.height == 0, f"{missing.height} synced positions lost"
    assert not list(archive.glob("*/date=*/.*.tmp"))  # no temporaries left behind
