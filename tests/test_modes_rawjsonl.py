"""The raw-jsonl reader (timestamp + hex frame per line, as jet1090 writes) on the real rs1090 sample."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.ingest.base import BadInput, Rejects
from tailwatch.ingest.detect import detect
from tailwatch.ingest.pipeline import read_file
from tailwatch.ingest.rawjsonl import READER, RawJsonlReader
from tailwatch.ingest.modes.decoder import DECODED_SCHEMA


@pytest.fixture(scope="module")
def sample(traffic_samples: Path) -> Path:
    return traffic_samples / "rs1090" / "full_flight_short.jsonl"


def test_detected_and_positions_match_the_file(sample: Path, monkeypatch) -> None:
    monkeypatch.setenv("TAILWATCH_RECEIVER", "49.0097,2.5479")
    assert detect(sample).name == "raw-jsonl"
    points, rejects = read_file(sample)
    assert rejects.records == 57793 and rejects.total == 0
    ref = pl.read_ndjson(sample, infer_schema_length=None).filter(pl.col("latitude").is_not_null())
    assert points.height == ref.height == 8324
    ref = ref.with_columns(pl.from_epoch((pl.col("timestamp") * 1e6).round().cast(pl.Int64), "us").dt.replace_time_zone("UTC").alias("ts"))
    ours = points.sort("timestamp", "latitude")
    theirs = ref.sort("ts", "latitude")
    assert (ours["timestamp"] == theirs["ts"]).all()
    assert ((ours["latitude"] - theirs["latitude"]).abs() < 1e-4).all()
    assert ((ours["longitude"] - theirs["longitude"]).abs() < 1e-4).all()
    assert points["source"].unique().to_list() == ["raw-jsonl"]
    assert points["position_source"].unique().to_list() == ["adsb"] and not points["time_assumed"].any()


def test_without_receiver_the_taxi_at_cdg_is_placed_too(sample: Path, monkeypatch) -> None:
    monkeypatch.delenv("TAILWATCH_RECEIVER", raising=False)
    points, _ = read_file(sample, RawJsonlReader())
    assert 8320 <= points.height <= 8324  # only the messages before the first surface pair are lost
    surface = points.filter(pl.col("onground"))
    at_cdg = surface.filter(pl.col("latitude") > 45)
    assert at_cdg.height > 1300  # the 16 min of taxi-out (1,305+ surface positions), around 49.0N 2.55E
    assert at_cdg["latitude"].is_between(48.98, 49.03).all() and at_cdg["longitude"].is_between(2.48, 2.62).all()
    assert surface.filter(pl.col("latitude") <= 45)["latitude"].is_between(43.60, 43.66).all()  # Toulouse


def test_bad_lines_are_counted(sample: Path, tmp_path: Path) -> None:
    lines = sample.read_text().splitlines()[:3000]
    lines[10] = "not json"
    lines[20] = '{"timestamp": "x", "frame": "8d"}'
    lines[30] = '{"timestamp": 1720248190.0, "frame": "zz393322384a02aea63afc43dcba"}'
    lines.insert(40, "")
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rejects = Rejects()
    frames = list(RawJsonlReader(reference=(49.0097, 2.5479)).read(path, rejects))
    assert frames and all(f.schema == pl.Schema({**DECODED_SCHEMA, "time_assumed": pl.Boolean()}) for f in frames)
    assert rejects.counts["not a JSON line with timestamp and hex frame"] == 3
    assert rejects.examples[0] == f"{path}:11: not a JSON line with timestamp and hex frame"
    assert rejects.records == 3000


def test_iso_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "iso.jsonl"
    path.write_text('{"timestamp": "2024-07-06T06:43:09.525094Z", "frame": "8f393322384a02aea63afc43dcba"}\n')
    assert READER.sniff(path.read_bytes())
    frames = list(RawJsonlReader(reference=(49.0097, 2.5479)).read(path, Rejects()))
    assert frames[0]["timestamp"][0].isoformat() == "2024-07-06T06:43:09.525094+00:00"


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=1500))
def test_random_bytes_only_reject(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl"
        path.write_bytes(data)
        try:
            frames = list(RawJsonlReader().read(path, Rejects()))
        except BadInput:
            return
        assert all(f.schema == pl.Schema({**DECODED_SCHEMA, "time_assumed": pl.Boolean()}) for f in frames)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_mutated_lines_only_reject(sample: Path, data) -> None:
    text = bytearray(b"\n".join(sample.read_bytes().splitlines()[:400]))
    for _ in range(data.draw(st.integers(1, 30))):
        text[data.draw(st.integers(0, len(text) - 1))] = data.draw(st.sampled_from(b'{}":,\n0f8zZ\x00\xff'))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl"
        path.write_bytes(bytes(text))
        rejects = Rejects()
        list(RawJsonlReader(reference=(49.0097, 2.5479)).read(path, rejects))
        assert rejects.records >= 390
