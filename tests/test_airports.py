"""The merged airport table and the nearest-airport index, on the real packaged data."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.geo.airports import COLUMNS, airport, airports, nearest
from tailwatch.geo.geodesy import haversine_km


def test_table_columns_sources_and_kinds():
    frame = airports()
    assert frame.columns == COLUMNS
    assert frame.height > 25_000
    assert frame["icao"].n_unique() == frame.height
    assert frame["source"].null_count() == 0
    assert set(frame["kind"].unique()) <= {"large", "medium", "small", "heliport", "closed", "unknown"}
    # runway lengths come from OurAirports where it knows the airport
    assert airport("UUWW")["longest_runway_ft"] == 11483
    assert airport("UUWW")["kind"] == "large"


def test_extras_fix_nouakchott():
    new = airport("NKC")
    assert new["icao"] == "GQNO"
    assert abs(new["latitude"] - 18.31) < 1e-6 and abs(new["longitude"] + 15.9697) < 1e-6
    assert "airports_extra.csv" in new["source"]
    old = airport("GQNN")
    assert old["kind"] == "closed" and old["iata"] is None
    # a closed airport is never a landing candidate, even right above it
    hit = nearest([old["latitude"]], [old["longitude"]], max_km=5)
    assert hit["icao"][0] is None
    hit = nearest([old["latitude"]], [old["longitude"]], max_km=30)
    assert hit["icao"][0] == "GQNO"


def test_lookup_by_iata_and_icao_and_unknown():
    assert airport("vko")["icao"] == "UUWW"
    assert airport("UDYZ")["country"] == "AM"
    assert airport("ZZZZ") is None


def test_nearest_matches_brute_force():
    frame = airports().filter(~pl.col("kind").is_in(["closed", "heliport"]))
    rng = np.random.default_rng(7)
    lat = rng.uniform(-50, 65, 300)
    lon = rng.uniform(-180, 180, 300)
    got = nearest(lat, lon, max_km=150)
    alat, alon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
    for i in range(lat.size):
        d = haversine_km(lat[i], lon[i], alat, alon)
        j = int(np.argmin(d))
        if d[j] <= 150:
            assert got["distance_km"][i] == np.float64(d[j]) or abs(got["distance_km"][i] - d[j]) < 1e-6
        else:
            assert got["icao"][i] is None


def test_nearest_across_antimeridian_and_k_and_runway_filter():
    # Fiji: Nadi (NFFN) is west of 180°; a point at -179.99 is far, a point at 177.44 is on it.
    got = nearest([-17.755], [177.443], max_km=10)
    assert got["icao"][0] == "NFFN"
    # Taveuni (NFNM) is just west of the antimeridian: query from the east side
    got = nearest([-16.69], [-179.99], max_km=60, k=3)
    assert got.height == 3 and got["query"].to_list() == [0, 0, 0] and got["rank"].to_list() == [0, 1, 2]
    assert "NFNM" in got["icao"].to_list()
    # a long-runway need removes short strips
    short = nearest([-16.69], [-179.99], max_km=60, min_runway_ft=9000)
    assert short["icao"][0] is None or short["longest_runway_ft"][0] is None or short["longest_runway_ft"][0] >= 9000


def test_nearest_empty_and_nan():
    assert nearest(np.array([]), np.array([]), 10).height == 0
    got = nearest([np.nan, 55.5915], [0.0, 37.2615], max_km=5)
    assert got["icao"].to_list() == [None, "UUWW"]


def test_misplaced_positions_are_cross_checked():
    """airportsdata reads Belgium's degrees-minutes as decimals; OurAirports' position wins, and says so."""
    from tailwatch.geo.airports import airport
    from tailwatch.geo.geodesy import haversine_km

    ebbr = airport("EBBR")
    assert float(haversine_km(ebbr["latitude"], ebbr["longitude"], 50.9014, 4.4844)) < 2.0
    assert "airportsdata differs by" in ebbr["source"]
    # a code that names two far-apart places is left as airportsdata has it, not swapped
    assert "differs" not in airport("UUWW")["source"]


def test_airport_hands_out_a_copy_of_its_row_each_time():
    """`airport` reads a row once and hands out copies: a caller changing its dict changes no one
    else's, and the copy is the frame's row."""
    from tailwatch.geo.airports import airport, airports

    first = airport("EGLL")
    first["name"] = "changed by a caller"
    again = airport("egll ")
    assert again["name"] != "changed by a caller" and again is not first
    frame = airports()
    assert again == frame.row(frame["icao"].to_list().index("EGLL"), named=True)
    assert airport("LHR") == again and airport("ZZZZ") is None
