"""Trips, like-with-like distances and the points' own caveats, on real recordings.

- A silence over 48 h (three days, 466 days) splits the track into trips: no stop is inferred in
  it, it never reaches the per-gap inference nor the hiding step, and the run stays small in
  memory and time (the 466-day silence once asked the hiding step for a 100 GiB array).
- The route compares only the legs with both ends known (the readsb trace of N899DN, whose first
  origin is unknown, once read "flown 8,256 km against 1,092 km direct").
- `time_assumed` and `position_source` reach the JSON and every format.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.app.output import emit
from tailwatch.ingest.pipeline import read_file
from tailwatch.itinerary import walk
from tailwatch.itinerary.core import Surroundings, itinerary_of, silences_of
from tailwatch.itinerary.model import TIME_ASSUMED_NOTE
from tailwatch.itinerary.trips import UNTRACKED_AFTER_S
from tailwatch.schema import POSITION_SOURCES

DAY = timedelta(days=1)


def _cruise(frame: pl.DataFrame, lo: float = 0.3, hi: float = 0.7) -> pl.DataFrame:
    """The middle of a flight (its ends cut: airborne on both sides, as under sparse coverage)."""
    frame = frame.sort("timestamp")
    return frame.slice(int(frame.height * lo), int(frame.height * (hi - lo)))


@pytest.fixture(scope="module")
def hbjmf(traffic_samples: Path) -> pl.DataFrame:
    """FR24's HB-JMF (A343, 4b1901) flight, as the reader gives it."""
    frame, _ = read_file(traffic_samples / "fr24" / "34a8254b.json")
    return frame.sort("timestamp")


@pytest.fixture(scope="module")
def long_silences(hbjmf: pl.DataFrame):
    """Three cruise stretches of one aircraft: day 0, +3 days, +469 days (silences of about 3 and 466
    days between them); another aircraft flying the
    same path inside the 466-day silence (coverage evidence the hiding step would look at)."""
    mid = _cruise(hbjmf)
    shifted = [mid.with_columns(pl.col("timestamp") + k * DAY) for k in (0, 3, 469)]
    points = pl.concat(shifted).sort("timestamp")
    others = mid.with_columns(pl.col("timestamp") + 200 * DAY, pl.lit("abcdef").alias("icao24"))
    return points, others


def test_silences_over_the_bound_split_trips_without_stops(long_silences, monkeypatch) -> None:
    points, others = long_silences
    seen_gaps: list[float] = []
    real = walk.infer_gap

    def recording(left, right, *args, **kwargs):
        seen_gaps.append((right.time - left.time).total_seconds())
        return real(left, right, *args, **kwargs)

    monkeypatch.setattr(walk, "infer_gap", recording)
    boxes = silences_of(points, None, None)
    tracemalloc.start()
    started = time.perf_counter()
    doc, itin = itinerary_of(points, Surroundings(aircraft={"icao24": "4b1901", "typecode": "A343"}, others=others))
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # split: three trips, two untracked silences of 3 and ~466 days, said in the notes
    assert [leg["trip"] for leg in doc["legs"]] == [0, 1, 2]
    assert [round(u["days"]) for u in doc["untracked"]] == [3, 466]
    assert [u["trips"] for u in doc["untracked"]] == [[0, 1], [1, 2]]
    assert sum("not tracked for 466 days" in n for n in doc["notes"]) == 1
    assert all(sum(u["reason"] in n for n in doc["notes"]) == 1 for u in doc["untracked"])
    assert [t["legs"] for t in doc["route"]["trips"]] == [[0], [1], [2]]
    # no stop inferred over them: the inference never saw a silence over the bound, no stop's
    # window spans one, no leg lists one as a gap
    assert seen_gaps == [] or max(seen_gaps) < UNTRACKED_AFTER_S
    for stop in doc["stops"]:
        if stop["evidence"] != "observed" and stop["window_start"] and stop["window_end"]:
            for u in doc["untracked"]:
                assert not (stop["window_start"] <= u["start"] and stop["window_end"] >= u["end"])
    for leg in doc["legs"]:
        assert all(g["start"] >= leg["first_point"] and g["end"] <= leg["last_point"] for g in leg["gaps"])
    # nor the hiding step: no enrichment failed, its boxes and intervals stay inside trips
    assert not [n for n in doc["notes"] if "enrichment failed" in n]
    assert "dark_intervals" in doc
    assert all((b[1] - b[0]).total_seconds() < UNTRACKED_AFTER_S for b in boxes)
    # bounded by the points, not the silence: NumPy's allocations traced, and the clock
    assert peak < 100 * 2**20, f"peak traced allocation {peak / 2**20:.0f} MiB"
    assert took < 30.0
    # each trip is the same itinerary its points give alone
    alone, _ = itinerary_of(points.filter(pl.col("timestamp") < points["timestamp"].min() + DAY),
                            Surroundings(aircraft={"icao24": "4b1901", "typecode": "A343"}))
    first = doc["legs"][0]
    assert (first["origin"], first["destination"], first["n_points"]) == (
        alone["legs"][0]["origin"], alone["legs"][0]["destination"], alone["legs"][0]["n_points"])
    assert itin.points["trip"].unique().sort().to_list() == [0, 1, 2]


def test_trips_apart_in_every_format(long_silences, tmp_path: Path) -> None:
    points, others = long_silences
    doc, itin = itinerary_of(points, Surroundings(others=others))
    frames = {doc["aircraft"]["icao24"]: itin.points}
    md = emit("md", [doc], frames, None)
    assert "**not tracked for 466 days (" in md and "trip 3 begins" in md and "Departure of trip 2" in md
    assert " ‖ not tracked for 2.7 days (" in md and "### End of trip 1:" in md  # the route line, the trip's end
    geo = json.loads(emit("geojson", [doc], frames, None))
    untracked = [f for f in geo["features"] if f["properties"]["kind"] == "untracked"]
    assert [f["properties"]["trip"] for f in untracked] == [1, 2] and all(f["geometry"] is None for f in untracked)
    assert "not tracked for 466 days" in emit("kml", [doc], frames, None)
    emit("html", [doc], frames, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.count('class="untracked"') == 2 and "not tracked for 466 days" in page
    emit("csv", [doc], frames, tmp_path / "x.csv")
    legs = pl.read_csv(tmp_path / "x.legs.csv")
    assert legs["trip"].to_list() == [0, 1, 2]


def test_a_parked_aircraft_seen_days_apart_is_two_visits(hbjmf: pl.DataFrame) -> None:
    """Ground at the arrival airport, then ground there again four days later: nothing says it
    stayed; two trips, and no leg between them."""
    flight = hbjmf
    last = flight["timestamp"].max()
    ground = flight.filter((pl.col("timestamp") >= last - timedelta(minutes=3)) & (pl.col("altitude") <= 0))
    assert ground.height > 3
    later = ground.with_columns(pl.col("timestamp") + 4 * DAY)
    doc, _ = itinerary_of(pl.concat([flight, later]))
    assert len(doc["untracked"]) == 1 and round(doc["untracked"][0]["days"]) == 4
    assert {leg["trip"] for leg in doc["legs"]} == {0}
    assert any(n.startswith("no flight: on the ground at") for n in doc["notes"])


@pytest.fixture(scope="module")
def n899dn(traffic_samples: Path):
    """readsb's full trace of N899DN (ac671b): four legs, the first one's origin not in the data.
    Each point's position source from the trace's own `type` field when the reader does not give it."""
    path = traffic_samples / "readsb" / "trace_full_ac671b.json"
    frame, _ = read_file(path)
    if "position_source" not in frame.columns or frame["position_source"].null_count() == frame.height:
        raw = json.loads(path.read_text())
        t0 = raw["timestamp"]
        kind = pl.DataFrame({"t": [t0 + p[0] for p in raw["trace"]],
                             "type": [p[9] if len(p) > 9 else None for p in raw["trace"]]})
        kind = kind.with_columns(
            pl.from_epoch((pl.col("t") * 1e6).round().cast(pl.Int64), "us").dt.replace_time_zone("UTC").alias("timestamp"),
            pl.when(pl.col("type").str.starts_with("adsb")).then(pl.lit("adsb"))
            .when(pl.col("type").str.starts_with("mlat")).then(pl.lit("mlat"))
            .when(pl.col("type").str.starts_with("tisb")).then(pl.lit("tisb"))
            .when(pl.col("type") == "adsc").then(pl.lit("adsc"))
            .when(pl.col("type").is_not_null()).then(pl.lit("other"))
            .alias("position_source"))
        frame = frame.drop("position_source", strict=False).join(
            kind.select("timestamp", "position_source").unique("timestamp"), on="timestamp", how="left")
    doc, itin = itinerary_of(frame.sort("timestamp"))
    return doc, itin, frame


def test_route_detour_counts_only_legs_with_both_ends_known(n899dn, tmp_path: Path) -> None:
    doc, itin, _ = n899dn
    legs, route = doc["legs"], doc["route"]
    assert legs[0]["origin"] is None and all(leg["both_ends_known"] for leg in legs[1:])
    closed = legs[1:]
    assert route["legs_compared"] == 3 and route["legs_left_out"] == 1
    assert route["direct_km"] == pytest.approx(sum(leg["great_circle_km"] for leg in closed), abs=0.2)
    assert route["flown_km"] == pytest.approx(sum(leg["flown_km"] for leg in closed), abs=0.2)
    assert route["flown_km_all_legs"] == pytest.approx(sum(leg["flown_km"] for leg in legs), abs=0.2)
    # like with like: the route is within a few percent of its great circles, as each leg is
    assert 1.0 <= route["flown_km"] / route["direct_km"] < 1.05
    for leg in legs:
        assert leg["detour_km"] == pytest.approx(leg["flown_km"] - leg["great_circle_km"], abs=0.2)
    sentence = route["detour"]
    assert sentence.startswith(f"flown {route['flown_km']:,.0f} km against {route['direct_km']:,.0f} km direct, "
                               "over the 3 legs with both ends known; 1 leg with an unknown end left out")
    assert "against 1,092 km direct" not in sentence
    frames = {doc["aircraft"]["icao24"]: itin.points}
    md = emit("md", [doc], frames, None)
    emit("html", [doc], frames, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert sentence in md
    assert sentence.replace("'", "&#x27;") in page or sentence in page


def test_position_sources_per_leg(n899dn, tmp_path: Path) -> None:
    doc, itin, frame = n899dn
    total = 0
    for i, leg in enumerate(doc["legs"]):
        pts = itin.points.filter(pl.col("leg") == i)
        said = pts["position_source"].drop_nulls()
        assert set(leg["position_sources"]) <= set(POSITION_SOURCES)
        assert sum(leg["position_sources"].values()) == said.len()
        total += said.len()
    assert total > 1000 and doc["legs"][0]["position_sources"].get("adsb", 0) > 0
    frames = {doc["aircraft"]["icao24"]: itin.points}
    md = emit("md", [doc], frames, None)
    first = doc["legs"][0]["position_sources"]
    assert ", ".join(f"{k} {v:,}" for k, v in first.items()) in md
    emit("html", [doc], frames, tmp_path / "r.html")
    assert "positions by source" in (tmp_path / "r.html").read_text()
    # a source that does not say: {} and "not stated"
    bare, _ = itinerary_of(frame.with_columns(pl.lit(None, dtype=pl.String).alias("position_source")))
    assert all(leg["position_sources"] == {} for leg in bare["legs"])
    assert "not stated by the source" in emit("md", [bare], {}, None)


def test_times_assumed_said_in_every_format(hbjmf: pl.DataFrame, tmp_path: Path) -> None:
    """A capture without timestamps (times from the recording file's time) says so everywhere."""
    points = hbjmf.with_columns(pl.lit(True).alias("time_assumed"))
    doc, itin = itinerary_of(points)
    assert doc["time_assumed"] is True and all(leg["time_assumed"] for leg in doc["legs"])
    assert any(n.startswith(TIME_ASSUMED_NOTE) and f"{points.height:,} of {points.height:,} positions" in n
               for n in doc["notes"])
    frames = {doc["aircraft"]["icao24"]: itin.points}
    assert TIME_ASSUMED_NOTE in emit("md", [doc], frames, None)
    emit("html", [doc], frames, tmp_path / "r.html")
    assert TIME_ASSUMED_NOTE.replace("'", "&#x27;") in (tmp_path / "r.html").read_text()
    geo = json.loads(emit("geojson", [doc], frames, None))
    legs = [f for f in geo["features"] if f["properties"]["kind"] == "leg"]
    assert legs and all(f["properties"]["time_assumed"] and f["properties"]["time_note"] == TIME_ASSUMED_NOTE
                        for f in legs)
    assert TIME_ASSUMED_NOTE.replace("'", "&apos;") in emit("kml", [doc], frames, None) or \
        TIME_ASSUMED_NOTE in emit("kml", [doc], frames, None)
    emit("csv", [doc], frames, tmp_path / "x.csv")
    assert pl.read_csv(tmp_path / "x.legs.csv")["time_assumed"].to_list() == [TIME_ASSUMED_NOTE] * len(doc["legs"])
    assert pl.read_csv(tmp_path / "x.points.csv")["time_assumed"].all()
    # and a recording with its own times says nothing of the kind
    plain, _ = itinerary_of(hbjmf)
    assert "time_assumed" not in plain and not any(TIME_ASSUMED_NOTE in n for n in plain["notes"])


def test_real_recordings_years_apart(traffic_samples: Path) -> None:
    """traffic's `switzerland` (2018) and `quickstart` (2021) collections both hold 392ae2 and, with
    `noisy_landing`, 3c664e: the silences of three years and 466 days once got stop candidates and
    a hiding step that asked for 250 GiB. Read as `--input` reads them, every other aircraft in the
    files as coverage evidence."""
    from tailwatch.app.itineraries import itineraries_from_files

    files = [traffic_samples / "collections" / "switzerland.json.gz",
             traffic_samples / "collections" / "quickstart.json.gz",
             traffic_samples / "noisy" / "noisy_landing.json.gz"]
    started = time.perf_counter()
    docs, frames = itineraries_from_files(files, ["392ae2", "3c664e"], None, None, None)
    took = time.perf_counter() - started
    by_hex = {d["aircraft"]["icao24"]: d for d in docs}
    for icao24, days in (("392ae2", 1163), ("3c664e", 467)):
        doc = by_hex[icao24]
        assert [round(u["days"]) for u in doc["untracked"]] == [days]
        assert not [n for n in doc["notes"] if "enrichment failed" in n]
        start, end = doc["untracked"][0]["start"], doc["untracked"][0]["end"]
        for stop in doc["stops"]:  # nothing inferred in the silence: no window reaches into it
            if stop["evidence"] != "observed":
                assert not (stop["window_start"] and stop["window_start"] < end and
                            (stop["window_end"] or stop["window_start"]) > start), stop
        assert {leg["trip"] for leg in doc["legs"]} == {0, 1}
        assert all(i["end"] is None or i["end"] <= start or i["start"] >= end for i in doc["dark_intervals"])
    assert took < 120.0


def test_heard_minutes_reach_one_trip_each(hbjmf: pl.DataFrame) -> None:
    """Replies heard without positions inside a five-day silence are reported once (position
    withheld, observed), in the trip they follow; the silence itself gets no dark interval."""
    from tailwatch.heard import HEARD_SCHEMA

    mid = _cruise(hbjmf)
    points = pl.concat([mid, mid.with_columns(pl.col("timestamp") + 5 * DAY)])
    heard_from = mid["timestamp"].max() + DAY
    minutes = [heard_from + timedelta(minutes=k) for k in range(20)]
    heard = pl.DataFrame({"icao24": ["4b1901"] * 20, "minute": minutes, "first": minutes,
                          "last": [m + timedelta(seconds=50) for m in minutes], "messages": [12] * 20,
                          "positions": [0] * 20, "source": ["beast"] * 20, "position_messages": [0] * 20},
                         schema=HEARD_SCHEMA)
    doc, _ = itinerary_of(points, Surroundings(heard=heard))
    assert len(doc["untracked"]) == 1
    withheld = [i for i in doc["dark_intervals"] if i["kind"] == "position_withheld"]
    assert len(withheld) == 1 and withheld[0]["messages"] == 240
    assert withheld[0]["leg"] == 0  # after trip 0's last position
    assert not [i for i in doc["dark_intervals"] if i["kind"] == "dark_in_coverage"]


def test_trip_slices_are_the_trip_partitions(long_silences) -> None:
    """The hiding step's trips (`core._trip_slices`): slices of a sorted track are exactly the
    partitions by trip, in order; a track out of order or with a null trip is partitioned."""
    from tailwatch.itinerary.core import _trip_slices
    from tailwatch.itinerary.trips import with_trips

    points, _ = long_silences
    track = with_trips(points)
    assert track["trip"].n_unique() == 3
    cases = [track, track.filter(pl.col("trip") == 1), track.head(0),
             track.reverse(),  # trips fall: partitioned
             track.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("trip"))
                                .alias("trip"))]
    for frame in cases:
        want = frame.partition_by("trip", maintain_order=True)
        got = _trip_slices(frame)
        assert len(got) == max(len(want), 1)
        for a, b in zip(got, want):
            assert a.equals(b)
    assert len(_trip_slices(track)) == 3


def test_reach_of_a_chunk_is_the_union_of_each_aircrafts(long_silences, hbjmf, traffic_samples) -> None:
    """`core.reach_of_many` (one pass over a chunk) gives the keys asking `reach_of` aircraft by
    aircraft gives: three trips of one aircraft, another with heard minutes before, inside and
    after its silences (each trip keeps the minutes it follows), the real switzerland recording's
    aircraft, with and without a window end; and an aircraft whose cut is out of order."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from tailwatch.heard import HEARD_SCHEMA
    from tailwatch.itinerary.batch import prepare
    from tailwatch.itinerary.core import reach_of, reach_of_many

    points, _ = long_silences
    mid = _cruise(hbjmf, 0.2, 0.9).with_columns(pl.lit("4b1902").alias("icao24"))
    heard_track = pl.concat([mid, mid.with_columns(pl.col("timestamp") + 5 * DAY)])
    t0 = mid["timestamp"].min()
    minutes = [t0 - timedelta(minutes=30), t0 + timedelta(minutes=40), mid["timestamp"].max() + timedelta(minutes=10),
               t0 + 5 * DAY + timedelta(minutes=50)]
    heard = pl.DataFrame({"icao24": ["4b1902"] * 4, "minute": minutes, "first": minutes,
                          "last": [m + timedelta(seconds=50) for m in minutes], "messages": [12] * 4,
                          "positions": [0] * 4, "source": ["beast"] * 4, "position_messages": [0] * 4},
                         schema=HEARD_SCHEMA)
    swiss, _ = read_file(traffic_samples / "collections" / "switzerland.json.gz")
    chunk = pl.concat([points, heard_track, swiss.select(points.columns)], how="vertical_relaxed")
    prepared = prepare(chunk)
    assert len(prepared) > 20
    own = {h: (heard if h == "4b1902" else None) for h in prepared}
    plain = reach_of_many(prepared, dict.fromkeys(prepared), None)
    assert not np.array_equal(plain, reach_of_many(prepared, own, None))  # the heard minutes count
    for end in (None, datetime(2030, 1, 1, tzinfo=timezone.utc), points["timestamp"].max() + timedelta(minutes=5)):
        each = [reach_of(share.cut, own[h], end, share) for h, share in prepared.items()]
        want = np.unique(np.concatenate(each))
        assert want.size > 100
        assert np.array_equal(reach_of_many(prepared, own, end), want)
    one = next(iter(prepared))
    shuffled = dict(prepared, **{one: replace(prepared[one], cut=prepared[one].cut.reverse())})
    want = np.unique(np.concatenate([reach_of(s.cut, own[h], None, s) for h, s in shuffled.items()]))
    assert np.array_equal(reach_of_many(shuffled, own, None), want)
