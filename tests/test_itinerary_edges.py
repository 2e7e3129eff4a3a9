"""Hand-built edge cases: touch-and-go, go-around, parked for days with the transponder on, two
aircraft on one callsign, the antimeridian, an address that changed registration, a track that
ends at cruise level, and a gap nothing can explain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from tailwatch.geo.airports import airport
from tailwatch.itinerary.build import build_itineraries, build_itinerary
from tailwatch.itinerary.landings import phase_events
from tailwatch.itinerary.gaps import infer_gap
from tailwatch.itinerary.sides import Side
from tailwatch.schema import POINT_SCHEMA
from tailwatch.sim.trips import LegPlan, simulate_leg

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def leg(a: str, b: str, takeoff: datetime, icao24: str = "abc123", callsign: str = "TEST1", **kw) -> pl.DataFrame:
    return simulate_leg(LegPlan(airport(a), airport(b), takeoff, **kw), icao24, callsign)


def route(j: dict) -> list[str | None]:
    return j["route"]["airports"]


def test_touch_and_go_is_a_labelled_landing_not_a_gap():
    first = leg("LFPG", "LFOB", T0, taxi_in_s=0)
    landing = first["timestamp"].max()
    second = leg("LFOB", "LFRS", landing + timedelta(seconds=40), taxi_out_s=0, taxi_in_s=300)
    # 30 s rolling on the runway at 120 kt between the two
    b = airport("LFOB")
    roll = pl.DataFrame({
        "timestamp": [landing + timedelta(seconds=s) for s in (5, 15, 25, 35)],
        "icao24": ["abc123"] * 4, "callsign": ["TEST1"] * 4,
        "latitude": [b["latitude"] + 0.002 * i for i in range(4)], "longitude": [b["longitude"]] * 4,
        "altitude": [b["elevation_ft"]] * 4, "groundspeed": [120.0] * 4, "track": [0.0] * 4,
        "vertical_rate": [0.0] * 4, "onground": [True] * 4, "source": ["simulated"] * 4,
    }).select([pl.col(c).cast(t) if c in ("timestamp",) else pl.col(c).cast(t) for c, t in POINT_SCHEMA.items()
               if c not in ("geoaltitude", "squawk")])
    points = pl.concat([first, roll, second], how="diagonal_relaxed").sort("timestamp")
    events = phase_events(points)
    tng = events.filter(pl.col("evidence") == "touch-and-go")
    assert set(tng["kind"]) == {"landing", "takeoff"} and set(tng["airport"]) == {"LFOB"}
    j = build_itinerary(points).to_json()
    assert route(j) == ["LFPG", "LFOB", "LFRS"]
    assert j["legs"][0]["destination_how"] == "touch-and-go"
    assert j["legs"][0]["destination_evidence"] == "observed"
    assert j["legs"][1]["takeoff"] is not None


def test_go_around_then_diversion_is_one_leg():
    approach = leg("LFPG", "LFOB", T0, taxi_in_s=0)
    elev = airport("LFOB")["elevation_ft"]
    air = approach.filter(~pl.col("onground"))
    # cut the approach at 300 ft above the runway: a low pass, no ground contact
    late = air["timestamp"].min() + (air["timestamp"].max() - air["timestamp"].min()) / 2
    low = air.filter((pl.col("timestamp") > late) & (pl.col("altitude") <= elev + 300))["timestamp"].min()
    approach = air.filter(pl.col("timestamp") < low)
    onward = leg("LFOB", "LFRS", low + timedelta(seconds=5), taxi_out_s=0)
    onward = onward.filter(~(pl.col("onground") & (pl.col("timestamp") < low + timedelta(minutes=5))))
    points = pl.concat([approach, onward]).sort("timestamp")
    j = build_itinerary(points).to_json()
    assert route(j) == ["LFPG", "LFRS"]
    assert len(j["legs"]) == 1
    assert not phase_events(points).filter(pl.col("airport") == "LFOB").height


def test_parked_for_days_with_transponder_on_is_one_stay():
    first = leg("EGLL", "LFPG", T0)
    arrive = first["timestamp"].max()
    g = airport("LFPG")
    rng = np.random.default_rng(1)
    n = 3 * 24 * 60
    stamps = [arrive + timedelta(minutes=i + 1) for i in range(n)]
    parked = pl.DataFrame({
        "timestamp": stamps, "icao24": ["abc123"] * n, "callsign": [None] * n,
        "latitude": g["latitude"] + 0.01 + rng.normal(0, 1e-5, n),
        "longitude": g["longitude"] + 0.01 + rng.normal(0, 1e-5, n),
        "altitude": [None] * n, "groundspeed": [0.0] * n, "onground": [True] * n, "source": ["simulated"] * n,
    })
    # nobody hears it at night: 8 h silences every day
    hour = pl.col("timestamp").dt.hour()
    parked = parked.filter(~hour.is_between(0, 7))
    second = leg("LFPG", "LEMD", stamps[-1] + timedelta(minutes=20))
    points = pl.concat([first, parked, second], how="diagonal_relaxed").sort("timestamp")
    j = build_itinerary(points).to_json()
    assert route(j) == ["EGLL", "LFPG", "LEMD"]
    stay = j["stops"][1]
    assert stay["evidence"] == "observed"
    assert (datetime.fromisoformat(stay["departure"].replace("Z", "+00:00"))
            - datetime.fromisoformat(stay["arrival"].replace("Z", "+00:00"))) > timedelta(days=2)


def test_two_aircraft_on_one_callsign_stay_apart():
    a = leg("EDDF", "LOWW", T0, icao24="aaa111", callsign="SHARED1")
    b = leg("LIRF", "LEBL", T0 + timedelta(minutes=3), icao24="bbb222", callsign="SHARED1")
    points = pl.concat([a, b])
    with pytest.raises(ValueError):
        build_itinerary(points)
    its = {it.aircraft["icao24"]: it.to_json() for it in build_itineraries(points)}
    assert route(its["aaa111"]) == ["EDDF", "LOWW"]
    assert route(its["bbb222"]) == ["LIRF", "LEBL"]
    events = phase_events(points)
    assert events.filter(pl.col("icao24") == "aaa111")["airport"].to_list() == ["EDDF", "LOWW"]


def test_track_across_the_antimeridian():
    points = leg("NFFN", "NSFA", T0)
    lon = points["longitude"]
    assert (lon > 179).any() and (lon < -179).any()
    # and a 30-minute gap right over the date line
    t0, t1 = points["timestamp"].min(), points["timestamp"].max()
    mid = t0 + (t1 - t0) / 2
    gapped = points.filter(~pl.col("timestamp").is_between(mid - timedelta(minutes=15), mid + timedelta(minutes=15)))
    for frame in (points, gapped):
        j = build_itinerary(frame).to_json()
        assert route(j) == ["NFFN", "NSFA"]
        leg0 = j["legs"][0]
        assert 1000 < leg0["great_circle_km"] < 1300
        assert leg0["flown_km"] < leg0["great_circle_km"] * 1.1


def test_address_that_changed_registration():
    first = leg("UUWW", "UDYZ", datetime(2024, 5, 1, 6, tzinfo=timezone.utc), icao24="1533ad")
    second = leg("UDYZ", "UUWW", datetime(2025, 5, 1, 6, tzinfo=timezone.utc), icao24="1533ad")
    aircraft = {"icao24": "1533ad", "registration": "RA-78765", "typecode": "IL76", "country": "RU", "watchlists": [],
                "history": [{"snapshot": "2023-01-01", "icao24": "1533ad", "registration": "EW-78765"},
                            {"snapshot": "2025-01-01", "icao24": "1533ad", "registration": "RA-78765"}]}
    j = build_itinerary(pl.concat([first, second]), aircraft).to_json()
    assert [leg["registration"] for leg in j["legs"]] == ["EW-78765", "RA-78765"]
    assert any("EW-78765" in n and "RA-78765" in n for n in j["notes"])
    assert j["aircraft"]["registration"] == "RA-78765"


def test_track_ending_at_cruise_is_never_a_landing():
    points = leg("EGLL", "LIRF", T0)
    # stop listening at cruise, overhead northern Italy, 32,750 ft-ish
    cruise = points.filter(pl.col("altitude") > 30_000)
    cut = points.filter(pl.col("timestamp") <= cruise["timestamp"][cruise.height // 2])
    j = build_itinerary(cut).to_json()
    last = j["legs"][-1]
    assert last["destination"] is None
    assert last["destination_evidence"] == "unknown" and last["confidence"] == 0.0
    assert last["landing"] is None
    assert any("no descent seen" in r for r in last["reasons"])
    assert phase_events(cut).filter(pl.col("kind") == "landing").height == 0


def test_unexplained_gap_is_unknown_not_an_invented_airport():
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    # over the empty South Atlantic: ahead of the first side and behind the second is only sea
    left = Side(t, -45.0, -30.0, alt=35_000, track=90.0, gs=450, vrate=0)
    right = Side(t + timedelta(hours=14), -46.0, -20.0, alt=35_000, track=90.0, gs=450, vrate=0)
    verdict = infer_gap(left, right, cruise_kt=450)
    assert not verdict.through
    assert len(verdict.stops) == 1
    stop = verdict.stops[0]
    assert stop.airport is None and stop.evidence == "unknown"
    assert any("gap of 14 h" in r for r in stop.reasons)


def test_short_gap_at_cruise_is_flown_through():
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    left = Side(t, 50.0, 0.0, alt=35_000, track=90.0, gs=450, vrate=0)
    right = Side(t + timedelta(minutes=60), 50.0, 10.5, alt=35_000, track=90.0, gs=450, vrate=0)
    verdict = infer_gap(left, right)
    assert verdict.through and not verdict.stops
    assert any("480 kt" in r for r in verdict.reasons)  # the documented default cruise speed


def test_every_point_is_kept_including_one_point_pieces():
    points = leg("EDDF", "LOWW", T0)
    lone = points.filter(pl.col("altitude") > 30_000).head(1)
    t = lone["timestamp"][0]
    isolated = points.filter((pl.col("timestamp") < t - timedelta(minutes=15)) | (pl.col("timestamp") > t + timedelta(minutes=15)))
    frame = pl.concat([isolated, lone]).sort("timestamp")
    it = build_itinerary(frame)
    airborne = it.points.filter(~pl.col("ground"))
    assert airborne["leg"].null_count() == 0
    assert it.points.height == frame.unique(["timestamp"]).height
    assert route(it.to_json()) == ["EDDF", "LOWW"]


def test_readsb_new_leg_flag_cuts_without_inventing_a_stop():
    points = leg("EDDF", "LOWW", T0)
    flag = np.zeros(points.height, dtype=bool)
    flag[points.height // 2] = True  # readsb says "new leg" mid-cruise (e.g. after a callsign change)
    flagged = points.with_columns(pl.Series("new_leg", flag))
    from tailwatch.itinerary.flights import pieces

    _, table = pieces(flagged)
    assert table.height == pieces(points)[1].height + 1
    assert route(build_itinerary(flagged).to_json()) == ["EDDF", "LOWW"]


def test_parked_only_has_no_legs_but_says_where():
    g = airport("UUWW")
    n = 50
    parked = pl.DataFrame({
        "timestamp": [T0 + timedelta(hours=i) for i in range(n)], "icao24": ["1533ad"] * n,
        "latitude": [g["latitude"] + 0.001 * (i % 3) for i in range(n)], "longitude": [g["longitude"]] * n,
        "groundspeed": [0.0] * n, "onground": [True] * n, "source": ["simulated"] * n,
    })
    from tailwatch.schema import conform

    j = build_itinerary(conform(parked)).to_json()
    assert j["legs"] == [] and any("UUWW" in n for n in j["notes"])


def test_distances_to_candidates_are_worked_out_once_and_never_changed():
    """A gap's sides ask for their distances and bearings to every candidate airport from several
    tests; `to_candidates` keeps them, read-only, and they are the great-circle figures."""
    import numpy as np

    from tailwatch.geo.geodesy import haversine_km, initial_bearing
    from tailwatch.itinerary.candidates import candidate_airports, to_candidates

    cand = candidate_airports(6_000.0)
    km, bearing = to_candidates(48.35, 11.78, cand, bearing=True)
    assert np.array_equal(km, haversine_km(48.35, 11.78, cand["lat"], cand["lon"]))
    assert np.array_equal(bearing, initial_bearing(48.35, 11.78, cand["lat"], cand["lon"]))
    again, _ = to_candidates(48.35, 11.78, cand)
    assert again is km  # kept, not worked out again
    try:
        km[0] = 0.0
        raise AssertionError("a kept array must be read-only")
    except ValueError:
        pass
    other = candidate_airports(None)  # another candidate set: its own distances
    assert to_candidates(48.35, 11.78, other)[0].size == other["lat"].size != km.size
