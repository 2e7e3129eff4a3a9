"""add_airspace on an itinerary JSON: per-leg countries and bans, route detour figures."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from tailwatch.airspace.enrich import add_airspace
from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import great_circle_points, haversine_km

T0 = datetime(2024, 6, 1, 6, 0, tzinfo=timezone.utc).timestamp()


def _leg_points(a: str, b: str, t0: float, leg: int, drop: tuple[float, float] | None = None) -> pl.DataFrame:
    pa, pb = airport(a), airport(b)
    d = float(haversine_km(pa["latitude"], pa["longitude"], pb["latitude"], pb["longitude"]))
    n = int(d / 13.0) + 1  # one fix a minute at ~780 km/h
    lat, lon = great_circle_points(pa["latitude"], pa["longitude"], pb["latitude"], pb["longitude"], n)
    t = t0 + np.arange(n) * 60.0
    keep = np.ones(n, bool)
    if drop is not None:  # no coverage between these fractions of the leg
        f = np.linspace(0, 1, n)
        keep = (f < drop[0]) | (f > drop[1])
    return pl.DataFrame({
        "timestamp": pl.Series((t[keep] * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC")),
        "icao24": "abc123", "latitude": lat[keep], "longitude": lon[keep], "leg": leg,
    }), t[0], t[-1], d


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _leg(a: str, b: str, t1: float, t2: float, d: float) -> dict:
    short = lambda c: {k: airport(c)[k] for k in ("icao", "name", "country")}  # noqa: E731
    return {"origin": short(a), "destination": short(b), "takeoff": _iso(t1), "landing": _iso(t2),
            "origin_evidence": "observed", "destination_evidence": "observed", "confidence": 0.9,
            "great_circle_km": round(d, 1), "flown_km": round(d, 1), "countries": [], "banned_countries": [],
            "max_payload_t": None}


@pytest.fixture(scope="module")
def enriched():
    p0, a0, b0, d0 = _leg_points("UUWW", "UDYZ", T0, 0)
    # second leg flown straight across the Aegean and Italy, unobserved over the Aegean
    p1, a1, b1, d1 = _leg_points("UDYZ", "DAAG", T0 + 4 * 3600, 1, drop=(0.35, 0.5))
    itin = {
        "schema": "tailwatch.itinerary/1",
        "aircraft": {"icao24": "abc123", "registration": None, "typecode": "IL76", "country": "RU", "watchlists": []},
        "legs": [_leg("UUWW", "UDYZ", a0, b0, d0), _leg("UDYZ", "DAAG", a1, b1, d1)],
        "route": {"airports": ["UUWW", "UDYZ", "DAAG"], "direct_km": 0.0, "flown_km": round(d0 + d1, 1),
                  "legal_shortest_km": None},
    }
    return itin, add_airspace(itin, pl.concat([p0, p1]), operator_country="RU")


def test_legs_gain_countries_and_bans(enriched):
    itin, out = enriched
    assert itin["legs"][0]["countries"] == []  # input untouched
    leg0, leg1 = out["legs"]
    assert leg0["countries"][0] == "RU" and leg0["countries"][-1] == "AM"
    assert leg0["banned_countries"] == []
    assert leg1["countries"][0] == "AM" and leg1["countries"][-1] == "DZ"
    assert {"GR", "IT"} <= set(leg1["banned_countries"])
    assert "TR" in leg1["countries"] and "TR" not in leg1["banned_countries"]
    gr = [c for c in leg1["banned_crossings"] if c["country"] == "GR"]
    it = [c for c in leg1["banned_crossings"] if c["country"] == "IT"]
    assert it[0]["evidence"] == "observed" and it[0]["observed_points"] > 0
    assert it[0]["entry"] < it[0]["exit"]
    assert "2022/334" in it[0]["rule"]
    assert any(c["evidence"] == "inferred" for c in gr)  # the Aegean fell in the coverage gap


def test_route_figures_and_sentence(enriched):
    _, out = enriched
    route = out["route"]
    a, b = airport("UUWW"), airport("DAAG")
    direct = float(haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    assert route["end_to_end_km"] == pytest.approx(direct, abs=0.1)
    # the route's direct and flown figures sum the legs with both ends known: like with like
    legs = out["legs"]
    assert route["direct_km"] == pytest.approx(sum(leg["great_circle_km"] for leg in legs), abs=0.2)
    assert route["flown_km"] == pytest.approx(sum(leg["flown_km"] for leg in legs), abs=0.2)
    assert route["legs_compared"] == 2 and route["legs_left_out"] == 0
    assert route["end_to_end_legal_km"] > route["end_to_end_km"]
    # legal_shortest_km sums the legs' legal paths, like direct_km and flown_km
    assert route["legal_shortest_km"] == pytest.approx(sum(leg["legal_shortest_km"] for leg in legs), abs=0.2)
    legal = route["legal_route"]
    assert legal["airports"][0] == "UUWW" and legal["airports"][-1] == "DAAG"
    assert legal["legs"][0]["waypoints"][0] == pytest.approx([a["latitude"], a["longitude"]], abs=1e-3)
    crossed = {c for leg in legal["legs"] for c in leg["countries"]}
    assert not crossed & set(route["direct_banned_countries"])
    assert set(route["direct_banned_countries"]) & {"PL", "DE", "AT", "HU", "SK", "IT", "CZ", "HR", "SI", "RO"}
    text = route["detour"]
    assert text.startswith(f"flown {route['flown_km']:,.0f} km against {route['direct_km']:,.0f} km direct")
    assert f"UUWW to DAAG is {route['end_to_end_km']:,.0f} km direct" in text
    assert "EU (" in text and "shortest legal route" in text


def test_per_leg_legal_distance(enriched):
    _, out = enriched
    leg0, leg1 = out["legs"]
    assert leg0["legal_shortest_km"] == pytest.approx(leg0["great_circle_km"], rel=1e-3)  # nothing in the way
    assert leg1["legal_shortest_km"] > leg1["great_circle_km"]  # around Greece, Italy, Malta
    assert out["route"]["banned_legs"] == [1]
    assert out["route"]["legs_legal_shortest_km"] == pytest.approx(
        leg0["legal_shortest_km"] + leg1["legal_shortest_km"], abs=0.2)


def test_round_trip_is_compared_leg_by_leg():
    p0, a0, b0, d0 = _leg_points("UDYZ", "DAAG", T0, 0)
    p1, a1, b1, d1 = _leg_points("DAAG", "UDYZ", T0 + 8 * 3600, 1)
    itin = {
        "schema": "tailwatch.itinerary/1",
        "aircraft": {"icao24": "abc123", "registration": None, "typecode": None, "country": None, "watchlists": []},
        "legs": [_leg("UDYZ", "DAAG", a0, b0, d0), _leg("DAAG", "UDYZ", a1, b1, d1)],
        "route": {"airports": ["UDYZ", "DAAG", "UDYZ"], "direct_km": 0.0, "flown_km": round(d0 + d1, 1),
                  "legal_shortest_km": None},
    }
    out = add_airspace(itin, pl.concat([p0, p1]), operator_country="RU")
    route = out["route"]
    # a round trip's figures are the legs' sums, never null for the first and last airport being one
    assert route["legal_shortest_km"] == pytest.approx(route["legs_legal_shortest_km"], abs=0.2)
    assert route["legal_shortest_km"] > route["direct_km"] > 0
    assert route["detour_km"] == pytest.approx(route["flown_km"] - route["direct_km"], abs=0.2)
    assert route["legal_detour_km"] == pytest.approx(route["flown_km"] - route["legal_shortest_km"], abs=0.2)
    assert route["crossed_barred"] and set(route["crossed_barred"]) <= set(route["direct_barred"])
    assert route["detour"].startswith("round trip UDYZ → … → UDYZ: flown")
    assert route["banned_legs"] == [0, 1]
    assert "2 leg(s) crossed airspace barred to this aircraft" in route["detour"]
    assert route["legs_legal_shortest_km"] > route["legs_great_circle_km"]


def test_a_leg_that_crossed_barred_airspace_avoided_nothing(enriched):
    _, out = enriched
    leg1 = out["legs"][1]  # flown straight along the great circle, across the Aegean and Italy
    assert set(leg1["crossed_barred"]) == set(leg1["direct_barred"]) >= {"GR", "IT"}
    assert leg1["avoided"] == [] and leg1["airspace_sentence"] is None
    assert leg1["barred_details"]["IT"]["instrument"] == "Regulation (EU) 2022/334"
    assert "1 leg(s) crossed airspace barred to this aircraft (EU (" in out["route"]["detour"]
    assert out["route"]["crossed_barred"] == leg1["crossed_barred"] and out["route"]["avoided"] == []
    from tailwatch.report.lede import lede

    text = " ".join(sentence for sentence, _ in lede(out))
    assert "registered in Russia" in text
    assert "Its positions show it crossing Greece" in text and "EU airspace" in text


def _one_leg_track(leg: dict, pts: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """A leg's track built on its own: its points in time order between its airports."""
    from tailwatch.airspace.enrich import _airport_pos, _epoch

    pts = pts.sort("timestamp", maintain_order=True)
    lat, lon = pts["latitude"].to_numpy(), pts["longitude"].to_numpy()
    t = pts["timestamp"].dt.epoch("us").to_numpy().astype(float) / 1e6
    inferred = np.zeros(lat.size, bool)
    o, d = _airport_pos(leg.get("origin")), _airport_pos(leg.get("destination"))
    if o is not None:
        lat, lon, t = np.r_[o[0], lat], np.r_[o[1], lon], np.r_[_epoch(leg.get("takeoff")), t]
        inferred = np.r_[leg.get("origin_evidence") != "observed" or not leg.get("takeoff"), inferred]
    if d is not None:
        lat, lon, t = np.r_[lat, d[0]], np.r_[lon, d[1]], np.r_[t, _epoch(leg.get("landing"))]
        inferred = np.r_[inferred, leg.get("destination_evidence") != "observed" or not leg.get("landing")]
    return lat, lon, t, inferred


def _iso_or_none(t):
    return None if t == "nan" else _iso(t)


def _plain(runs):
    """Runs with NaN times as the string 'nan' (NaN equals nothing, itself included)."""
    if isinstance(runs, list):
        return [_plain(r) for r in runs]
    return {k: "nan" if isinstance(v, float) and np.isnan(v) else v for k, v in runs.items()}


def test_a_group_of_itineraries_is_located_as_each_alone():
    """`leg_runs_many` builds every leg of a group as offsets into one array of points (no frame
    per leg) and locates them in one pass: each leg's track is its points in time order between
    its airports, points of no leg are left out, an itinerary without a `leg` column is one leg,
    and every itinerary's runs are those it gets alone."""
    from tailwatch.airspace.crossing import country_runs, densify
    from tailwatch.airspace.enrich import _tracks, leg_runs_many

    p0, a0, b0, d0 = _leg_points("UUWW", "UDYZ", T0, 0)
    p1, a1, b1, d1 = _leg_points("UDYZ", "DAAG", T0 + 4 * 3600, 1, drop=(0.35, 0.5))
    p2, a2, b2, d2 = _leg_points("LFPG", "EDDF", T0 + 9 * 3600, 2)
    legs = [_leg("UUWW", "UDYZ", a0, b0, d0), _leg("UDYZ", "DAAG", a1, b1, d1), _leg("LFPG", "EDDF", a2, b2, d2)]
    legs[1] = dict(legs[1], destination=None, landing=None)  # an end not known
    legs[2] = dict(legs[2], origin_evidence="inferred", takeoff=None)
    taxi = p2.head(5).with_columns(leg=pl.lit(None, p2["leg"].dtype))  # on the ground: no leg's
    stray = p2.head(3).with_columns(leg=pl.lit(7, p2["leg"].dtype))  # a leg the itinerary does not have
    three = pl.concat([p0, p1, taxi, p2, stray])
    shuffled = three.sample(fraction=1.0, shuffle=True, seed=5)  # points not in time order
    alone = pl.concat([p2]).drop("leg")  # a single leg without a `leg` column
    itins = [({"legs": legs}, three), ({"legs": legs}, shuffled), ({"legs": legs[2:]}, alone),
             ({"legs": []}, p0.head(0)), ({"legs": legs[:1]}, p0.head(0))]
    columns, sizes, n_legs = _tracks(itins)
    assert n_legs.tolist() == [3, 3, 1, 0, 1]
    at = np.r_[0, np.cumsum(sizes)]
    pieces = [(legs[k], three.filter(pl.col("leg") == k)) for k in range(3)] * 2 + [(legs[2], alone), (legs[0], p0.head(0))]
    for j, (leg, pts) in enumerate(pieces):
        expected = _one_leg_track(leg, pts)
        for column, want in zip(("latitude", "longitude", "t", "inferred"), expected):
            assert np.array_equal(columns[column][at[j]:at[j + 1]], want, equal_nan=True), (j, column)
    together = _plain(leg_runs_many(itins))
    assert [len(x) for x in together] == [3, 3, 1, 0, 1]
    assert together[0] == together[1] and together[2] == [together[0][2]]
    for itin, runs in zip(itins, together):
        assert _plain(leg_runs_many([itin])) == [runs]
    for (leg, pts), runs in zip(pieces, [r for x in together for r in x]):
        alone = _plain(country_runs(densify(*_one_leg_track(leg, pts))).to_dicts())
        assert [{k: v for k, v in r.items() if k not in ("entry", "exit")} for r in runs] == alone
        assert [(r["entry"], r["exit"]) for r in runs] == [
            (_iso_or_none(r["entry_t"]), _iso_or_none(r["exit_t"])) for r in alone]
    assert [r["country"] for r in together[0][0]] == ["RU", "GE", "AM"]
    assert [r["country"] for r in together[0][2]] == ["FR", "BE", "LU", "DE"]
    assert together[0][2][0]["entry_evidence"] == "inferred" and together[0][2][0]["entry_t"] == "nan"
    # a leg without positions is its airports joined by the great circle: all of it inferred between
    assert [(r["country"], r["evidence"]) for r in together[4][0]] == [("RU", "observed"), ("GE", "inferred"),
                                                                       ("AM", "observed")]
    assert [r["observed_points"] for r in together[4][0]] == [1, 0, 1]


def test_bans_are_read_for_each_legs_own_day():
    """What the bans table says is worked out once per distinct set of rules and shared by the
    days that read the same; a leg flown before a closure took effect is still judged by its own
    day: the same Paris–Frankfurt leg by a Russian aircraft, in 2021 and in 2023 and 2024."""
    p, a, b, d = _leg_points("LFPG", "EDDF", T0, 0)
    years = []
    for year in (2021, 2023, 2024):
        shift = datetime(year, 6, 1, 6, 0, tzinfo=timezone.utc).timestamp() - T0
        pts = p.with_columns(pl.col("timestamp") + pl.duration(seconds=shift))
        itin = {"aircraft": {"icao24": "abc123", "country": "RU", "typecode": "IL76"},
                "legs": [_leg("LFPG", "EDDF", a + shift, b + shift, d)], "route": {"airports": ["LFPG", "EDDF"]}}
        years.append(add_airspace(itin, pts, operator_country="RU")["legs"][0])
    before, after, later = years
    assert before["countries"] == after["countries"] == later["countries"] and "FR" in before["countries"]
    assert before["banned_countries"] == [] and before["barred_details"] == {}
    assert after["banned_countries"] == later["banned_countries"] and "FR" in after["banned_countries"]
    assert after["barred_details"] == later["barred_details"] and after["barred_details"]["FR"]["since"] == "2022-02-28"
    assert after["barred_details"] is not later["barred_details"]  # each leg its own copy
    assert [c["rule"] for c in after["banned_crossings"]] == [c["rule"] for c in later["banned_crossings"]]
    from tailwatch.airspace.bans import banning_rules
    from tailwatch.airspace.enrich import _barring

    on = [banning_rules(operator_country="RU", registration_country="RU", when=f"{y}-06-01") for y in (2021, 2023, 2024)]
    assert _barring(on[1]) is _barring(on[2]) is not _barring(on[0])  # two days, one reading of the rules
