"""`phase_events` on real OpenSky data (traffic's quickstart collection, Paris area): every
take-off and landing has ground or low-altitude evidence, none is a guess at cruise level,
and a recent window of points (the live watcher's use) gives the same events."""

from __future__ import annotations

import gzip
from datetime import timedelta

import polars as pl
import pytest

from tailwatch.geo.airports import airport
from tailwatch.itinerary.landings import EVENT_SCHEMA, LOW_AGL_FT, phase_events
from tailwatch.schema import conform

PARIS = {"LFPG", "LFPO", "LFPB", "LFOB", "LFPN", "LFPV", "LFOX", "LFPT", "LFPM", "LFPC"}


@pytest.fixture(scope="module")
def quickstart(traffic_samples):
    raw = gzip.open(traffic_samples / "collections" / "quickstart.json.gz").read()
    frame = pl.read_json(raw).with_columns(pl.from_epoch("timestamp", "ms").dt.replace_time_zone("UTC"))
    return conform(frame, source="opensky")


@pytest.fixture(scope="module")
def events(quickstart):
    return phase_events(quickstart)


def test_columns_and_evidence(events):
    assert list(events.schema)[:7] == ["icao24", "timestamp", "kind", "airport", "distance_km", "altitude", "evidence"]
    assert dict(events.schema) == EVENT_SCHEMA
    assert events.height > 150
    assert set(events["kind"]) == {"takeoff", "landing"}
    assert set(events["evidence"]) <= {"ground", "touch-and-go", "low-climb", "low-descent"}
    assert events.filter(pl.col("evidence") == "ground").height > 50


def test_no_landing_without_low_or_ground_evidence(events):
    # the reference library's failure mode: an airport called a landing at 32,750 ft
    for row in events.iter_rows(named=True):
        if row["airport"] is None:
            assert row["evidence"] in ("ground", "touch-and-go")
            continue
        elev = airport(row["airport"])["elevation_ft"] or 0
        if row["evidence"].startswith("low"):
            assert row["altitude"] - elev <= LOW_AGL_FT
        assert row["distance_km"] <= 10.0
        assert (row["altitude"] or 0) < 5_000
    assert set(events["airport"].drop_nulls()) <= PARIS


def test_tracks_cut_at_altitude_have_no_events(quickstart):
    # every track starts and ends above 15,000 ft, many of them right over Paris airports
    high = quickstart.filter(pl.col("altitude") > 15_000)
    assert high["icao24"].n_unique() > 50
    assert phase_events(high).height == 0


def test_recent_window_gives_the_same_events(quickstart, events):
    end = quickstart["timestamp"].max()
    window = quickstart.filter(pl.col("timestamp") > end - timedelta(minutes=30))
    recent = phase_events(window)
    # events well inside the window are found the same way from the window alone
    inner = events.filter(pl.col("timestamp") > end - timedelta(minutes=25), pl.col("evidence") == "ground")
    got = recent.filter(pl.col("evidence") == "ground").select("icao24", "kind", "airport")
    assert inner.height > 5
    assert inner.select("icao24", "kind", "airport").join(got, on=["icao24", "kind", "airport"], how="anti").height == 0


def test_unsorted_input_and_empty_input(quickstart, events):
    shuffled = quickstart.sample(fraction=1.0, shuffle=True, seed=3)
    assert phase_events(shuffled).equals(events)
    assert phase_events(quickstart.clear()).height == 0


def test_a_lean_live_window_works(quickstart, events):
    lean = quickstart.select("timestamp", "icao24", "latitude", "longitude", "altitude", "groundspeed", "onground")
    got = phase_events(lean)
    assert got.filter(pl.col("evidence") == "ground").height == events.filter(pl.col("evidence") == "ground").height
