"""Bans apply where the banning law applies: EU rows cover Union territory (member states with
their outermost regions, Saint-Martin, Åland), not the overseas countries and territories of
Annex II TFEU; those are banned only by a sourced measure of their own."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from tailwatch.airspace.bans import banned_jurisdictions, banning_rules, load_bans
from tailwatch.airspace.crossing import countries_on_arc
from tailwatch.airspace.enrich import add_airspace
from tailwatch.airspace.routing import legal_route
from tailwatch.geo import countries
from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import great_circle_points, haversine_km

EU_SOURCE = "2022/334"
# the EU closure is in force, Curaçao's own flight ban (dated only "early March 2022") not yet recorded
EU_ONLY_DAY = "2022-03-15"
OCTS = ("GL", "AW", "CW", "SX", "BQ", "PF", "NC", "PM", "WF", "BL", "TF")


def _where(lat: float, lon: float) -> str:
    return countries.locate(np.array([lat]), np.array([lon]))[0]


def test_eu_rows_cover_exactly_the_union_territory():
    bans = load_bans()
    eu_rows = bans.filter(pl.col("source").str.contains(EU_SOURCE, literal=True))
    assert set(eu_rows["jurisdiction"]) == set(countries.eu_territories())
    assert not set(eu_rows["jurisdiction"]) & (set(OCTS) | {"FO"})
    # every jurisdiction a ban names is a code of the country data
    assert set(bans["jurisdiction"]) <= set(countries.country_shapes())


def test_curacao_is_not_eu_airspace_martinique_is():
    curacao, martinique = _where(12.17, -68.9), _where(14.64, -61.02)
    assert (curacao, martinique) == ("CW", "FR")
    assert countries.states()[curacao] == "NL"
    banned = set(banned_jurisdictions(operator_country="RU", when=EU_ONLY_DAY))
    assert martinique in banned and curacao not in banned
    # later, Curaçao's own measure applies — and it is not the EU regulation
    rows = banning_rules(operator_country="RU", when="2024-06-01").filter(pl.col("jurisdiction") == "CW")
    assert rows.height == 1 and not rows["source"].str.contains(EU_SOURCE, literal=True).any()
    assert "Tweede Kamer" in rows["source"][0]
    fr = banning_rules(operator_country="RU", when=EU_ONLY_DAY).filter(pl.col("jurisdiction") == "FR")
    assert EU_SOURCE in fr["source"][0]


def test_outermost_regions_and_saint_martin_under_the_eu_rows():
    for lat, lon, code in ((4.93, -52.33, "FR"), (-12.78, 45.23, "FR"), (28.1, -15.43, "ES"),
                           (32.65, -16.9, "PT"), (37.74, -25.67, "PT"), (18.07, -63.08, "MF"), (60.1, 19.93, "AX")):
        assert _where(lat, lon) == code, (lat, lon)
        rules = banning_rules(operator_country="RU", when=EU_ONLY_DAY).filter(pl.col("jurisdiction") == code)
        assert rules.height and rules["source"].str.contains(EU_SOURCE, literal=True).all(), code


def test_octs_without_a_sourced_measure_stay_open():
    banned = set(banned_jurisdictions(operator_country="RU", registration_country="RU", when="2024-06-01"))
    for code in ("PF", "NC", "PM", "WF", "BL", "TF", "GG", "BM", "KY"):
        assert code not in banned, code
    # Tahiti, Nouméa, Saint-Pierre: French-controlled, not Union territory, no sourced closure
    for lat, lon, code in ((-17.55, -149.6, "PF"), (-22.27, 166.45, "NC"), (46.78, -56.18, "PM")):
        assert _where(lat, lon) == code
        assert countries.states()[code] == "FR"


def test_caracas_havana_great_circle_is_not_flagged_under_the_eu_rows():
    a, b = airport("SVMI"), airport("MUHA")
    crossed = countries_on_arc(a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    assert "CW" in crossed and "NL" not in crossed
    answer = legal_route("SVMI", "MUHA", operator_country="RU", when=EU_ONLY_DAY)
    assert answer["avoided"] == []
    assert answer["distance_km"] == pytest.approx(answer["direct_km"], abs=0.1)
    # with Curaçao's own ban in force the direct arc is avoided, by a short margin
    later = legal_route("SVMI", "MUHA", operator_country="RU", when="2024-06-01")
    assert later["avoided"] == ["CW"]
    assert answer["direct_km"] < later["distance_km"] < answer["direct_km"] + 100


def test_itinerary_leg_over_curacao_names_jurisdiction_and_state():
    pa, pb = airport("SVMI"), airport("MUHA")
    d = float(haversine_km(pa["latitude"], pa["longitude"], pb["latitude"], pb["longitude"]))
    n = int(d / 13.0) + 1
    lat, lon = great_circle_points(pa["latitude"], pa["longitude"], pb["latitude"], pb["longitude"], n)
    t0 = datetime(2022, 3, 15, 12, 0, tzinfo=timezone.utc).timestamp()
    t = t0 + np.arange(n) * 60.0
    points = pl.DataFrame({"timestamp": pl.Series((t * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC")),
                           "icao24": "abc123", "latitude": lat, "longitude": lon, "leg": 0})
    iso = lambda x: datetime.fromtimestamp(x, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    short = lambda c: {k: airport(c)[k] for k in ("icao", "name", "country")}  # noqa: E731
    itin = {"schema": "tailwatch.itinerary/1",
            "aircraft": {"icao24": "abc123", "registration": None, "typecode": None, "country": "RU", "watchlists": []},
            "legs": [{"origin": short("SVMI"), "destination": short("MUHA"), "takeoff": iso(t[0]), "landing": iso(t[-1]),
                      "origin_evidence": "observed", "destination_evidence": "observed", "confidence": 0.9,
                      "great_circle_km": round(d, 1), "flown_km": round(d, 1), "countries": [],
                      "banned_countries": [], "max_payload_t": None}],
            "route": {"airports": ["SVMI", "MUHA"], "direct_km": 0.0, "flown_km": round(d, 1), "legal_shortest_km": None}}
    out = add_airspace(itin, points, operator_country="RU")
    leg = out["legs"][0]
    assert leg["countries"][0] == "VE" and "CW" in leg["countries"] and leg["countries"][-1] == "CU"
    assert leg["banned_countries"] == [] and leg["banned_crossings"] == []
    cw = next(c for c in leg["crossings"] if c["country"] == "CW")
    assert cw["state"] == "NL" and cw["evidence"] == "observed"
    assert "the direct path crosses no airspace barred to this aircraft" in out["route"]["detour"]


def test_us_closure_reaches_us_territories_uk_closure_stays_in_gb():
    banned = set(banned_jurisdictions(operator_country="RU", when="2024-06-01"))
    assert {"US", "PR", "VI", "GU", "MP", "AS", "UM"} <= banned
    assert _where(13.45, 144.79) == "GU" and countries.states()["GU"] == "US"
    gb = banning_rules(operator_country="RU", when="2024-06-01").filter(pl.col("jurisdiction") == "GB")
    assert "2022/183" in gb["source"][0]
    # Crown dependencies / overseas territories only with their own sourced measure
    assert {"JE", "GI", "IM"} <= banned and not {"GG", "BM", "KY", "VG", "AI", "FK"} & banned
    # and the Danish measure that names Greenland and the Faroes
    dk = banning_rules(operator_country="RU", when="2024-06-01").filter(pl.col("jurisdiction").is_in(["GL", "FO"]))
    assert set(dk["jurisdiction"]) == {"GL", "FO"} and dk["source"].str.contains("Greenland").all()
