"""Physical bounds on what a gap can be said to hold, on real recordings and on constructed tracks:
an aircraft heard at cruise height did not land (take off) at a field nearer than the steepest
plausible descent (climb), and a gap it had time to spend anywhere is not "dark inside coverage"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from tailwatch.hiding.dark import dark_gaps
from tailwatch.itinerary.sides import STEEP_KM_PER_FT, Side, side_fit, turn_fit
from tailwatch.schema import conform

T0 = datetime(2018, 8, 1, 7, 48, tzinfo=timezone.utc)


def _cand(lat: list[float], lon: list[float]) -> dict[str, np.ndarray]:
    n = len(lat)
    return {"lat": np.array(lat), "lon": np.array(lon), "elev": np.zeros(n),
            "rows": pl.DataFrame({"icao": [f"X{i:03d}" for i in range(n)]})}


def test_a_field_inside_the_steepest_descent_does_not_fit_a_cruise_side() -> None:
    # the switzerland recording's 02a18b: last heard at FL370 over Milan, track 162°; Linate lies
    # 45 km ahead, a field on the same line 400 km ahead is reachable
    side = Side(time=T0, lat=45.836, lon=9.105, alt=37_000.0, track=162.0, gs=452.0, vrate=0.0)
    cand = _cand([45.4451, 42.43], [9.27674, 10.75])
    near, far = side_fit(side, True, cand)
    assert 37_000 * STEEP_KM_PER_FT > 75.0  # ~80 km at an 8° path
    assert near < 0.05 and far > 0.5
    near, far = turn_fit(side, True, cand)
    assert near < 0.05 and far > 0.5
    # the side after a gap: first heard at FL360 climbing away from a field 45 km behind is as unlikely
    back = Side(time=T0, lat=45.819, lon=9.049, alt=36_000.0, track=359.0, gs=461.0, vrate=0.0)
    (near,) = side_fit(back, False, _cand([45.4451], [9.27674]))
    assert near < 0.05


def test_low_sides_are_not_faded() -> None:
    side = Side(time=T0, lat=45.60, lon=9.20, alt=4_000.0, track=170.0, gs=200.0, vrate=-800.0)
    (fit,) = side_fit(side, True, _cand([45.4451], [9.27674]))
    assert fit > 0.3  # a descent at 4,000 ft 18 km from the field: the approach, as before


def test_the_real_out_and_back_is_not_landed_next_to_where_it_was_seen(traffic_samples) -> None:
    from tailwatch.app.itineraries import itineraries_from_files

    docs, _ = itineraries_from_files([traffic_samples / "collections" / "switzerland.json.gz"], ["02a18b"], None, None, None)
    (doc,) = docs
    named = [s["airport"]["icao"] for s in doc["stops"] if s["airport"] is not None]
    assert "LIML" not in named, named


def _track(times_s: list[float], lats: list[float], lons: list[float], icao: str, alt: float = 36_000.0) -> pl.DataFrame:
    n = len(times_s)
    return conform(pl.DataFrame({
        "timestamp": [T0 + timedelta(seconds=s) for s in times_s], "icao24": [icao] * n,
        "latitude": lats, "longitude": lons, "altitude": [alt] * n, "groundspeed": [450.0] * n,
        "track": [90.0] * n, "onground": [False] * n,
    }), source="test")


def _others(hours: float) -> pl.DataFrame:
    """Two other aircraft heard every minute around 47N 9.1E the whole time: the area is covered."""
    minutes = np.arange(0, int(hours * 60) + 20)
    rows = []
    for k, icao in enumerate(("aaaaa1", "aaaaa2")):
        rows.append(pl.DataFrame({"icao24": icao, "timestamp": [T0 + timedelta(minutes=int(m) - 10) for m in minutes],
                                  "latitude": 47.0 + 0.1 * k, "longitude": 9.1}))
    return pl.concat(rows)


def test_a_gap_flown_straight_through_coverage_is_dark() -> None:
    # 10 min silent while flying 140 km east at 450 kt: it was on the line, and the line was covered
    track = _track([0, 60, 660, 720], [47.0, 47.0, 47.0, 47.0], [8.0, 8.18, 10.01, 10.19], "bbbbb1")
    found = dark_gaps(track, _others(1.0))
    assert len(found) == 1 and found[0]["kind"] == "dark_in_coverage"


def test_a_gap_with_time_to_be_elsewhere_is_not_dark() -> None:
    # silent 12 h between two points 38 km apart: it may have landed anywhere within reach, so the
    # coverage of the straight line between them says nothing about where it was
    track = _track([0, 60, 45_660, 45_720], [47.79, 47.79, 47.79, 47.79], [8.97, 8.98, 8.46, 8.47], "bbbbb2")
    assert dark_gaps(track, _others(13.0)) == []
