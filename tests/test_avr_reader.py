"""AVR text reader: the Beast sample rewritten as AVR lines decodes to the same points; bad lines are counted."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.ingest.avr import READER, AvrReader
from tailwatch.ingest.base import BadInput, Rejects
from tailwatch.ingest.beast import BeastReader, parse_beast
from tailwatch.ingest.detect import detect
from tailwatch.ingest.modes.decoder import DECODED_SCHEMA

CAPTURE_SCHEMA = {**DECODED_SCHEMA, "time_assumed": pl.Boolean()}  # the capture readers add whether times were assumed

ANCHOR = datetime(2020, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def beast(traffic_samples: Path) -> Path:
    return traffic_samples / "dump1090" / "sample_dump1090.bin"


@pytest.fixture(scope="module")
def avr_lines(beast: Path) -> list[str]:
    batch = parse_beast(beast.read_bytes(), final=True)
    return [
        f"@{int(t):012X}{bytes(m[:n]).hex().upper()};"
        for t, m, n in zip(batch.ticks, batch.msg, batch.length)
    ]


def write(tmp: Path, name: str, lines: list[str], end: str = "\n") -> Path:
    path = tmp / name
    path.write_text(end.join(lines) + end)
    return path


def test_timed_avr_equals_beast(beast: Path, avr_lines: list[str], tmp_path: Path) -> None:
    path = write(tmp_path, "capture.txt", avr_lines, end="\r\n")
    assert detect(path).name == "avr"
    rejects = Rejects()
    avr = pl.concat(list(AvrReader(anchor=ANCHOR).read(path, rejects)))
    ref = pl.concat(list(BeastReader(anchor=ANCHOR).read(beast, Rejects())))
    assert avr.drop("source").equals(ref.drop("source"))
    assert avr["source"].unique().to_list() == ["avr"]
    assert rejects.records == 239 and rejects.counts == {"unconfirmed address": 10}
    assert rejects.examples[0] == f"{path}:1: unconfirmed address"


def test_signal_variant_and_untimed_lines(avr_lines: list[str], tmp_path: Path) -> None:
    with_signal = [f"<{line[1:13]}C8{line[13:]}" for line in avr_lines]
    timed = pl.concat(list(AvrReader(anchor=ANCHOR).read(write(tmp_path, "a.txt", avr_lines), Rejects())))
    sig = pl.concat(list(AvrReader(anchor=ANCHOR).read(write(tmp_path, "b.txt", with_signal), Rejects())))
    assert sig.equals(timed)
    # untimed lines: same positions in the same order, every row at the anchor time
    untimed = [f"*{line[13:]}" for line in avr_lines]
    raw = pl.concat(list(AvrReader(anchor=ANCHOR).read(write(tmp_path, "c.txt", untimed), Rejects())))
    assert raw["latitude"].to_list() == timed["latitude"].to_list()
    assert raw["timestamp"].unique().to_list() == [ANCHOR]


def test_bad_lines_are_counted_with_line_numbers(avr_lines: list[str], tmp_path: Path) -> None:
    lines = avr_lines[:100] + ["garbage here", "*8D4840;", "@00000000ZZZZ8D4840D6202CC371C32CE0576098;", "*1234;", ""] + avr_lines[100:]
    rejects = Rejects()
    points = pl.concat(list(AvrReader(anchor=ANCHOR).read(write(tmp_path, "bad.txt", lines), rejects)))
    assert points.height == 3
    assert rejects.counts["not an AVR line"] == 2  # free text, non-hex digits
    assert rejects.counts["bad AVR message (length or hex)"] == 1  # too short; Mode A/C is skipped silently
    assert any(e.endswith(":101: not an AVR line") for e in rejects.examples)
    assert rejects.records == 239 + 3


def test_anchor_on_last_frame(avr_lines: list[str], tmp_path: Path) -> None:
    path = write(tmp_path, "d.txt", avr_lines)
    first = pl.concat(list(AvrReader(anchor=ANCHOR).read(path, Rejects())))
    batch_span = (int(avr_lines[-1][1:13], 16) - int(avr_lines[0][1:13], 16)) / 12e6
    last = pl.concat(list(AvrReader(anchor=ANCHOR.timestamp() + batch_span, anchor_at="last").read(path, Rejects())))
    diffs = (last["timestamp"] - first["timestamp"]).dt.total_microseconds().abs()
    assert diffs.max() <= 1


def test_sniff_rejects_other_text() -> None:
    assert not READER.sniff(b"timestamp,icao24,lat\n1,abc,2\n")
    assert not READER.sniff(b'{"timestamp": 1, "frame": "8d"}\n')
    assert READER.sniff(b"*8D4840D6202CC371C32CE0576098;\n*5D4840D6E3D6D8;\n")


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=1500))
def test_random_bytes_only_reject(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.txt"
        path.write_bytes(data)
        try:
            frames = list(AvrReader(anchor=0).read(path, Rejects()))
        except BadInput:
            return
        assert all(f.schema == pl.Schema(CAPTURE_SCHEMA) for f in frames)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_mutated_lines_only_reject(avr_lines: list[str], data) -> None:
    text = bytearray("\n".join(avr_lines).encode())
    for _ in range(data.draw(st.integers(1, 25))):
        text[data.draw(st.integers(0, len(text) - 1))] = data.draw(st.sampled_from(b"*@<;\n\r0F9xZ\x00\xff"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.txt"
        path.write_bytes(bytes(text))
        rejects = Rejects()
        frames = list(AvrReader(anchor=0).read(path, rejects))
        assert sum(f.height for f in frames) <= 3 + 5
        assert rejects.records >= 200
