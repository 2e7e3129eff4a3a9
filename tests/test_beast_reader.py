"""Beast file reader: canonical points, time anchoring, receiver clock quirks, bad input."""

from __future__ import annotations

import gzip
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.ingest.base import BadInput, Rejects
from tailwatch.ingest.beast import READER, BeastReader, parse_beast
from tailwatch.ingest.detect import detect
from tailwatch.ingest.modes.clock import TickClock
from tailwatch.ingest.pipeline import read_file
from tailwatch.ingest.modes.decoder import DECODED_SCHEMA

CAPTURE_SCHEMA = {**DECODED_SCHEMA, "time_assumed": pl.Boolean()}  # the capture readers add whether times were assumed

ANCHOR = datetime(2020, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sample(traffic_samples: Path) -> Path:
    return traffic_samples / "dump1090" / "sample_dump1090.bin"


def restamp(sample: Path, ticks_of) -> bytes:
    """The sample's frames re-encoded with new timestamps ticks_of(i, old_ticks)."""
    batch = parse_beast(sample.read_bytes(), final=True)
    out = bytearray()
    for i, (k, t, s, m, n) in enumerate(zip(batch.kind, batch.ticks, batch.signal, batch.msg, batch.length)):
        body = int(ticks_of(i, int(t))).to_bytes(6, "big") + bytes([s]) + bytes(m[:n])
        out += b"\x1a" + bytes([k]) + body.replace(b"\x1a", b"\x1a\x1a")
    return bytes(out)


def test_detected_and_read_as_canonical_points(sample: Path) -> None:
    assert detect(sample).name == "beast"
    rejects = Rejects()
    frames = list(BeastReader(anchor=ANCHOR).read(sample, rejects))
    points = pl.concat(frames)
    assert points.schema == pl.Schema(CAPTURE_SCHEMA)
    assert points.height == 3 and set(points["icao24"]) == {"48520a"}
    assert points["latitude"].is_between(43.6, 43.7).all() and (points["altitude"] == 38000).all()
    assert points["callsign"].drop_nulls().to_list() == ["TRA89M"]
    assert points["source"].unique().to_list() == ["beast"]
    # the first frame sits on the anchor; the first position is frame 60
    ticks = parse_beast(sample.read_bytes(), final=True).ticks
    first = points["timestamp"].min().timestamp()
    assert first == pytest.approx(ANCHOR.timestamp() + (int(ticks[60]) - int(ticks[0])) / 12e6, abs=1e-6)
    assert rejects.records == 239
    assert rejects.counts == {"unconfirmed address": 10}
    assert rejects.examples[0].startswith(f"{sample}@")


def test_anchor_precedence_env_then_mtime(sample: Path, tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "capture.bin"
    copy.write_bytes(sample.read_bytes())
    mtime = ANCHOR.timestamp() + 3600
    os.utime(copy, (mtime, mtime))
    monkeypatch.delenv("TAILWATCH_CAPTURE_START", raising=False)
    by_mtime = pl.concat(list(READER.read(copy, Rejects())))
    ticks = parse_beast(sample.read_bytes(), final=True).ticks.astype(np.int64)
    # the last frame is at the modification time; the first position (frame 60) is before it
    expected = mtime - (ticks[-1] - ticks[60]) / 12e6
    assert by_mtime["timestamp"].min().timestamp() == pytest.approx(expected, abs=1e-6)
    monkeypatch.setenv("TAILWATCH_CAPTURE_START", "2020-03-01T12:00:00Z")
    by_env = pl.concat(list(READER.read(copy, Rejects())))
    expected = ANCHOR.timestamp() + (ticks[60] - ticks[0]) / 12e6
    assert by_env["timestamp"].min().timestamp() == pytest.approx(expected, abs=1e-6)
    monkeypatch.setenv("TAILWATCH_CAPTURE_START", "yesterday")
    with pytest.raises(BadInput):
        list(READER.read(copy, Rejects()))


def test_gzip_capture_and_pipeline(sample: Path, tmp_path: Path) -> None:
    gz = tmp_path / "capture.dat"
    gz.write_bytes(gzip.compress(sample.read_bytes()))
    frame, rejects = read_file(gz, BeastReader(anchor=ANCHOR))
    assert frame.height == 3 and rejects.records == 239


def test_small_chunks_give_the_same_points(sample: Path) -> None:
    whole = pl.concat(list(BeastReader(anchor=ANCHOR).read(sample, Rejects())))
    chunked = pl.concat(list(BeastReader(anchor=ANCHOR, chunk_bytes=97).read(sample, Rejects())))
    assert whole.equals(chunked)


def test_counter_wrap_keeps_time_running(sample: Path, tmp_path: Path) -> None:
    """Stamps near 2^48 that wrap to small values mid-capture: elapsed time stays continuous."""
    start = (1 << 48) - 12_000_000 * 20  # wraps ~20 s into the capture... the capture lasts ~22 s
    path = tmp_path / "wrap.bin"
    path.write_bytes(restamp(sample, lambda i, t: (start + t - 0x15A8877E) % (1 << 48)))
    wrapped = pl.concat(list(BeastReader(anchor=ANCHOR).read(path, Rejects())))
    plain = pl.concat(list(BeastReader(anchor=ANCHOR).read(sample, Rejects())))
    assert wrapped["timestamp"].to_list() == plain["timestamp"].to_list()


def test_receiver_reset_is_counted_and_time_keeps_order(sample: Path, tmp_path: Path) -> None:
    path = tmp_path / "reset.bin"
    path.write_bytes(restamp(sample, lambda i, t: t if i < 120 else t - 0x15A8877E + 1000))
    rejects = Rejects()
    points = pl.concat(list(BeastReader(anchor=ANCHOR).read(path, rejects)))
    assert points["timestamp"].is_sorted()
    assert sum(v for k, v in rejects.counts.items() if k.startswith("receiver clock reset")) == 1


def test_gps_timestamps_across_midnight() -> None:
    """readsb/Radarcape GPS stamps: seconds of day << 30 | nanoseconds, rolling over at midnight."""
    sod = np.arange(86390.0, 86410.0, 0.01)  # 20 s across midnight, 2000 frames
    sod_wrapped = sod % 86400
    ticks = (sod_wrapped.astype(np.uint64) << np.uint64(30)) | np.round((sod_wrapped % 1) * 1e9).astype(np.uint64)
    clock = TickClock()
    elapsed = clock.elapsed(ticks)
    assert clock.gps and clock.resets == 0
    assert np.allclose(elapsed, sod - sod[0], atol=1e-6)
    from tailwatch.ingest.modes.clock import absolute

    # anchor anywhere within hours of the truth picks the right date
    day = datetime(2024, 7, 6, tzinfo=timezone.utc).timestamp()
    t = absolute(elapsed, day + 86390 + 3 * 3600, 0.0, clock.first_second_of_day)
    assert t[0] == pytest.approx(day + 86390, abs=1e-6) and t[-1] == pytest.approx(day + 86409.99, abs=1e-6)


def test_small_counter_is_not_mistaken_for_gps() -> None:
    clock = TickClock()
    clock.elapsed(np.arange(0, 12_000_000 * 30, 12_000_000 // 50, dtype=np.uint64))
    assert clock.gps is False


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2000))
def test_random_file_gives_rejects_or_bad_input_only(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.bin"
        path.write_bytes(data)
        rejects = Rejects()
        try:
            frames = list(BeastReader(anchor=0).read(path, rejects))
        except BadInput:
            return
        for frame in frames:
            assert frame.schema == pl.Schema(CAPTURE_SCHEMA)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_mutated_capture_gives_rejects_not_crashes(sample: Path, data) -> None:
    buf = bytearray(sample.read_bytes())
    for _ in range(data.draw(st.integers(1, 30))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.bin"
        path.write_bytes(bytes(buf))
        rejects = Rejects()
        points = pl.concat(list(BeastReader(anchor=0).read(path, rejects)) or [pl.DataFrame(schema=CAPTURE_SCHEMA)])
        assert points.height <= 3
        assert rejects.records >= 200


def test_zero_stamps_take_the_previous_time(sample: Path, tmp_path: Path) -> None:
    """dump1090 sends zero stamps for frames it did not time itself: they must not reset the clock."""
    path = tmp_path / "zeros.bin"
    path.write_bytes(restamp(sample, lambda i, t: 0 if i % 7 == 3 else t))
    rejects = Rejects()
    points = pl.concat(list(BeastReader(anchor=ANCHOR).read(path, rejects)))
    plain = pl.concat(list(BeastReader(anchor=ANCHOR).read(sample, Rejects())))
    assert points["timestamp"].is_sorted()
    assert points["timestamp"].max() <= plain["timestamp"].max()
    assert not any(k.startswith("receiver clock reset") for k in rejects.counts)
    assert rejects.counts["frame without receiver time (kept, at the previous frame's time)"] == len(range(3, 239, 7))


def test_cli_ingest_of_beast_avr_and_raw_jsonl(sample: Path, traffic_samples: Path, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from tailwatch.cli import app
    from tailwatch.engines.duckdb import points_for

    monkeypatch.setenv("TAILWATCH_RECEIVER", "49.0097,2.5479")
    monkeypatch.setenv("TAILWATCH_CAPTURE_START", "2020-03-01T12:00:00Z")
    avr = tmp_path / "capture.avr"
    batch = parse_beast(sample.read_bytes(), final=True)
    avr.write_text("".join(f"@{int(t):012X}{bytes(m[:n]).hex()};\n" for t, m, n in zip(batch.ticks, batch.msg, batch.length)))
    archive = tmp_path / "archive"
    files = [sample, avr, traffic_samples / "rs1090" / "full_flight_short.jsonl"]
    result = CliRunner().invoke(app, ["ingest", *map(str, files), "--archive", str(archive)])
    assert result.exit_code == 0, result.output
    points = points_for(archive)
    # the AVR copy of the Beast capture gives the very same points: dropped as duplicates on write
    assert set(points["source"].unique()) == {"beast", "raw-jsonl"}
    assert "avr" in result.output
    assert points.filter(pl.col("icao24") == "393322").height > 8000


def test_garbage_in_a_file_is_counted_with_its_offset(sample: Path, tmp_path: Path) -> None:
    data = sample.read_bytes()
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\x00junk" + data[:2000] + b"\xff" * 7 + data[2000:])
    rejects = Rejects()
    points = pl.concat(list(BeastReader(anchor=ANCHOR).read(path, rejects)))
    assert points.height == 3
    assert rejects.counts["garbage bytes between frames"] >= 2
    assert rejects.examples[0] == f"{path}@0: garbage bytes between frames"
