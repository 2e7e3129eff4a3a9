"""`tailwatch replay`: a recording served as a live feed on loopback, paced by its own clock."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import iq
from tailwatch.ingest.base import BadInput
from tailwatch.live.feeds import ModeSFrames
from tailwatch.live.merge import MessageMerger, PositionMerger
from tailwatch.live.replay import load_recording
from tailwatch.schema import conform


def start(*args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "tailwatch.cli", "replay", *args, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    banner = proc.stderr.readline().decode()
    assert "serving" in banner, banner + proc.stderr.read().decode()
    return proc, int(banner.rsplit(":", 1)[1])


def receive_all(port: int, timeout: float = 20.0) -> tuple[bytes, list[float]]:
    """Everything the server sends until it closes, with the arrival time of each read."""
    data, arrivals = b"", []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            arrivals.append(time.monotonic() - t0)
    return data, arrivals


def test_beast_capture_is_served_byte_for_byte_at_speed(traffic_samples: Path):
    path = traffic_samples / "dump1090" / "sample_dump1090.bin"
    rec = load_recording(path, "beast")
    assert len(rec) == 239 and 20 < rec.duration < 30  # the capture spans ~24 s of receiver clock
    proc, port = start(str(path), "--serve", "beast", "--speed", "20")
    data, arrivals = receive_all(port)
    assert proc.wait(timeout=10) == 0
    assert data == path.read_bytes()[int(rec.starts[0]):]
    # paced: about duration / speed seconds, not all at once
    assert rec.duration / 20 * 0.7 < arrivals[-1] < rec.duration / 20 + 1.0
    summary = proc.stderr.read().decode()
    assert "sent 239 messages" in summary


def test_beast_served_as_raw_and_sbs(tmp_path: Path):
    track = [(i * 0.5, 52.3 + i * 1e-3, 4.1 + i * 1e-3, 20000) for i in range(10)]
    frames = iq.flight_messages("4ca123", "TWL123", track)
    cap = tmp_path / "cap.bin"
    cap.write_bytes(iq.beast_capture(frames))
    proc, port = start(str(cap), "--serve", "raw", "--speed", "0")
    data, _ = receive_all(port)
    proc.wait(timeout=10)
    lines = data.decode().splitlines()
    assert lines == ["*" + m.hex().upper() + ";" for _, m in sorted(frames)]
    proc, port = start(str(cap), "--serve", "sbs", "--speed", "0")
    data, _ = receive_all(port)
    proc.wait(timeout=10)
    sbs = [ln.split(",") for ln in data.decode().splitlines()]
    assert len(sbs) == 9 and {r[4] for r in sbs} == {"4CA123"}  # 10 positions, the first has no pair
    assert [round(float(r[14]), 3) for r in sbs] == [round(p[1], 3) for p in track[1:]]
    assert {r[11] for r in sbs} == {"20000"} and {r[10] for r in sbs} == {"TWL123"}


def test_sbs_log_is_paced_by_its_own_times(tmp_path: Path):
    log = tmp_path / "log.sbs"
    log.write_text("".join(
        f"MSG,3,1,1,4CA123,1,2026/11/25,08:00:{i:02d}.000,2026/11/25,08:00:{i:02d}.000,,31000,,,52.3,4.1,,,0,0,0,0\n"
        for i in range(0, 10, 2)))
    rec = load_recording(log, "sbs")
    assert rec.due.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    proc, port = start(str(log), "--speed", "8")  # served in its own format
    data, arrivals = receive_all(port)
    assert proc.wait(timeout=10) == 0
    assert data == log.read_bytes()
    assert 0.7 < arrivals[-1] < 2.0


def test_bad_recordings_are_bad_input(tmp_path: Path):
    log = tmp_path / "log.sbs"
    log.write_text("MSG,3,1,1,4CA123,1,2026/11/25,08:00:00.000,2026/11/25,08:00:00.000,,1,,,1,1,,,0,0,0,0\n")
    with pytest.raises(BadInput, match="can only be served as sbs"):
        load_recording(log, "beast")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    out = subprocess.run([sys.executable, "-m", "tailwatch.cli", "replay", str(junk), "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "junk.txt" in out.stderr and "Traceback" not in out.stderr


def frames_of(*msgs: bytes) -> ModeSFrames:
    arr = np.zeros((len(msgs), 14), np.uint8)
    for i, m in enumerate(msgs):
        arr[i, : len(m)] = np.frombuffer(m, np.uint8)
    return ModeSFrames(arr, np.array([len(m) for m in msgs]), np.full(len(msgs), time.time()))


def test_message_merger_drops_only_cross_feed_copies():
    a = iq.airborne_position("4ca123", 52.3, 4.1, 30000, 0)
    b = iq.airborne_position("4ca123", 52.31, 4.11, 30000, 1)
    v = iq.velocity("4ca123", 250, 90)
    m = MessageMerger(window_s=2.0)
    out = m.merge([frames_of(a, v, v), frames_of(a, b)], now=100.0)
    assert [len(f) for f in out] == [3, 1] and m.last_dropped == [0, 1]  # v twice from one feed stays
    out = m.merge([frames_of(b), frames_of()], now=100.5)  # b came late on feed 0: already delivered
    assert len(out[0]) == 0
    out = m.merge([frames_of(a), frames_of()], now=103.0)  # after the window it is news again
    assert len(out[0]) == 1


def test_position_merger_one_copy_per_address_and_place():
    def rows(feed: int, t_ms: list[int], lat: list[float]) -> pl.DataFrame:
        t = pl.Series([x * 1000 for x in t_ms], dtype=pl.Int64)
        return conform(pl.DataFrame({
            "timestamp": pl.from_epoch(t, time_unit="us").dt.replace_time_zone("UTC"),
            "icao24": ["4ca123"] * len(t_ms), "latitude": lat, "longitude": [4.1] * len(t_ms),
        })).with_columns(pl.lit(feed, pl.Int32).alias("_feed"))

    m = PositionMerger(window_s=1.0, tolerance_deg=5e-5)
    # feed 0 decodes 52.30000; feed 1 (SBS, 5 decimals, its own clock) reports it 30 ms later
    out = m.merge(pl.concat([rows(0, [0, 500], [52.3, 52.3012]), rows(1, [30, 530], [52.30001, 52.30121])]))
    assert out["_feed"].to_list() == [0, 0] and m.duplicates == 2
    # the next cycle: a copy of the last position arrives late on feed 1, a new one on feed 0
    out = m.merge(pl.concat([rows(1, [900], [52.3012]), rows(0, [1000], [52.3024])]))
    assert out["latitude"].to_list() == [52.3024]
    # the same feed repeating a position is the aircraft standing still, not an echo
    out = m.merge(rows(0, [2000, 3000], [52.3024, 52.3024]))
    assert out.height == 2

    # a feed lagging by many rows (a burst on a loaded machine): every copy is still found
    lag = PositionMerger(window_s=5.0, tolerance_deg=5e-5)
    track_t = list(range(0, 3000, 100))
    track_lat = [52.3 + 0.0002 * i for i in range(len(track_t))]
    first = lag.merge(rows(0, track_t, track_lat))
    late = lag.merge(rows(1, [t + 1500 for t in track_t], [x + 1e-5 for x in track_lat]))
    assert first.height == 30 and late.height == 0 and lag.duplicates == 30


def test_watch_stops_cleanly_on_sigint(traffic_samples: Path, tmp_path: Path):
    """A real capture through `tailwatch replay` → `tailwatch watch`; Ctrl-C flushes and exits 0."""
    import signal

    replay, port = start(str(traffic_samples / "dump1090" / "sample_dump1090.bin"), "--speed", "10")
    watch = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli", "watch", f"beast://127.0.0.1:{port}", "--archive",
         str(tmp_path / "archive"), "--rules", "/dev/null"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert replay.wait(timeout=30) == 0  # the whole capture went out (~2.4 s at speed 10)
        time.sleep(0.5)
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 0, err
    assert out == ""  # no rules, no alerts: stdout carries alerts only
    final = err.strip().splitlines()[-1]
    assert final.startswith("status ") and "msgs=239" in final
    from tailwatch.archive import scan

    stored = scan(tmp_path / "archive").collect()
    assert stored.height > 0 and stored["source"].unique().to_list() == ["live-beast"]
    assert f"archived={stored.height}" in final
