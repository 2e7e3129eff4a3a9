"""Went dark / position withheld: the SIMULATED scenario through the archive and the itinerary,
and the heard-minutes table on a real capture."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import scan, write_frames
from tailwatch.heard import HEARD_SCHEMA
from tailwatch.hiding.dark import withheld
from tailwatch.hiding.heard import intervals
from tailwatch.schema import ARCHIVE_SCHEMA
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
    # position messages (TC 5-18, 20-22: rs1090's BDS 0,5 and 0,6) per minute, decoded or not
    sent = ref.filter(pl.col("bds").is_in(["05", "06"])).group_by((pl.col("timestamp") // 60).cast(pl.Int64).alias("m")).agg(
        pl.len().alias("s"))
    sent = per_minute.join(sent, on="m", how="left").with_columns(pl.col("s").fill_null(0))
    assert got["position_messages"].to_list() == sent["s"].to_list()
    assert (got["positions"] <= got["position_messages"]).all()
    assert got["positions"][0] > 0  # taxi at CDG, no receiver given: placed all the same (modes.surface)
    assert heard["messages"].sum() == 57_793 and heard["positions"].sum() == summary.points
    # re-ingesting writes the same files: nothing doubles
    ingest_files([path], tmp_path / "a")
    assert read_heard(tmp_path / "a").equals(heard)
    spans = intervals(heard)
    assert spans.height >= 1 and spans["messages"].sum() == 57_793
    # the 16 min of taxi at CDG (no receiver given) are positions, never "position withheld"
    (itin,), _ = itineraries(tmp_path / "a", None, ["393322"], None, None, None)
    assert not [d for d in itin.get("dark_intervals") or [] if d["kind"] == "position_withheld"]


def test_old_archive_without_heard_table(tmp_path: Path) -> None:
    assert read_heard(tmp_path / "none").height == 0


def _minutes(n: int, positions: int, position_messages: int | None) -> pl.DataFrame:
    start = datetime(2024, 7, 6, 6, 40, tzinfo=timezone.utc)
    minute = [start + timedelta(minutes=k) for k in range(n)]
    frame = pl.DataFrame({
        "icao24": ["393322"] * n, "minute": minute, "first": minute,
        "last": [m + timedelta(seconds=59) for m in minute],
        "messages": [60] * n, "positions": [positions] * n, "source": ["beast"] * n,
    }, schema_overrides={"messages": pl.UInt32, "positions": pl.UInt32})
    if position_messages is not None:
        frame = frame.with_columns(pl.lit(position_messages, pl.UInt32).alias("position_messages"))
    return frame.with_columns(pl.col("minute", "first", "last").cast(HEARD_SCHEMA["minute"]))


def test_minutes_with_position_messages_are_never_withheld() -> None:
    track = pl.DataFrame(schema=ARCHIVE_SCHEMA)
    sending = _minutes(16, positions=0, position_messages=80)  # sent, none decoded (no reference)
    assert withheld(track, sending) == []
    silent = _minutes(16, positions=0, position_messages=0)  # heard, no position message at all
    (found,) = withheld(track, silent)
    assert found["kind"] == "position_withheld" and found["evidence"] == "observed"
    assert "none with a position message" in found["reasons"][0]
    # minutes of a heard file written before the column existed: the decoded positions decide
    old = _minutes(16, positions=0, position_messages=None)
    assert len(withheld(track, old)) == 1 and withheld(track, _minutes(16, 5, None)) == []


def test_heard_files_without_position_messages_still_read(tmp_path: Path) -> None:
    old = _minutes(3, positions=4, position_messages=None)
    folder = tmp_path / "a" / "heard" / "date=2024-07-06"
    folder.mkdir(parents=True)
    old.write_parquet(folder / "old.parquet")
    write_heard(tmp_path / "a", _minutes(3, positions=1, position_messages=9).with_columns(pl.lit("avr").alias("source")),
                "new")
    heard = read_heard(tmp_path / "a").sort("source")
    assert heard["source"].to_list() == ["avr"] * 3 + ["beast"] * 3
    assert heard["position_messages"].to_list() == [9, 9, 9, 4, 4, 4]  # the old file falls back to positions


def test_undecodable_surface_messages_of_a_real_capture_are_not_withheld(traffic_samples: Path) -> None:
    """The 16 min of taxi at CDG as lone odd surface messages and replies: nothing can be decoded
    (no pair, no reference), yet the aircraft was sending its position: not "withheld"."""
    from modes_frames import frames_of
    from tailwatch.ingest.modes.decoder import ModeSDecoder

    ref = pl.read_ndjson(traffic_samples / "rs1090" / "full_flight_short.jsonl", infer_schema_length=None)
    first_air = ref.with_row_index().filter(pl.col("bds") == "05")["index"][0]
    taxi = ref.head(first_air)
    odd = taxi["frame"].str.slice(13, 1).str.to_integer(base=16).to_numpy() & 4 > 0
    bds = taxi["bds"].fill_null("").to_numpy()
    keep = ((bds == "06") & odd) | ((bds != "06") & (bds != "05"))
    taxi = taxi.filter(pl.Series(keep))
    msg, length = frames_of(taxi["frame"].to_list())
    decoder = ModeSDecoder(record_heard=True, source="raw-jsonl")
    assert decoder.decode(msg, length, taxi["timestamp"].to_numpy()).height == 0
    heard = decoder.take_heard()
    assert heard["positions"].sum() == 0 and heard["position_messages"].sum() > 500
    assert (heard["last"].max() - heard["first"].min()).total_seconds() > 900
    assert withheld(pl.DataFrame(schema=ARCHIVE_SCHEMA), heard) == []


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


def test_track_columns_read_straight_are_the_selects(traffic_samples) -> None:
    """`dark.track_columns` read from the columns gives the arrays its one select gives (dtypes,
    NaN for nulls, bits), on the real quickstart day (Float32 altitudes and speeds with nulls), and
    takes the select where `onground` has nulls."""
    from tailwatch.hiding import dark
    from tailwatch.ingest.pipeline import read_file

    day, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    day = day.head(20_000)
    assert day["altitude"].null_count() and day["groundspeed"].null_count()

    nulls = day.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("onground"))
                             .alias("onground"))
    for track in (day, nulls, day.head(0)):
        got, want = dark.track_columns(track), dark.selected_columns(track)
        assert got.keys() == want.keys()
        for k in want:
            assert got[k].dtype == want[k].dtype and got[k].tobytes() == want[k].tobytes(), k
