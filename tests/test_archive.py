"""The archive's promises: partitioned, sorted, zstd, deduplicated, atomic, resumable."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from tailwatch.archive import ROW_GROUP_ROWS, ArchiveWriter, partition_files, scan
from tailwatch.ingest.pipeline import ingest_file, ingest_files
from tailwatch.schema import ARCHIVE_COLUMNS, ARCHIVE_SCHEMA, COLUMNS


def quickstart_states(samples: Path) -> pl.DataFrame:
    """Real quickstart points as OpenSky state vectors (SI units)."""
    raw = pl.DataFrame(json.loads(gzip.decompress((samples / "collections" / "quickstart.json.gz").read_bytes())))
    return raw.select(
        (pl.col("timestamp") // 1000).alias("time"), "icao24", pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"), (pl.col("groundspeed") * 1852 / 3600).alias("velocity"),
        pl.col("track").alias("heading"), (pl.col("vertical_rate") * 0.3048 / 60).alias("vertrate"),
        "callsign", "onground", pl.lit(False).alias("alert"), pl.lit(False).alias("spi"), "squawk",
        (pl.col("altitude") * 0.3048).alias("baroaltitude"), (pl.col("altitude") * 0.3048).alias("geoaltitude"),
        (pl.col("timestamp") / 1000).alias("lastposupdate"), (pl.col("timestamp") / 1000).alias("lastcontact"),
    )


def repeated(states: pl.DataFrame, copies: int, day_shift: bool = False) -> pl.DataFrame:
    """`copies` of the states with distinct addresses (and optionally one day apart)."""
    parts = []
    for k in range(copies):
        addr = ((pl.col("icao24").str.to_integer(base=16) + k * 0x040405) % 0x1000000)
        part = states.with_columns(addr.map_batches(lambda s: s.map_elements(lambda v: f"{v:06x}", return_dtype=pl.String),
                                                    return_dtype=pl.String).alias("icao24"))
        if day_shift:
            part = part.with_columns(pl.col("time") + 86400 * (k % 3), pl.col("lastposupdate") + 86400 * (k % 3))
        parts.append(part)
    return pl.concat(parts)


def stored(archive: Path) -> pl.DataFrame:
    return scan(archive).collect().sort(COLUMNS[:4] + ["altitude"], nulls_last=True)


def archive_state(archive: Path) -> dict[str, str]:
    return {
        str(p.relative_to(archive)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(archive.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def states(traffic_samples: Path) -> pl.DataFrame:
    return quickstart_states(traffic_samples)


def test_layout_sorting_compression_row_groups(tmp_path: Path, states: pl.DataFrame):
    src = tmp_path / "states.csv"
    repeated(states, 2, day_shift=True).write_csv(src)
    summary = ingest_file(src, tmp_path / "arc")
    assert summary.written == summary.points > 0 and summary.rejected == 0
    files = partition_files(tmp_path / "arc")
    assert {f.parent.name for f in files} == {"date=2021-10-07", "date=2021-10-08"}
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert all(meta.row_group(i).num_rows <= ROW_GROUP_ROWS for i in range(meta.num_row_groups))
        frame = pl.read_parquet(f)
        assert list(frame.columns) == ARCHIVE_COLUMNS and frame.schema == pl.Schema(ARCHIVE_SCHEMA)
        assert frame.equals(frame.sort(["icao24", "timestamp"], maintain_order=True))
        day = f.parent.name.removeprefix("date=")
        assert (frame["timestamp"].dt.strftime("%Y-%m-%d") == day).all()
    assert not list((tmp_path / "arc").rglob(".*tmp"))


def test_reingest_adds_nothing_and_overlap_is_dropped(tmp_path: Path, states: pl.DataFrame):
    arc = tmp_path / "arc"
    plain = tmp_path / "states.csv"
    states = states.head(60_000)
    states.write_csv(plain)
    first = ingest_file(plain, arc)
    before = archive_state(arc)
    again = ingest_file(plain, arc)
    assert again.skipped and again.written == 0
    assert archive_state(arc) == before
    # the same points in another container (gzip, different bytes) are all duplicates
    packed = tmp_path / "states.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    overlap = ingest_file(packed, arc)
    assert not overlap.skipped and overlap.written == 0 and overlap.duplicates == overlap.points
    # half-overlapping content: only the new half is written
    half = tmp_path / "half.csv"
    pl.concat([states.head(1000), repeated(states.head(1000), 2).tail(1000)]).write_csv(half)
    partial = ingest_file(half, arc)
    assert partial.written == 1000 and partial.duplicates == 1000
    assert scan(arc).select(pl.len()).collect().item() == first.written + 1000
    keys = stored(arc).select("icao24", "timestamp", "latitude", "longitude")
    assert keys.is_duplicated().sum() == 0


def test_many_files_one_writer(tmp_path: Path, traffic_samples: Path):
    files = sorted((traffic_samples / "fr24").glob("*.json")) + [traffic_samples / "readsb" / "trace_full_ac671b.json"]
    summaries = ingest_files(files, tmp_path / "arc")
    assert [s.error for s in summaries] == [None] * 5
    assert sum(s.written for s in summaries) == 871 + 305 + 1249 + 634 + 2500
    # one file per day partition touched, not one per input
    assert len(partition_files(tmp_path / "arc")) == len({f.parent for f in partition_files(tmp_path / "arc")})
    again = ingest_files(files, tmp_path / "arc")
    assert all(s.skipped for s in again)


def test_torn_manifest_reads_the_source_again_and_writes_nothing_twice(tmp_path: Path, traffic_samples: Path):
    """Manifests are not synced one by one (the points they vouch for are): one lost or torn by a
    power cut is taken for none, and the source read again adds no row."""
    files = sorted((traffic_samples / "fr24").glob("*.json"))
    arc = tmp_path / "arc"
    first = ingest_files(files, arc)
    manifests = sorted((arc / "_ingested").glob("*.json"))
    assert len(manifests) == len(files) and not [p for p in (arc / "_ingested").iterdir() if p.name.startswith(".")]
    manifests[0].write_bytes(manifests[0].read_bytes()[:17])  # torn
    manifests[1].write_bytes(b"\0" * 64)  # a block never written
    manifests[2].unlink()  # lost
    again = ingest_files(files, arc)
    assert sum(not s.skipped for s in again) == 3
    assert sum(s.written for s in again) == 0 and sum(s.duplicates for s in again if not s.skipped) > 0
    assert scan(arc).select(pl.len()).collect().item() == sum(s.written for s in first)
    assert all(json.loads(m.read_text())["path"] for m in (arc / "_ingested").glob("*.json"))


def test_failed_file_leaves_others_and_no_manifest(tmp_path: Path, traffic_samples: Path):
    bad = tmp_path / "broken.json"
    good = traffic_samples / "fr24" / "3376ab31.json"
    bad.write_bytes(gzip.compress(good.read_bytes())[:2000])  # truncated gzip
    summaries = ingest_files([bad, good], tmp_path / "arc")
    assert summaries[0].error and str(bad) in summaries[0].error
    assert summaries[1].written == 305
    assert len(list((tmp_path / "arc" / "_ingested").glob("*.json"))) == 1


def test_writer_discard_and_source_counts(tmp_path: Path, states: pl.DataFrame):
    from tailwatch.ingest.opensky import from_state_vectors
    from tailwatch.schema import conform

    frame = conform(from_state_vectors(states.head(500)))
    writer = ArchiveWriter(tmp_path / "arc")
    writer.write(frame, source_index=0)
    writer.write(frame, source_index=1)  # an exact copy from another source
    writer.write(frame.head(10), source_index=2)
    writer.discard(2)
    writer.flush()
    assert writer.source_counts(0) == (500, 0)
    assert writer.source_counts(1) == (0, 500)
    assert writer.source_counts(2) == (0, 0)
    assert scan(tmp_path / "arc").select(pl.len()).collect().item() == 500


def test_duplicates_of_flushes_whose_keys_left_memory_are_dropped(tmp_path: Path, states: pl.DataFrame):
    """Beyond `seen_rows` the oldest flushes' keys are read back from their files, not forgotten."""
    from tailwatch.ingest.opensky import from_state_vectors
    from tailwatch.schema import conform

    frame = conform(from_state_vectors(states.head(3000)))
    first, second = frame.head(1500), frame.tail(1500)
    writer = ArchiveWriter(tmp_path / "arc")
    writer.seen_rows = 1000
    writer.write(first, source_index=0)
    writer.flush()
    writer.write(second, source_index=1)
    writer.flush()
    assert writer._written and all(w.hashes is None for ws in writer._written.values() for w in ws[:1])
    writer.write(frame, source_index=2)  # every row already written, half of them only on disk now
    writer.flush()
    assert writer.source_counts(2) == (0, 3000)
    assert writer.result.rows_written == 3000 == scan(tmp_path / "arc").select(pl.len()).collect().item()


@pytest.mark.slow
def test_kill_midway_leaves_complete_files_and_resumes(tmp_path: Path, states: pl.DataFrame):
    """SIGKILL an ingest mid-way: old files untouched, new files complete, a re-run gives the full result."""
    arc, ref = tmp_path / "arc", tmp_path / "ref"
    earlier = tmp_path / "earlier.csv"
    states.head(5000).write_csv(earlier)
    ingest_file(earlier, arc)
    ingest_file(earlier, ref)
    before = archive_state(arc)
    big = tmp_path / "big.csv"
    repeated(states, 4).write_csv(big)  # ~1.1 M rows: the writer flushes after the first 1 M-row batch
    env = dict(os.environ, TAILWATCH_FLUSH_ROWS="150000")
    cmd = [sys.executable, "-m", "tailwatch.cli", "ingest", str(big), "--archive", str(arc)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    old_files = len(partition_files(arc))
    while time.time() < deadline and len(partition_files(arc)) <= old_files and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after_kill = archive_state(arc)
    for name, digest in before.items():  # nothing that was there changed
        assert after_kill[name] == digest
    assert len(partition_files(arc)) > old_files, "the kill came too late to test anything"
    for f in partition_files(arc):  # every visible file is complete
        pq.ParquetFile(f).metadata
        pl.read_parquet(f)
    assert len(list((arc / "_ingested").glob("*.json"))) == 1  # the big file is not marked done
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ingest_file(big, ref)
    assert stored(arc).equals(stored(ref))
    assert not [p for p in arc.rglob("*") if p.name.startswith(".")]


def test_aircraft_json_folder_is_a_time_series(tmp_path: Path, states: pl.DataFrame):
    """Snapshots repeat a position until a new one arrives: stored once, at its receive time."""
    points = states.filter(pl.col("icao24") == states["icao24"][0]).head(6)
    folder = tmp_path / "snapshots"
    folder.mkdir()
    for i, r in enumerate(points.iter_rows(named=True)):
        for k, age in enumerate((0.5, 0.9)):  # the second snapshot still shows the same position
            aircraft = [{"hex": r["icao24"], "lat": r["lat"], "lon": r["lon"], "seen_pos": age,
                         "alt_baro": round(r["baroaltitude"] / 0.3048)}]
            doc = {"now": r["time"] + age, "aircraft": aircraft}
            (folder / f"aircraft_{i:02d}_{k}.json").write_text(json.dumps(doc))
    summaries = ingest_files(sorted(folder.iterdir()), tmp_path / "arc")
    assert [s.format for s in summaries] == ["aircraft-json"] * 12
    assert sum(s.points for s in summaries) == 12
    assert sum(s.written for s in summaries) == 6 and sum(s.duplicates for s in summaries) == 6
    out = scan(tmp_path / "arc").collect().sort("timestamp")
    assert out["timestamp"].dt.epoch("s").to_list() == points["time"].to_list()


def _points(rows: list[tuple[str, int, float, float, str]]) -> pl.DataFrame:
    """Canonical points from (icao24, microsecond, latitude, longitude, callsign)."""
    frame = pl.DataFrame(rows, schema=["icao24", "us", "latitude", "longitude", "callsign"], orient="row")
    start = pl.datetime(2024, 5, 1, time_zone="UTC")
    return frame.select(
        (start + pl.duration(microseconds=pl.col("us"))).alias("timestamp"), "icao24", "callsign", "latitude",
        "longitude", *(pl.lit(None, dtype=ARCHIVE_SCHEMA[c]).alias(c) for c in COLUMNS[5:]),
    ).with_columns(pl.lit("test").alias("source"))


def test_duplicates_among_equal_address_and_time(tmp_path: Path):
    """Rows of one aircraft at one microsecond with different positions are all kept, and a repeat
    of any of them, however far apart it was received, is dropped with the first kept."""
    rows = [("4b1805", 5, 47.0, 8.0, "FIRST"), ("4b1805", 5, 47.5, 8.5, "OTHER"), ("3c6444", 5, 47.0, 8.0, "THIRD"),
            ("4b1805", 5, 47.0, 8.0, "REPEAT"), ("4b1805", 4, 47.0, 8.0, "EARLIER"), ("4b1805", 5, 47.5, 8.5, "REPEAT2")]
    writer = ArchiveWriter(tmp_path / "arc")
    writer.write(_points(rows[:3]))
    writer.write(_points(rows[3:]))
    writer.flush()
    got = stored(tmp_path / "arc").select("icao24", "callsign", "latitude").rows()
    assert got == [("4b1805", "EARLIER", 47.0), ("3c6444", "THIRD", 47.0), ("4b1805", "FIRST", 47.0),
                   ("4b1805", "OTHER", 47.5)]  # by time, then address
    assert writer.result.duplicates == 2
    again = ArchiveWriter(tmp_path / "arc")  # and against the stored files, by the keys read back
    again.write(_points(rows + [("4b1805", 6, 47.0, 8.0, "NEW")]))
    again.flush()
    assert again.result.rows_written == 1 and again.result.duplicates == len(rows)


def test_polars_allocator_setting_follows_import_order():
    """Importing tailwatch first (as the CLI does) gives Polars' allocator the setting that keeps
    freed pages for the next flush, after Polars' own defaults (the last value wins); a user's
    own setting is left alone."""
    code = "import tailwatch, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert ours.strip().endswith("dirty_decay_ms:10000,muzzy_decay_ms:10000")
    theirs = subprocess.run([sys.executable, "-c", code], env=dict(env, _RJEM_MALLOC_CONF="dirty_decay_ms:1"),
                            capture_output=True, text=True, check=True).stdout
    assert theirs.strip().endswith("dirty_decay_ms:1") and "10000" not in theirs
