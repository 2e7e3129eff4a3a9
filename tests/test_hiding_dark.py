"""Went dark / position withheld: the SIMULATED scenario through the archive and the itinerary,
and the heard-minutes table on a real capture."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import scan, write_frames
from tailwatch.hiding.heard import intervals
from tailwatch.heard_store import read_heard, write_heard
from tailwatch.ingest.pipeline import ingest_files
from tailwatch.app.output import emit
from tailwatch.app.itineraries import itineraries
from tailwatch.sim.hiding import scenario


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    points, truth = scenario()
    archive = tmp_path_factory.mktemp("hiding") / "archive"
    write_frames(archive, [points], "sim-hiding")
    write_heard(archive, truth["heard"], "sim-hiding")
    wanted = [truth["dark_icao24"], truth["leaver_icao24"], truth["withholder_icao24"]]
    itins, frames = itineraries(archive, None, wanted, None, None, None)
    return truth, {i["aircraft"]["icao24"]: i for i in itins}, frames, archive


def test_dark_interval_bounds_within_a_minute(world) -> None:
    truth, by_hex, _, _ = world
    found = by_hex[truth["dark_icao24"]]["dark_intervals"]
    dark = [d for d in found if d["kind"] == "dark_in_coverage"]
    assert len(dark) == 1, found
    d = dark[0]
    assert abs((_t(d["start"]) - truth["dark_from"]).total_seconds()) <= 60
    assert abs((_t(d["end"]) - truth["dark_to"]).total_seconds()) <= 60
    assert d["evidence"] == "inferred" and d["leg"] == 0
    assert d["coverage"]["share"] >= 0.75 and d["coverage"]["other_aircraft"] >= 2


def test_leaving_coverage_is_not_dark(world) -> None:
    truth, by_hex, _, _ = world
    assert by_hex[truth["leaver_icao24"]]["dark_intervals"] == []
    # the dark aircraft also ends its track flying out of coverage: that end is not called dark either
    ends = [d for d in by_hex[truth["dark_icao24"]]["dark_intervals"] if d["end"] is None]
    assert ends == []


def test_position_withheld_observed(world) -> None:
    truth, by_hex, _, _ = world
    found = by_hex[truth["withholder_icao24"]]["dark_intervals"]
    assert [d["kind"] for d in found] == ["position_withheld"]
    w = found[0]
    assert w["evidence"] == "observed" and w["messages"] > 100
    assert abs((_t(w["start"]) - truth["withheld_from"]).total_seconds()) <= 60
    assert abs((_t(w["end"]) - truth["withheld_to"]).total_seconds()) <= 60


def test_reports_show_the_intervals(world, tmp_path: Path) -> None:
    truth, by_hex, frames, _ = world
    itins = [by_hex[truth["dark_icao24"]], by_hex[truth["withholder_icao24"]]]
    doc = json.loads(emit("json", itins, frames, None))
    assert doc[0]["dark_intervals"][0]["kind"] == "dark_in_coverage"
    md = emit("md", itins, frames, None)
    assert "went dark inside coverage, *inferred*" in md and "position withheld (heard), *observed*" in md
    emit("html", itins, frames, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.count('class="timeline"') == 2 and "Went dark / position withheld" in page


def test_heard_minutes_of_a_real_capture(traffic_samples: Path, tmp_path: Path) -> None:
    """rs1090's 57,793-frame recording as raw JSON lines: every accepted message counted in its minute."""
    path = traffic_samples / "rs1090" / "full_flight_short.jsonl"
    (summary,) = ingest_files([path], tmp_path / "a")
    heard = read_heard(tmp_path / "a")
    ref = pl.read_ndjson(path, infer_schema_length=None)
    per_minute = ref.group_by((pl.col("timestamp") // 60).cast(pl.Int64).alias("m")).agg(pl.len().alias("n")).sort("m")
    stored = scan(tmp_path / "a").collect()  # positions per minute as the point archive holds them
    stored = stored.group_by((pl.col("timestamp").dt.epoch("s") // 60).alias("m")).agg(pl.len().alias("p"))
    per_minute = per_minute.join(stored, on="m", how="left").with_columns(pl.col("p").fill_null(0))
    got = heard.with_columns((pl.col("minute").dt.epoch("s") // 60).alias("m")).sort("m")
    assert heard["icao24"].n_unique() == 1 and got["m"].to_list() == per_minute["m"].to_list()
    assert got["messages"].to_list() == per_minute["n"].to_list()  # every frame of this clean capture
    # positions where the archive has them (the archive drops exact duplicate fixes)
    assert all(a >= b for a, b in zip(got["positions"], per_minute["p"]))
    assert heard["positions"].sum() - per_minute["p"].sum() == summary.duplicates
    assert got["positions"][0] == 0 and got["messages"][0] > 0  # surface at CDG, no receiver given: heard, no fix
    assert heard["messages"].sum() == 57_793 and heard["positions"].sum() == summary.points
    # re-ingesting writes the same files: nothing doubles
    ingest_files([path], tmp_path / "a")
    assert read_heard(tmp_path / "a").equals(heard)
    spans = intervals(heard)
    assert spans.height >= 1 and spans["messages"].sum() == 57_793


def test_old_archive_without_heard_table(tmp_path: Path) -> None:
    assert read_heard(tmp_path / "none").height == 0


def test_input_files_use_the_other_aircraft_in_them(world, tmp_path: Path) -> None:
    """`tailwatch itinerary --input`: no archive; the other aircraft of the file are the coverage evidence."""
    import subprocess
    import sys

    truth, _, _, archive = world
    points = scan(archive).collect()
    path = tmp_path / "sim.parquet"
    points.write_parquet(path)
    out = subprocess.run([sys.executable, "-m", "tailwatch.cli", "itinerary", "--input", str(path), "--aircraft",
                          truth["dark_icao24"], "--format", "json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    dark = [d for d in doc["dark_intervals"] if d["kind"] == "dark_in_coverage"]
    assert len(dark) == 1 and abs((_t(dark[0]["start"]) - truth["dark_from"]).total_seconds()) <= 60
