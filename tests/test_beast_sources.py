"""How a Mode S position was obtained (`position_source`: MLAT stamps, DF18 TIS-B / ADS-R) and
whether its time was in the data (`time_assumed`), through the Beast, AVR and live readers."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.ingest.avr import AvrReader
from tailwatch.ingest.base import Rejects
from tailwatch.ingest.beast import BeastReader, parse_beast
from tailwatch.ingest.modes.bits import bits
from tailwatch.ingest.modes.clock import MAGIC_ANY, MAGIC_MLAT, TickClock, is_mlat
from tailwatch.ingest.modes.decoder import ModeSDecoder
from tailwatch.ingest.pipeline import ingest_files

from modes_frames import frames_of, surface_frame

ANCHOR = datetime(2020, 3, 1, 12, 0, tzinfo=timezone.utc)
NZCH = (-43.4894, 172.5322)
SYNTHETIC = "frame stamped as synthetic (MLAT result or similar; kept, at the previous frame's time)"


@pytest.fixture(scope="module")
def sample(traffic_samples: Path) -> Path:
    return traffic_samples / "dump1090" / "sample_dump1090.bin"


def restamp(sample: Path, ticks_of) -> bytes:
    batch = parse_beast(sample.read_bytes(), final=True)
    out = bytearray()
    for i, (k, t, s, m, n) in enumerate(zip(batch.kind, batch.ticks, batch.signal, batch.msg, batch.length)):
        body = int(ticks_of(i, int(t))).to_bytes(6, "big") + bytes([s]) + bytes(m[:n])
        out += b"\x1a" + bytes([k]) + body.replace(b"\x1a", b"\x1a\x1a")
    return bytes(out)


def _position_frames(sample: Path) -> np.ndarray:
    batch = parse_beast(sample.read_bytes(), final=True)
    tc = bits(batch.msg, 33, 37)
    return np.flatnonzero((batch.length == 14) & ((batch.msg[:, 0] >> 3) == 17) & (tc >= 9) & (tc <= 18))


def test_magic_stamps_are_not_times() -> None:
    clock = TickClock("counter")
    ticks = np.array([12_000_000, MAGIC_MLAT, 24_000_000, MAGIC_ANY, 36_000_000], np.uint64)
    assert clock.elapsed(ticks).tolist() == [0.0, 0.0, 1.0, 1.0, 2.0]  # a counter would jump ~271 days
    assert clock.synthetic == 2 and clock.untimed == 0 and clock.resets == 0
    assert is_mlat(ticks).tolist() == [False, True, False, False, False]


def test_mlat_stamped_frames_give_mlat_positions(sample: Path, tmp_path: Path) -> None:
    positions = _position_frames(sample)
    mlat_frame = int(positions[-1])  # the last airborne position message arrives as an MLAT result
    path = tmp_path / "mlat.bin"
    path.write_bytes(restamp(sample, lambda i, t: MAGIC_MLAT if i == mlat_frame else t))
    rejects = Rejects()
    points = pl.concat(list(BeastReader(anchor=ANCHOR).read(path, rejects)))
    plain = pl.concat(list(BeastReader(anchor=ANCHOR).read(sample, Rejects())))
    assert points.height == plain.height == 3
    assert points["position_source"].to_list() == ["adsb", "adsb", "mlat"]
    assert plain["position_source"].to_list() == ["adsb"] * 3
    # its time is the frame before it, not 271 days later
    assert points["timestamp"].max() <= plain["timestamp"].max()
    assert (plain["timestamp"].max() - points["timestamp"].max()).total_seconds() < 5
    assert rejects.counts[SYNTHETIC] == 1
    # the same frames as AVR lines: `@FF004D4C4154…;` marks the MLAT result there too
    batch = parse_beast(path.read_bytes(), final=True)
    avr = tmp_path / "mlat.avr"
    avr.write_text("".join(f"@{int(t):012X}{bytes(m[:n]).hex()};\n" for t, m, n in zip(batch.ticks, batch.msg, batch.length)))
    by_avr = pl.concat(list(AvrReader(anchor=ANCHOR).read(avr, Rejects())))
    assert by_avr.drop("source").equals(points.drop("source"))


def _df18_pair(cf: int, imf: int) -> list[str]:
    hexes = [surface_frame(0xC81234, -43.4870, 172.5310, odd=bool(k % 2), df=18, cf_or_ca=cf) for k in range(4)]
    if not imf:
        return hexes
    # IMF is ME bit 21 of a surface position (message bit 53): set it and recompute the parity
    from tailwatch.ingest.modes.crc import with_address

    msg, length = frames_of(hexes)
    msg[:, 6] |= 0x08  # bit 53 = byte 6 (0-based), bit 5 of 8 from the left
    return [m.tobytes().hex() for m in with_address(msg, length, 0xC81234)]


@pytest.mark.parametrize(("cf", "imf", "expected"), [
    (0, 0, "adsb"),  # ADS-B from a non-transponder device
    (6, 0, "adsb"),  # ADS-R: the aircraft's own ADS-B, rebroadcast by a ground station
    (2, 0, "tisb"),  # fine TIS-B: a ground station's track of the aircraft
    (2, 1, None),  # TIS-B with a track-file number, not an ICAO address: left out
    (6, 1, None),  # ADS-R of an anonymous address: left out
    (1, 0, None),  # non-ICAO address
])
def test_df18_control_field_gives_the_source(cf: int, imf: int, expected: str | None) -> None:
    msg, length = frames_of(_df18_pair(cf, imf))
    points = ModeSDecoder(reference=NZCH).decode(msg, length, 1.7e9 + np.arange(4.0))
    if expected is None:
        assert points.height == 0
    else:
        assert points.height == 4 and points["position_source"].unique().to_list() == [expected]
        assert (points["latitude"] - -43.4870).abs().max() < 1e-4


def test_untimed_beast_capture_says_its_times_are_assumed(sample: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TAILWATCH_CAPTURE_START", raising=False)
    copy = tmp_path / "capture.bin"
    copy.write_bytes(sample.read_bytes())
    mtime = datetime(2026, 12, 7, 5, 30, tzinfo=timezone.utc).timestamp()
    os.utime(copy, (mtime, mtime))
    rejects = Rejects()
    points = pl.concat(list(BeastReader().read(copy, rejects)))
    assert points["time_assumed"].to_list() == [True] * 3
    assert rejects.time_assumed == ("times assumed from the file's modification time 2026-12-07T05:30:00Z "
                                    "(taken as the time of the last frame)")
    given = Rejects()
    points = pl.concat(list(BeastReader(anchor=ANCHOR).read(copy, given)))
    assert points["time_assumed"].to_list() == [False] * 3 and given.time_assumed is None
    # the ingest summary and the manifest say it too
    (summary,) = ingest_files([copy], tmp_path / "archive")
    assert summary.time_assumed == rejects.time_assumed
    (manifest,) = (tmp_path / "archive" / "_ingested").glob("*.json")
    assert json.loads(manifest.read_text())["time_assumed"] == rejects.time_assumed
    stored = pl.read_parquet(next((tmp_path / "archive" / "points").rglob("*.parquet")))
    assert stored["time_assumed"].to_list() == [True] * 3


def test_cli_ingest_line_notes_assumed_times(sample: Path, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from tailwatch.cli import app

    monkeypatch.delenv("TAILWATCH_CAPTURE_START", raising=False)
    result = CliRunner().invoke(app, ["ingest", str(sample), "--archive", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "times assumed" in result.output and "modification time" in result.output
    monkeypatch.delenv("TAILWATCH_RECEIVER", raising=False)
    given = CliRunner().invoke(app, ["ingest", str(sample), "--archive", str(tmp_path / "b"),
                                     "--capture-start", "2020-03-01T12:00:00Z", "--receiver", "45.0,1.5"])
    assert given.exit_code == 0 and "times assumed" not in given.output
    # the options held for that run only: the next run in the same process dates by the file again
    # (they once stayed in the environment and dated every later capture of a test worker)
    assert "TAILWATCH_CAPTURE_START" not in os.environ and "TAILWATCH_RECEIVER" not in os.environ
    again = CliRunner().invoke(app, ["ingest", str(sample), "--archive", str(tmp_path / "c")])
    assert again.exit_code == 0 and "times assumed" in again.output


def test_untimed_avr_lines_are_marked(sample: Path, tmp_path: Path) -> None:
    batch = parse_beast(sample.read_bytes(), final=True)
    path = tmp_path / "untimed.avr"
    path.write_text("".join(f"*{bytes(m[:n]).hex()};\n" for m, n in zip(batch.msg, batch.length)))
    rejects = Rejects()
    points = pl.concat(list(AvrReader(anchor=ANCHOR).read(path, rejects)))
    assert points["time_assumed"].all()
    assert rejects.time_assumed == "239 lines without a receiver time all placed at 2020-03-01T12:00:00Z"


def test_live_beast_feed_marks_mlat_frames(sample: Path) -> None:
    from tailwatch.live.modes_feeds import BeastFeed

    positions = _position_frames(sample)
    data = restamp(sample, lambda i, t: MAGIC_MLAT if i == int(positions[-1]) else t)
    frames = BeastFeed("beast://127.0.0.1:1").frames([(ANCHOR.timestamp(), data)])
    assert frames.mlat is not None and int(frames.mlat.sum()) == 1
    points = ModeSDecoder().decode(frames.msg, frames.length, frames.t, mlat=frames.mlat)
    assert "mlat" in points["position_source"].to_list()
    assert frames.t.max() - frames.t.min() < 60  # the magic stamp moved no receive time


@pytest.mark.parametrize("per_chunk", [10, 20, 40, 80])
def test_live_beast_frames_never_run_backwards(sample: Path, per_chunk: int) -> None:
    """The real capture read 20× faster than it was heard, `per_chunk` frames per socket read, in
    two cycles. Frame times follow stream order, stay within 1 s before their chunk arrived, and
    the position after the identification carries its callsign. Before, a frame with an unusable
    12 MHz stamp sat at its chunk's time after a later frame spread back, and with 20 or 40 frames
    per read TRA89M's last position lost its callsign (seen as a flaky web API test)."""
    from tailwatch.live.modes_feeds import BeastFeed

    data = sample.read_bytes()
    batch = parse_beast(data, final=True)
    ends = [*batch.offset[1:].tolist(), len(data)]  # a frame's wire bytes (escapes included) end where the next starts
    heard = batch.ticks.astype(np.float64) / 12e6
    cuts = sorted({*range(per_chunk - 1, len(ends), per_chunk), len(ends) - 1})
    chunks, start = [], 0
    for c in cuts:
        chunks.append((ANCHOR.timestamp() + (heard[c] - heard[0]) / 20, data[start:ends[c]]))
        start = ends[c]
    feed, half = BeastFeed("beast://127.0.0.1:1"), len(chunks) // 2
    parts = [feed.frames(chunks[:half]), feed.frames(chunks[half:])]
    t = np.concatenate([p.t for p in parts])
    assert t.size == len(ends) and (np.diff(t) >= 0).all()
    arrival = np.repeat([a for a, _ in chunks], np.diff([-1, *cuts]))
    assert ((t <= arrival) & (t >= arrival - 1.0)).all()
    decoder = ModeSDecoder()
    points = pl.concat([decoder.decode(p.msg, p.length, p.t, mlat=p.mlat) for p in parts])
    track = points.filter(pl.col("icao24") == "48520a").sort("timestamp")
    assert track["callsign"].to_list() == [None, None, "TRA89M"]


def test_gps_stamped_capture_assumes_only_the_date(sample: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TAILWATCH_CAPTURE_START", raising=False)

    def gps(i: int, _: int) -> int:
        sod = 3600.0 + i * 0.05  # 01:00:00 UTC onwards
        return (int(sod) << 30) | int(round((sod % 1) * 1e9))

    path = tmp_path / "gps.bin"
    path.write_bytes(restamp(sample, gps))
    mtime = datetime(2026, 12, 7, 5, 30, tzinfo=timezone.utc).timestamp()
    os.utime(path, (mtime, mtime))
    rejects = Rejects()
    points = pl.concat(list(BeastReader(clock_mode="gps").read(path, rejects)))
    assert points["time_assumed"].all()
    assert points["timestamp"].dt.hour().unique().to_list() == [1]  # the time of day is the receiver's
    assert rejects.time_assumed == ("dates assumed from the file's modification time 2026-12-07T05:30:00Z "
                                    "(the receiver's GPS stamps give the time of day only)")
