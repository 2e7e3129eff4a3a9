"""The ingest fast paths give the same results as the plain ones they replace.

Each shortcut (batched validation, one write for many sources, sort-then-adjacent
dedupe, whole-buffer gzip, per-file forward fill over many traces) is checked
against the straightforward computation on real sample data or crafted edge cases.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import ArchiveWriter, partition_files, scan
from tailwatch.ingest.base import BadInput, Rejects, read_all
from tailwatch.ingest.pipeline import ingest_files, read_file
from tailwatch.ingest.validate import _conform, _positions_only
from tailwatch.ingest.readsb import TRACE_READER
from tailwatch.schema import COLUMNS, conform, positions_only

UTC = timezone.utc


def test_conform_shortcut_equals_schema_conform():
    t = datetime(2024, 3, 1, 10, tzinfo=UTC)
    base = pl.DataFrame({
        "timestamp": [t] * 5, "callsign": [" ab1 ", "", None, "X", "dal12  "],
        "latitude": [1.0, float("nan"), 91.0, 2.0, 3.0], "longitude": [1.0, 2.0, 3.0, 4.0, 181.0],
        "altitude": [1, 2, 3, 4, 5],
    })
    cases = {
        "canonical": ["abc123", "4ca2d6", "00ffee", "aaaaaa", "abc123"],
        "messy": [" ABC123", "4ca2d6", None, "zz", "4CA2D6 "],
        "nulls": ["abc123", None, "abc123", "abc123", "abc123"],
    }
    for name, addresses in cases.items():
        frame = base.with_columns(pl.Series("icao24", addresses, dtype=pl.String))
        fast, ok = _conform(frame)
        assert ok == (name == "canonical")
        assert fast.equals(conform(frame)), name
        assert _positions_only(fast, ok).equals(positions_only(conform(frame))), name
    fast, ok = _conform(base)  # no address column at all
    assert not ok and fast.equals(conform(base))


def _trace(icao: str, t0: float, rows: list[list]) -> str:
    body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
    return f'{{"icao":"{icao}",\n"timestamp": {t0},\n"trace":[\n{body}\n]\n}}\n'


def test_many_traces_in_one_pass_do_not_leak_callsign_or_squawk(tmp_path: Path):
    """Callsign/squawk carry forward inside a file, never into the next file of the batch."""
    t0 = 1_709_287_200.0
    a = tmp_path / "trace_full_aaaaaa.json"
    b = tmp_path / "trace_full_bbbbbb.json"
    a.write_text(_trace("aaaaaa", t0, [
        [0, 50.0, 8.0, 1000, 200, 90, 0, 0, None, "adsb_icao", 1100],
        [5, 50.1, 8.1, 1100, 200, 90, 0, 0, {"type": "adsb_icao", "flight": "DLH4X  ", "squawk": "1000"}, "adsb_icao", 1200],
        [9, 50.2, 8.2, 1200, 200, 90, 0, 0, None, "adsb_icao", 1300],
    ]))
    b.write_text(_trace("bbbbbb", t0, [
        [0, 40.0, 2.0, "ground", 10, 0, 0, 0, None, "adsb_icao", None],
        [4, 40.1, 2.1, 3000, 150, 10, 2, 0, {"type": "adsb_icao", "flight": "IBE1"}, "adsb_icao", 3100],
    ]))
    results = TRACE_READER.read_many([a, b], [Rejects(), Rejects()])
    alone = [read_file(p)[0] for p in (a, b)]
    for together, single in zip(results, alone):
        assert together.select(COLUMNS).equals(single.select(COLUMNS))
    assert results[0]["callsign"].to_list() == [None, "DLH4X", "DLH4X"]
    assert results[0]["squawk"].to_list() == [None, "1000", "1000"]
    assert results[1]["callsign"].to_list() == [None, "IBE1"]
    assert results[1]["squawk"].to_list() == [None, None]
    assert results[1]["onground"].to_list() == [True, False]


def test_trace_with_blank_line_still_reads(tmp_path: Path, traffic_samples: Path):
    """A blank line inside the trace sends the file to the JSON parser; nothing is lost."""
    text = (traffic_samples / "readsb" / "trace_full_ac671b.json").read_text()
    lines = text.split("\n")
    spaced = tmp_path / "trace_full_ac671b.json"
    spaced.write_text("\n".join(lines[:20] + [""] + lines[20:]))
    plain, _ = read_file(traffic_samples / "readsb" / "trace_full_ac671b.json")
    frame, rejects = read_file(spaced)
    assert rejects.total == 0
    assert frame.select(COLUMNS).equals(plain.select(COLUMNS))
    # among other files read together, it alone leaves the batched path; every file reads as alone
    other = tmp_path / "trace_full_ac671c.json"
    other.write_text(text.replace('"icao":"ac671b"', '"icao":"ac671c"', 1))
    together = TRACE_READER.read_many([other, spaced, other], [Rejects(), Rejects(), Rejects()])
    for path, result in zip([other, spaced, other], together):
        (alone,) = TRACE_READER.read_many([path], [Rejects()])
        assert result.select(COLUMNS).equals(alone.select(COLUMNS))
    assert together[0]["icao24"].unique().to_list() == ["ac671c"] and together[1]["icao24"].unique().to_list() == ["ac671b"]


def test_one_write_for_many_sources_keeps_first_and_counts(tmp_path: Path, traffic_samples: Path):
    trace, _ = read_file(traffic_samples / "readsb" / "trace_full_ac671b.json")
    trace = trace.select(COLUMNS)
    renamed = trace.with_columns(pl.lit("FIRST").alias("callsign"))
    writer = ArchiveWriter(tmp_path / "arc")
    batch = pl.concat([renamed, trace, trace.head(100).with_columns(pl.lit("abcdef").alias("icao24"))])
    tags = pl.Series([0] * trace.height + [1] * trace.height + [2] * 100)
    writer.write(batch, source_index=tags)
    writer.flush()
    assert writer.source_counts(0) == (trace.height, 0)
    assert writer.source_counts(1) == (0, trace.height)  # same keys: duplicates of source 0
    assert writer.source_counts(2) == (100, 0)
    stored = scan(tmp_path / "arc").collect()
    assert stored.filter(pl.col("icao24") == "ac671b")["callsign"].unique().to_list() == ["FIRST"]
    for f in partition_files(tmp_path / "arc"):  # sorted by icao24, timestamp inside each file
        keys = pl.read_parquet(f, columns=["icao24", "timestamp"])
        assert keys.equals(keys.sort(["icao24", "timestamp"], maintain_order=True))


def test_small_files_batched_through_pipeline_match_one_by_one(tmp_path: Path, traffic_samples: Path):
    sample = (traffic_samples / "readsb" / "trace_full_ac671b.json").read_text()
    doc = json.loads(sample)
    folder = tmp_path / "traces"
    folder.mkdir()
    for k in range(6):
        icao = f"{0xAC671B + k:06x}"
        body = sample.replace('"icao":"ac671b"', f'"icao":"{icao}"', 1).replace(
            f'"timestamp": {doc["timestamp"]}', f'"timestamp": {doc["timestamp"] + 86400 * (k % 2)}', 1)
        data = gzip.compress(body.encode()) if k % 2 else body.encode()
        (folder / f"trace_full_{icao}.json").write_bytes(data)
    (folder / "trace_full_copy.json").write_text(sample + "\n")  # other bytes, the same points as the first
    files = sorted(folder.iterdir())
    together = ingest_files(files, tmp_path / "a")
    one_by_one = [ingest_files([f], tmp_path / "b")[0] for f in files]
    assert [s.as_dict() for s in together] == [s.as_dict() for s in one_by_one]
    assert sum(s.duplicates for s in together) == 2500  # the copy
    a = scan(tmp_path / "a").collect().sort(COLUMNS[:4])
    b = scan(tmp_path / "b").collect().sort(COLUMNS[:4])
    assert a.equals(b) and a.height == 6 * 2500


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "trailing"])
def test_read_all_damaged_gzip_is_bad_input(tmp_path: Path, damage: str):
    good = gzip.compress(os.urandom(20000))
    data = {"truncated": good[:5000], "corrupt": good[:10] + b"\xff" * 200, "trailing": good + b"junk"}[damage]
    path = tmp_path / "x.json"
    path.write_bytes(data)
    with pytest.raises(BadInput, match=str(path)):
        read_all(path)


def test_read_all_multi_member_and_padding(tmp_path: Path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"abc") + gzip.compress(b"def") + b"\0" * 8)
    assert read_all(path) == b"abcdef"


def test_large_flush_is_two_sorted_files(tmp_path: Path, traffic_samples: Path, monkeypatch: pytest.MonkeyPatch):
    import pyarrow.parquet as pq

    import tailwatch.archive as archive

    points, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    points = points.select(COLUMNS)
    monkeypatch.setattr(archive, "PARALLEL_WRITE_ROWS", 100_000)
    writer = ArchiveWriter(tmp_path / "arc")
    writer.write(points.sample(fraction=1.0, shuffle=True, seed=7))
    writer.flush()
    files = partition_files(tmp_path / "arc")
    by_day = points.group_by(pl.col("timestamp").dt.date()).len()
    big_days = by_day.filter(pl.col("len") >= 100_000).height
    assert big_days >= 1 and len(files) == by_day.height + big_days
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert all(meta.row_group(i).num_rows <= archive.ROW_GROUP_ROWS for i in range(meta.num_row_groups))
        keys = pl.read_parquet(f, columns=["icao24", "timestamp"])
        assert keys.equals(keys.sort(["icao24", "timestamp"], maintain_order=True))
    stored = scan(tmp_path / "arc").collect()
    assert stored.height == points.unique(["icao24", "timestamp", "latitude", "longitude"]).height
    assert writer.result.files == len(files)
