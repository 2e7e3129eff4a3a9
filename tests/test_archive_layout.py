"""The archive's tables are siblings (`points/`, `heard/`); old archives (points at the top) still
read as they are and move to the new layout on the first write."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tailwatch.archive import partition_files, scan
from tailwatch.archive_layout import POINTS_DIR, migrate, points_root
from tailwatch.engines.duckdb import count_points, heard_rows, points_for, summary_by_aircraft
from tailwatch.heard_store import read_heard
from tailwatch.ingest.pipeline import ingest_files

ORDER = ["icao24", "timestamp", "latitude", "longitude"]


@pytest.fixture(scope="module")
def new_archive(traffic_samples: Path, tmp_path_factory) -> Path:
    arc = tmp_path_factory.mktemp("layout") / "archive"
    files = [traffic_samples / "readsb" / "trace_full_ac671b.json", traffic_samples / "rs1090" / "full_flight_short.jsonl"]
    assert all(s.error is None for s in ingest_files(files, arc))
    return arc


def _as_old_layout(new: Path, target: Path) -> Path:
    """The same archive as an older tailwatch wrote it: point partitions at the top, beside heard/."""
    shutil.copytree(new, target)
    for folder in sorted((target / POINTS_DIR).glob("date=*")):
        folder.rename(target / folder.name)
    (target / POINTS_DIR).rmdir()
    return target


def test_tables_are_siblings_and_each_reads_with_one_glob(new_archive: Path):
    # three tables (positions, heard minutes, the recordings' identity claims), and bookkeeping
    # (manifests, the writers' per-day locks) beside them
    assert sorted(p.name for p in new_archive.iterdir() if p.is_dir()) == ["_ingested", "_locks", "heard", "points", "seen"]
    assert not list(new_archive.glob("date=*"))
    con = duckdb.connect()
    points = con.execute(f"SELECT count(*) FROM read_parquet('{new_archive}/points/**/*.parquet')").fetchone()[0]
    heard = con.execute(f"SELECT count(*) FROM read_parquet('{new_archive}/heard/**/*.parquet')").fetchone()[0]
    assert points == count_points(new_archive) > 0
    assert heard > 0 and read_heard(new_archive)["messages"].sum() == 57_793
    assert pl.scan_parquet(new_archive / "points" / "**" / "*.parquet").select(pl.len()).collect().item() == points
    seen = con.execute(f"SELECT DISTINCT icao24, registration, typecode FROM read_parquet('{new_archive}/seen/**/*.parquet') "
                       "WHERE registration IS NOT NULL").fetchall()
    assert ("ac671b", "N899DN", "B739") in seen  # the readsb trace's own database fields


def test_old_layout_reads_as_it_is(new_archive: Path, tmp_path: Path):
    old = _as_old_layout(new_archive, tmp_path / "old")
    assert points_root(old) == old
    want = points_for(new_archive).sort(ORDER)
    assert points_for(old).sort(ORDER).equals(want)
    assert scan(old).collect().sort(ORDER).equals(scan(new_archive).collect().sort(ORDER))
    assert summary_by_aircraft(old).equals(summary_by_aircraft(new_archive))
    assert read_heard(old).equals(read_heard(new_archive))
    hexes = want["icao24"].unique().to_list()
    assert heard_rows(old, hexes).height == heard_rows(new_archive, hexes).height > 0
    assert not (old / POINTS_DIR).exists()  # reading never moves anything


def test_old_layout_still_ingests_and_moves_to_the_new_one(new_archive: Path, traffic_samples: Path, tmp_path: Path):
    old = _as_old_layout(new_archive, tmp_path / "old")
    before = points_for(old).height
    again = ingest_files([traffic_samples / "readsb" / "trace_full_ac671b.json"], old)
    assert again[0].skipped  # the manifest of the old archive still counts
    more = sorted((traffic_samples / "fr24").glob("*.json"))[:1]
    assert all(s.error is None for s in ingest_files(more, old))
    assert not list(old.glob("date=*")) and points_root(old) == old / POINTS_DIR
    assert all(p.is_relative_to(old / POINTS_DIR) for p in partition_files(old))
    fresh = ingest_files(more, tmp_path / "fresh")[0].written
    assert points_for(old).height == before + fresh
    assert read_heard(old).equals(read_heard(new_archive))


def test_an_interrupted_migration_finishes(new_archive: Path, tmp_path: Path):
    old = _as_old_layout(new_archive, tmp_path / "old")
    day = sorted(old.glob("date=*"))[0]
    files = sorted(day.glob("*.parquet"))
    (old / POINTS_DIR / day.name).mkdir(parents=True)
    files[0].rename(old / POINTS_DIR / day.name / files[0].name)  # one file moved, then a crash
    assert migrate(old) >= 1
    assert not list(old.glob("date=*"))
    assert points_for(old).sort(ORDER).equals(points_for(new_archive).sort(ORDER))
