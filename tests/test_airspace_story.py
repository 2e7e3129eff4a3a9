"""Whose airspace each leg went around, on the demo's archive (the simulated RA-78765 trip):
per-leg and per-route fields, the reporter's sentence, `tailwatch route` giving the same legal
path as the itinerary, and legs numbered from 1 in CSV, Markdown and HTML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tailwatch.airspace.story import leg_sentence


def _cli(*args: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def demo_itinerary(demo_archive) -> dict:
    """The itinerary of RA-78765 rebuilt from the demo's archive by `tailwatch itinerary` (the ordinary path)."""
    return json.loads(_cli("itinerary", "--archive", str(demo_archive), "--aircraft", "RA-78765",
                           "--format", "json").stdout)


def _leg(itin: dict, origin: str, destination: str) -> tuple[int, dict]:
    for i, leg in enumerate(itin["legs"]):
        if (leg.get("origin") or {}).get("icao") == origin and (leg.get("destination") or {}).get("icao") == destination:
            return i, leg
    raise AssertionError(f"no leg {origin} → {destination}")


def test_yerevan_algiers_went_around_eu_airspace(demo_itinerary):
    _, leg = _leg(demo_itinerary, "UDYZ", "DAAG")
    # the great circle crosses Greece and Italy (and Albania); the track crossed none of them
    assert {"GR", "IT"} <= set(leg["direct_barred"])
    assert leg["crossed_barred"] == [] and leg["banned_countries"] == []
    assert leg["avoided"] == leg["direct_barred"]
    gr = leg["barred_details"]["GR"]
    assert gr["union"] == "EU" and gr["since"] == "2022-02-28" and "2022/334" in gr["instrument"]
    assert "Russia" in gr["bars"] and "833/2014" in gr["source"]
    # detour against the great circle and against the shortest legal path, side by side
    assert leg["detour_km"] == pytest.approx(leg["flown_km"] - leg["great_circle_km"], abs=0.2)
    assert leg["detour_km"] > 100 and leg["detour_pct"] > 2
    assert leg["legal_shortest_km"] > leg["great_circle_km"] + 100
    assert leg["legal_detour_km"] == pytest.approx(leg["flown_km"] - leg["legal_shortest_km"], abs=0.2)
    path = leg["legal_path"]
    assert path["type"] == "LineString" and len(path["coordinates"]) >= 3
    assert path["coordinates"][0] == pytest.approx([44.3959, 40.1473], abs=1e-3)  # lon, lat of UDYZ
    from tailwatch.airspace.crossing import countries_on_arc

    on_path = {c for (lo1, la1), (lo2, la2) in zip(path["coordinates"], path["coordinates"][1:])
               for c in countries_on_arc(la1, lo1, la2, lo2)}
    assert not on_path & set(leg["direct_barred"])  # the legal path keeps out of what it goes around
    text = leg["airspace_sentence"]
    assert text.startswith("Yerevan → Algiers: the direct line crosses Greece and Italy (EU airspace")
    assert "Regulation (EU) 2022/334" in text and "28 Feb 2022" in text and "Russia" in text
    assert "Tunisia" in text and "instead" in text
    assert (f"{leg['flown_km']:,.0f} km against {leg['great_circle_km']:,.0f} km direct "
            f"({leg['detour_pct']:+.0f} %)") in text
    assert "shortest legal path" in text


def test_a_leg_that_avoided_nothing_says_nothing(demo_itinerary):
    i, leg = _leg(demo_itinerary, "UUWW", "UDYZ")  # Moscow → Yerevan: nothing barred on the way
    assert leg["direct_barred"] == [] and leg["avoided"] == [] and leg["airspace_sentence"] is None
    assert leg["legal_shortest_km"] == pytest.approx(leg["great_circle_km"], abs=1.0)
    unknown = [leg for leg in demo_itinerary["legs"] if not (leg.get("destination") or {}).get("icao")]
    assert unknown, "the demo has a leg to an unknown stop"
    for leg in unknown:  # no direct line without both ends: nothing is claimed about it
        assert leg["direct_barred"] is None and leg["avoided"] is None and leg["airspace_sentence"] is None
        assert leg["legal_shortest_km"] is None and leg["legal_path"] is None
    story = demo_itinerary["route"]["airspace_story"]
    assert f"Leg {i + 1}," not in story


def test_round_trip_route_sums_are_not_null(demo_itinerary):
    route, legs = demo_itinerary["route"], demo_itinerary["legs"]
    assert route["airports"][0] == route["airports"][-1]  # a round trip
    closed = [leg for leg in legs if leg["both_ends_known"]]
    assert route["legal_shortest_km"] == pytest.approx(sum(leg["legal_shortest_km"] for leg in closed), abs=0.5)
    assert route["legs_legal_compared"] == len(closed) == route["legs_compared"]
    assert route["detour_km"] == pytest.approx(route["flown_km"] - route["direct_km"], abs=0.2)
    assert route["legal_detour_km"] == pytest.approx(route["flown_km"] - route["legal_shortest_km"], abs=0.5)
    assert route["detour_pct"] is not None and route["legal_detour_pct"] is not None
    assert {"GR", "IT", "UA"} <= set(route["avoided"]) and route["crossed_barred"] == []
    assert set(route["avoided"]) <= set(route["direct_barred"])
    assert route["barred_details"]["UA"]["bars"] == "all civil flights"
    i, leg = _leg(demo_itinerary, "UDYZ", "DAAG")
    assert f"Leg {i + 1}, {leg['airspace_sentence']}" in route["airspace_story"]


def test_route_command_gives_the_itineraries_legal_path(demo_itinerary):
    _, leg = _leg(demo_itinerary, "UDYZ", "DAAG")
    answer = json.loads(_cli("route", "UDYZ", "DAAG", "--operator-country", "RU",
                             "--date", leg["takeoff"][:10], "--format", "json").stdout)
    assert answer["airports"] == ["UDYZ", "DAAG"]  # no range given: no fuel stop
    assert answer["distance_km"] == leg["legal_shortest_km"]
    assert [[lon, lat] for lat, lon in answer["legs"][0]["waypoints"]] == leg["legal_path"]["coordinates"]
    assert answer["avoided"] == leg["direct_barred"]


@pytest.fixture(scope="module")
def reports(demo_archive) -> dict[str, str]:
    return {fmt: _cli("itinerary", "--archive", str(demo_archive), "--aircraft", "RA-78765", "--format", fmt).stdout
            for fmt in ("md", "html")}


def test_legs_are_numbered_from_one_in_csv_markdown_and_html(demo_archive, demo_itinerary, reports, tmp_path):
    n = len(demo_itinerary["legs"])
    _cli("itinerary", "--archive", str(demo_archive), "--aircraft", "RA-78765", "--format", "csv",
         "--out", str(tmp_path / "csv"))
    legs = pl.read_csv(tmp_path / "csv" / "legs.csv")
    assert legs["leg"].to_list() == list(range(1, n + 1))
    points = pl.read_csv(tmp_path / "csv" / "points.csv")
    assert points["leg"].min() == 1 and points["leg"].max() <= n
    in_legs = points.filter(pl.col("leg").is_not_null()).group_by("leg").len().sort("leg")
    # each leg's figures trace back to its rows, by the same number (points between legs have none)
    assert dict(in_legs.iter_rows()) == {k: v for k, v in zip(legs["leg"], legs["n_points"]) if v}
    i, leg = _leg(demo_itinerary, "UDYZ", "DAAG")
    row = legs.row(i, named=True)
    assert row["leg"] == i + 1 and row["avoided"] == ";".join(leg["avoided"])
    assert row["airspace_sentence"] == leg["airspace_sentence"]
    md = reports["md"]
    assert re.findall(r"^\| (\d+) \|", md, flags=re.M) == [str(k) for k in range(1, n + 1)]
    assert f"- Leg {i + 1}, Yerevan → Algiers: the direct line crosses Greece and Italy" in md
    html = reports["html"]
    numbers = re.findall(r'<tr class="leg" data-leg="\d+"><td><span class="sw"[^>]*></span>(\d+)</td>', html)
    assert numbers == [str(k) for k in range(1, n + 1)]
    assert f"Leg {i + 1}, Yerevan → Algiers: the direct line crosses Greece and Italy" in html
    # the map shades what a leg went around and draws that leg's legal path; the legend lists only what is drawn
    assert 'class="banned" data-country="GR"' in html and f'class="legal" data-leg="{i}"' in html
    # a stop's reasoning once: the leg arriving gives it, the leg leaving points to it
    unknown_dest = next(k for k, leg in enumerate(demo_itinerary["legs"]) if not (leg["destination"] or {}).get("icao"))
    gap_reason = next(r for r in demo_itinerary["legs"][unknown_dest]["reasons"] if r.startswith("destination: gap of"))
    assert html.count(gap_reason[len("destination: "):]) == 1
    assert f"origin: as for leg {unknown_dest + 1}&#x27;s destination (the same stop)" in html
    # the unknown stop: its candidates drawn, each joined by a dotted line to the positions either side
    assert html.count('<g class="candidate"') == 3 and html.count('class="unknown-link"') == 6
    assert ">GOSS?</text>" in html
    stops_table = html.split('<table class="stops">')[1].split("</table>")[0]
    assert "unknown (candidates GQNO/GOBD/GOSS)" in stops_table  # no blank stop
    legend = html.split('<div class="legend">')[1].split("</div>")[0]
    assert "unknown stop: its candidates" in legend
    assert "airspace barred to this aircraft" in legend and "legal shortest path" in legend


def test_the_lede_comes_first(demo_itinerary, reports):
    """Who, on which list, where, whose airspace, what it could carry: before the map and the tables."""
    airlift = demo_itinerary["airlift"]
    for fmt, text in reports.items():
        start = text.index("RA-78765 is an Ilyushin Il-76TD (IL76TD) operated by Aviacon Zitotrans, registered in Russia")
        lede = text[start:start + 2500]
        assert "It is on the seed list (listed 2023-01, entry seed-ra-78765): OFAC designation" in lede, fmt
        assert "it flew 13 legs: Moscow → Yerevan → Algiers → Rabat (inferred)" in lede
        assert "an unknown stop" in lede and "1 unknown" in lede
        assert "Five legs went around airspace barred to it (Greece, Albania, Italy" in lede
        assert f"at most {airlift['end_to_end_max_t']:,.1f} t, the limit set by leg {airlift['limiting_leg'] + 1}," in lede
        first_table = text.index("<table") if fmt == "html" else text.index("| # |")
        assert start < first_table
    html = reports["html"]
    assert html.index('<p class="lede">') < html.index('<svg class="map"')


def _synthetic(**over) -> dict:
    leg = {"origin": {"icao": "UDYZ", "country": "AM"}, "destination": {"icao": "DAAG", "country": "DZ"},
           "origin_evidence": "observed", "destination_evidence": "observed",
           "great_circle_km": 3576.1, "flown_km": 3891.0, "detour_pct": 8.8,
           "legal_shortest_km": 3840.0, "legal_detour_km": 51.0,
           "direct_barred": ["GR", "IT"], "crossed_barred": [], "avoided": ["GR", "IT"],
           "crossings": [{"country": "AM", "evidence": "observed"}, {"country": "TR", "evidence": "observed"},
                         {"country": "TN", "evidence": "inferred"}, {"country": "DZ", "evidence": "observed"}],
           "barred_details": {c: {"name": n, "instrument": "Regulation (EU) 2022/334", "since": "2022-02-28",
                                  "bars": "carriers and aircraft of Russia", "union": "EU"}
                              for c, n in (("GR", "Greece"), ("IT", "Italy"))}}
    leg.update(over)
    return leg


def test_sentence_parts_follow_the_figures():
    text = leg_sentence(_synthetic())
    assert text == ("Yerevan → Algiers: the direct line crosses Greece and Italy (EU airspace, closed to carriers and "
                    "aircraft of Russia since 28 Feb 2022, Regulation (EU) 2022/334); its track (partly inferred "
                    "across a coverage gap) ran via Türkiye and Tunisia instead: 3,891 km against 3,576 km direct "
                    "(+9 %), 51 km more than the shortest legal path (3,840 km).")
    # a barred jurisdiction it crossed anyway is said; an inferred end is said
    text = leg_sentence(_synthetic(crossed_barred=["IT"], avoided=["GR"], destination_evidence="inferred"))
    assert text.startswith("Yerevan → Algiers (destination inferred):") and "it still crossed Italy" in text
    assert leg_sentence(_synthetic(avoided=[])) is None and leg_sentence(_synthetic(avoided=None)) is None


def test_lede_shows_a_sources_address_without_referencing_the_network():
    from tailwatch.report.html.page import _lede
    from tailwatch.report.lede import lede

    itin = {"aircraft": {"icao24": "1533ad", "registration": "RA-78765", "typecode": "IL76TD", "country": "RU",
                         "operator": "Aviacon Zitotrans",
                         "watchlists": [{"list": "ofac-sdn", "id": "36520", "program": "RUSSIA-EO14024",
                                         "listing_date": "2023-01-26",
                                         "source": "OFAC press release jy1220, https://home.treasury.gov/news/press-releases/jy1220"}]},
            "legs": [], "route": {}}
    sentences = lede(itin)
    assert sentences[0][0] == ("RA-78765 is an IL76TD operated by Aviacon Zitotrans, registered in Russia "
                               "(address 1533ad).")
    entry, link = sentences[1]
    assert entry.startswith("It is on the ofac-sdn list (programme RUSSIA-EO14024, listed 2023-01-26, entry 36520)")
    assert link == "https://home.treasury.gov/news/press-releases/jy1220"
    html = _lede(itin)
    assert '<span class="url">https://home.treasury.gov/news/press-releases/jy1220</span>' in html
    assert "href" not in html
