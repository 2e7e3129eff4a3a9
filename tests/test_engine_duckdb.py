"""DuckDB queries over the archive: the right rows, canonical dtypes, pruned partitions."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.archive import scan
from tailwatch.engines.duckdb import (
    count_points, partition_files_between, points_by_aircraft, points_for, summary_by_aircraft,
)
from tailwatch.ingest.pipeline import ingest_files
from tailwatch.schema import ARCHIVE_SCHEMA, EXTENSION_SCHEMA, POINT_SCHEMA

EXTENSION = [c for c in EXTENSION_SCHEMA if c != "new_leg"]


@pytest.fixture(scope="module")
def archive(traffic_samples: Path, tmp_path_factory) -> Path:
    arc = tmp_path_factory.mktemp("arc")
    files = sorted((traffic_samples / "fr24").glob("*.json")) + [
        traffic_samples / "readsb" / "trace_full_ac671b.json",
        traffic_samples / "collections" / "quickstart.json.gz",
    ]
    summaries = ingest_files(files, arc)
    assert all(s.error is None for s in summaries)
    return arc


def test_points_for_one_aircraft_matches_polars_scan(archive: Path):
    got = points_for(archive, ["AC671B"])
    assert got.schema == pl.Schema(ARCHIVE_SCHEMA)
    want = scan(archive).filter(pl.col("icao24") == "ac671b").collect().sort(["icao24", "timestamp"])
    assert got.height == 2500
    assert got.equals(want)


def test_points_for_window_and_several_aircraft(archive: Path):
    start = datetime(2025, 2, 5, 0, 0)  # naive = UTC
    end = datetime(2025, 2, 5, 6, 0, tzinfo=timezone.utc)
    got = points_for(archive, ["ac671b", "8467d8"], start, end)
    assert got["icao24"].unique().to_list() == ["ac671b"]
    assert got["timestamp"].min() >= start.replace(tzinfo=timezone.utc)
    assert got["timestamp"].max() <= end
    assert got.equals(got.sort(["icao24", "timestamp"]))
    assert got.height == scan(archive).filter(
        (pl.col("icao24") == "ac671b") & pl.col("timestamp").is_between(start.replace(tzinfo=timezone.utc), end)
    ).collect().height


def test_partition_pruning_by_folder(archive: Path):
    day = datetime(2024, 1, 2, tzinfo=timezone.utc)
    files = partition_files_between(archive, day, day.replace(hour=23))
    assert files and all(f.parent.name == "date=2024-01-02" for f in files)
    assert len(partition_files_between(archive)) > len(files)


def test_summary_by_aircraft(archive: Path):
    summary = summary_by_aircraft(archive, ["ac671b", "4baac6", "000000"])
    assert summary["icao24"].to_list() == ["4baac6", "ac671b"]
    row = summary.filter(pl.col("icao24") == "ac671b").row(0, named=True)
    assert row["points"] == 2500 and row["days"] == 2
    assert {"DAL1812", "DAL2418"} <= set(row["callsigns"])
    assert row["lat_min"] < row["lat_max"] and row["first_seen"] < row["last_seen"]
    everyone = summary_by_aircraft(archive)
    assert everyone["points"].sum() == count_points(archive) == scan(archive).select(pl.len()).collect().item()
    # what a batch cuts its chunks from: the summary's addresses and counts, in its order
    assert points_by_aircraft(archive).equals(everyone.select("icao24", "points"))
    start, end = datetime(2025, 2, 5, 0, 0, tzinfo=timezone.utc), datetime(2025, 2, 5, 6, 0, tzinfo=timezone.utc)
    asked = ["ac671b", "4baac6", "000000"]
    assert points_by_aircraft(archive, asked, start, end).equals(
        summary_by_aircraft(archive, asked, start, end).select("icao24", "points"))
    assert points_by_aircraft(archive, []).height == points_by_aircraft(archive / "nothing").height == 0


def test_empty_and_missing(tmp_path: Path, archive: Path):
    assert points_for(tmp_path).schema == pl.Schema(ARCHIVE_SCHEMA)
    assert points_for(archive, []).height == 0
    assert points_for(archive, ["abcdef"]).height == 0
    assert summary_by_aircraft(tmp_path).height == 0
    assert count_points(tmp_path) == 0


def test_archive_keeps_readsb_new_leg_and_archived_trace_cuts_legs_as_the_file_does(archive: Path, traffic_samples: Path):
    from tailwatch.ingest.pipeline import read_file
    from tailwatch.itinerary.build import build_itinerary

    path = traffic_samples / "readsb" / "trace_full_ac671b.json"
    from_file, _ = read_file(path)
    stored = points_for(archive, ["ac671b"])
    assert stored["new_leg"].sum() == from_file["new_leg"].sum() == 3
    flagged = stored.filter(pl.col("new_leg"))["timestamp"].to_list()
    assert flagged == from_file.filter(pl.col("new_leg"))["timestamp"].to_list()
    # the other sources carry no such flag: null, not False
    assert points_for(archive, ["8467d8"])["new_leg"].null_count() > 0
    a, b = build_itinerary(from_file).to_json(), build_itinerary(stored).to_json()
    assert [(leg["origin"], leg["destination"], leg["takeoff"], leg["landing"]) for leg in a["legs"]] == [
        (leg["origin"], leg["destination"], leg["takeoff"], leg["landing"]) for leg in b["legs"]]
    assert len(a["legs"]) >= 2


def test_files_written_before_the_schema_extension_still_read(tmp_path: Path, archive: Path):
    old = tmp_path / "old"
    (old / "date=2025-02-05").mkdir(parents=True)
    legacy = points_for(archive, ["8467d8"]).select(list(POINT_SCHEMA))  # canonical columns only
    legacy.write_parquet(old / "date=2025-02-05" / "part-legacy.parquet")
    got = points_for(old, ["8467d8"])
    assert got.schema == pl.Schema(ARCHIVE_SCHEMA)
    assert got["new_leg"].null_count() == got.height == legacy.height
    assert scan(old).collect().schema == pl.Schema(ARCHIVE_SCHEMA)


def test_heard_rows_of_files_written_before_a_column_existed(tmp_path: Path):
    """Heard rows come in the heard schema from one query whatever columns the files have: a
    day written before `position_messages` existed gives nulls there, alone or beside a newer day."""
    from datetime import timedelta

    from tailwatch.engines.duckdb import heard_rows
    from tailwatch.heard import HEARD_SCHEMA

    start = datetime(2024, 7, 6, 6, 40, tzinfo=timezone.utc)

    def minutes(day: int, with_column: bool) -> pl.DataFrame:
        minute = [start + timedelta(days=day, minutes=k) for k in range(3)]
        frame = pl.DataFrame({"icao24": ["393322", "393322", "4b1901"], "minute": minute, "first": minute,
                              "last": [m + timedelta(seconds=59) for m in minute], "messages": [60, 61, 62],
                              "positions": [4, 5, 6], "source": ["beast"] * 3},
                             schema_overrides={"messages": pl.UInt32, "positions": pl.UInt32})
        if with_column:
            frame = frame.with_columns(pl.lit(9, pl.UInt32).alias("position_messages"))
        return frame.with_columns(pl.col("minute", "first", "last").cast(HEARD_SCHEMA["minute"]))

    for day, with_column in ((0, False), (1, True)):
        folder = tmp_path / "heard" / f"date=2024-07-0{6 + day}"
        folder.mkdir(parents=True)
        minutes(day, with_column).write_parquet(folder / "part.parquet")
    old = heard_rows(tmp_path, ["393322"], start, start + timedelta(hours=1))
    assert old.schema == pl.Schema(HEARD_SCHEMA) and old.height == 2
    assert old["position_messages"].null_count() == 2 and old["messages"].to_list() == [60, 61]
    both = heard_rows(tmp_path, ["393322", "4b1901"], start, start + timedelta(days=2)).sort("minute")
    assert both.schema == pl.Schema(HEARD_SCHEMA) and both.height == 6
    assert both["position_messages"].to_list() == [None] * 3 + [9] * 3


def _ordered_by_query(archive: Path, icao24: list[str] | None, start=None, end=None) -> pl.DataFrame:
    """What `points_for` answered when DuckDB read and sorted every row (ORDER BY the point order)."""
    from tailwatch.engines.duckdb import POINT_ORDER, _query, _scope, canonical_points

    files, where, params = _scope(archive, icao24, start, end)
    return canonical_points(_query(files, "*", where, params, "ORDER BY " + ", ".join(POINT_ORDER)))


def test_points_for_gives_the_rows_order_by_gave(archive: Path):
    """The rows come back as the scan hands them and are put in order afterwards
    (`in_point_order`): the same frame, row for row, as sorting every row in the query, over
    many days and aircraft."""
    some = points_by_aircraft(archive)["icao24"].to_list()[::3]
    for asked in (None, some, ["ac671b"]):
        got = points_for(archive, asked)
        assert got.height > 0 and got.equals(_ordered_by_query(archive, asked))


def test_points_for_orders_overlapping_files_and_tied_times(tmp_path: Path, archive: Path):
    """Where the runs of the files do not make the order alone (two files of one day that
    interleave, two positions of one aircraft at one microsecond, a file not sorted at all),
    the rows are sorted by every key as the query sorted them."""
    from tailwatch.engines.duckdb import in_point_order

    every = points_for(archive).with_columns(pl.col("timestamp").dt.date().alias("d"))
    busiest = every.group_by("d").agg(pl.col("icao24").n_unique()).sort("icao24", "d").row(-1)[0]
    day = every.filter(pl.col("d") == busiest).drop("d")
    assert day["icao24"].n_unique() >= 2
    folder = tmp_path / "arc" / f"date={busiest}"
    folder.mkdir(parents=True)
    numbered = day.with_row_index("k")
    numbered.filter(pl.col("k") % 2 == 0).drop("k").write_parquet(folder / "part-a.parquet")
    odd = numbered.filter(pl.col("k") % 2 == 1).drop("k")
    tied = odd.head(50).with_columns(pl.col("latitude") + 0.001)  # same aircraft and times, other positions
    pl.concat([odd, tied]).sort("icao24", "timestamp").write_parquet(folder / "part-b.parquet")
    arc = tmp_path / "arc"
    got = points_for(arc)
    assert got.height == day.height + 50
    assert got.equals(_ordered_by_query(arc, None))
    # a frame in no order at all, and one already in order, come out as the query's
    shuffled = got.sample(fraction=1.0, shuffle=True, seed=7)
    assert in_point_order(shuffled).equals(got)
    assert in_point_order(got).equals(got)
    assert in_point_order(got.head(1)).equals(got.head(1)) and in_point_order(got.clear()).height == 0


def test_point_order_merges_blocks_out_of_file_order(archive: Path):
    """A scan may hand blocks of a file back out of order (a join over the scan did, on the 1x
    bench: part of one day after the next day's rows): the order merges them by address and
    time alone, and falls back to every key only where an aircraft has two rows at one
    microsecond."""
    from tailwatch.engines.duckdb import _point_order, in_point_order

    ordered = points_for(archive)
    ordered = ordered.filter(~ordered.select("icao24", "timestamp").is_duplicated())  # one row per aircraft and time
    cuts = np.unique(np.random.default_rng(3).integers(1, ordered.height, 60))
    blocks = [ordered.slice(int(a), int(b - a)) for a, b in zip(np.r_[0, cuts], np.r_[cuts, ordered.height])]
    mixed = pl.concat([blocks[k] for k in np.random.default_rng(4).permutation(len(blocks))])
    assert not mixed.equals(ordered)
    assert _point_order(mixed) is not None  # no tie left: merged, not sorted by every key
    assert in_point_order(mixed).equals(ordered)
    tied = pl.concat([mixed, mixed.head(3).with_columns(pl.col("latitude") - 0.5)])
    assert _point_order(tied) is None
    assert in_point_order(tied).equals(tied.sort(["icao24", "timestamp", "latitude", "longitude"]))


def test_points_read_by_polars_are_the_querys_rows_and_mixed_schemas_go_to_duckdb(tmp_path: Path, archive: Path):
    """`points_for` reads the rows with Polars' Parquet reader where every file has one schema
    (`_scanned`): the query's rows, windows and address spelling included; where the files'
    schemas differ (a file written before the schema extension beside one after), DuckDB's
    union_by_name reads them, nulls where a file lacks a column."""
    from tailwatch.engines.duckdb import _scanned, _scope

    start, end = datetime(2025, 2, 5, 0, 0), datetime(2025, 2, 5, 6, 0, tzinfo=timezone.utc)
    for asked, t0, t1 in ((["AC671B ", "8467d8"], start, end), (None, start, None), (["ac671b"], None, end)):
        files = _scope(archive, asked, t0, t1)[0]
        assert _scanned(files, asked, start.replace(tzinfo=timezone.utc) if t0 else None, t1) is not None
        got = points_for(archive, asked, t0, t1)
        assert got.height > 0 and got.equals(_ordered_by_query(archive, asked, t0, t1))
    mixed = tmp_path / "mixed" / "date=2025-02-05"
    mixed.mkdir(parents=True)
    ac = points_for(archive, ["ac671b"])
    ac.head(1000).select(list(POINT_SCHEMA)).write_parquet(mixed / "part-legacy.parquet")
    ac.slice(1000).write_parquet(mixed / "part-new.parquet")
    files = _scope(tmp_path / "mixed", None, None, None)[0]
    assert len(files) == 2 and _scanned(files, None, None, None) is None
    got = points_for(tmp_path / "mixed")
    assert got.equals(_ordered_by_query(tmp_path / "mixed", None)) and got.height == ac.height
    assert got["new_leg"].null_count() >= 1000 and got.drop("new_leg", *EXTENSION).equals(ac.drop("new_leg", *EXTENSION))
