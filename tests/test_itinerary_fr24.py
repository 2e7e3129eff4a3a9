"""The four real Flightradar24 flights in traffic's samples: right from the full tracks, and
still right (as inferred) once the low points near both ends and a mid-flight slice are gone.

Truth is FR24's own origin/destination in each file. Until the FR24 reader lands
(`tailwatch.ingest.fr24`), the files are read by the small local function below.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from tailwatch.geo.geodesy import haversine_km
from tailwatch.itinerary.build import build_itinerary
from tailwatch.schema import conform

FLIGHTS = ["2ce4f83f", "3376ab31", "34a8254b", "372355e5"]


def _truth(path: Path) -> tuple[str, str, str]:
    flight = json.loads(path.read_text())["result"]["response"]["data"]["flight"]
    ap = flight["airport"]
    return ap["origin"]["code"]["icao"], ap["destination"]["code"]["icao"], flight["aircraft"]["model"]["code"]


def _read_local(path: Path) -> pl.DataFrame:
    flight = json.loads(path.read_text())["result"]["response"]["data"]["flight"]
    track = flight["track"]
    frame = pl.DataFrame({
        "timestamp": [p["timestamp"] for p in track],
        "latitude": [p["latitude"] for p in track],
        "longitude": [p["longitude"] for p in track],
        "altitude": [p["altitude"]["feet"] for p in track],
        "groundspeed": [p["speed"]["kts"] for p in track],
        "track": [p["heading"] for p in track],
        "vertical_rate": [p["verticalSpeed"]["fpm"] for p in track],
        "squawk": [str(p["squawk"]) for p in track],
    }).with_columns(
        pl.from_epoch("timestamp", "s").dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
        pl.lit(flight["aircraft"]["identification"]["modes"].lower()).alias("icao24"),
        pl.lit(flight["identification"]["callsign"]).alias("callsign"),
    )
    return conform(frame, source="fr24")


def _read(path: Path) -> pl.DataFrame:
    if importlib.util.find_spec("tailwatch.ingest.fr24") is not None:
        from tailwatch.ingest.pipeline import read_file

        frame, _ = read_file(path)
        if frame.height:
            return frame
    return _read_local(path)


def degrade(points: pl.DataFrame) -> pl.DataFrame:
    """Drop every point below 3,000 ft within 40 km of either end, and a mid-flight slice of
    90 minutes (a third of the flight when it is shorter than 4.5 h: RJCC→RJTT lasts 84 min)."""
    lat, lon = points["latitude"].to_numpy(), points["longitude"].to_numpy()
    near = (haversine_km(lat[0], lon[0], lat, lon) < 40) | (haversine_km(lat[-1], lon[-1], lat, lon) < 40)
    low = points["altitude"].fill_null(0).to_numpy() < 3000
    kept = points.filter(pl.Series(~(near & low)))
    t0, t1 = kept["timestamp"].min(), kept["timestamp"].max()
    mid = t0 + (t1 - t0) / 2
    half = min(timedelta(minutes=45), (t1 - t0) / 6)
    return kept.filter(~pl.col("timestamp").is_between(mid - half, mid + half))


@pytest.fixture(scope="module")
def fr24(traffic_samples):
    out = {}
    for name in FLIGHTS:
        path = traffic_samples / "fr24" / f"{name}.json"
        out[name] = (_read(path), *_truth(path))
    return out


@pytest.mark.parametrize("name", FLIGHTS)
def test_full_track_is_observed(fr24, name):
    points, origin, destination, typecode = fr24[name]
    itin = build_itinerary(points, typecode=typecode).to_json()
    assert itin["schema"] == "tailwatch.itinerary/1"
    assert len(itin["legs"]) == 1
    leg = itin["legs"][0]
    assert (leg["origin"]["icao"], leg["destination"]["icao"]) == (origin, destination)
    assert leg["origin_evidence"] == leg["destination_evidence"] == "observed"
    assert leg["takeoff"] and leg["landing"] and leg["confidence"] == 1.0
    assert leg["takeoff"] < leg["landing"]
    assert leg["great_circle_km"] > 500 and leg["flown_km"] >= leg["great_circle_km"] * 0.98
    assert itin["route"]["airports"] == [origin, destination]


@pytest.mark.parametrize("name", FLIGHTS)
def test_degraded_track_is_inferred_right_without_invented_stops(fr24, name):
    points, origin, destination, typecode = fr24[name]
    degraded = degrade(points)
    assert degraded.height < points.height * 0.9
    assert degraded["altitude"].drop_nulls().min() >= 0
    itin = build_itinerary(degraded, typecode=typecode).to_json()
    assert len(itin["legs"]) == 1, [leg["destination"] for leg in itin["legs"]]  # no stop invented mid-flight
    leg = itin["legs"][0]
    assert leg["origin"]["icao"] == origin
    assert leg["destination"]["icao"] == destination
    assert leg["origin_evidence"] == leg["destination_evidence"] == "inferred"
    assert 0.0 < leg["confidence"] < 1.0
    assert leg["takeoff"] is None and leg["landing"] is None  # not seen, not made up
    assert leg["gaps"] and any("flown straight through" in r or "taken as flown through" in r for r in leg["reasons"])
    assert any(origin in r for r in leg["reasons"]) and any(destination in r for r in leg["reasons"])
    assert leg["alternatives"], "runners-up are reported"
