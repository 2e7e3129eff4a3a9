"""`tailwatch bridge` on the simulated air-bridge scenario (sim/bridge.py): planted freighter flights into
Venezuela found with their chains, decoys excluded with their reason, the overflight not counted,
co-location at Algiers, the baseline; bad input one line; the core on hand-made itineraries."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tailwatch.bridge import Criteria, bridge_document, parse_into
from tailwatch.errors import BadInput

START, END = "2025-11-05T00:00:00Z", "2025-11-09T00:00:00Z"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The scenario written as a Parquet feed and a tar1090-db registry, both imported into an archive."""
    from tailwatch.demo import write_feed
    from tailwatch.identity.registry import import_registry
    from tailwatch.ingest.pipeline import ingest_file
    from tailwatch.sim.bridge import bridge_scenario

    root = tmp_path_factory.mktemp("bridge")
    sc = bridge_scenario()
    feed = write_feed(sc.points, root / "positions.parquet")
    archive = root / "archive"
    ingest_file(feed, archive)
    (root / "aircraft.csv").write_text(sc.registry_lines(), encoding="utf-8")
    assert import_registry(root / "aircraft.csv", archive)[0] == "tar1090-db"
    return sc, archive


@pytest.fixture(scope="module")
def doc(scenario):
    from tailwatch.app.bridge import run_bridge

    _, archive = scenario
    return run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"])


def _by_hex(doc):
    return {f["icao24"]: f for f in doc["flights"]}


def test_planted_flights_found_with_their_chains(scenario, doc):
    sc, _ = scenario
    planted = sc.planted_arrivals("VE")
    assert len(planted) == 3
    assert doc["schema"] == "tailwatch.bridge/1"
    found = {(f["icao24"], f["arrival"]["icao"]) for f in doc["flights"]}
    assert found == {(p["icao24"], p["airport"]) for p in planted}
    for p in planted:
        f = _by_hex(doc)[p["icao24"]]
        landed = datetime.fromisoformat(f["arrival"]["time"].replace("Z", "+00:00"))
        assert abs((landed - p["time"]).total_seconds()) < 15 * 60
        assert f["chain"][-1] == p["airport"] and f["arrival"]["evidence"] == "observed"
        flown = [leg["origin"] for leg in sc.truth[p["key"]]] + [sc.truth[p["key"]][-1]["destination"]]
        # every stop the chain names was flown, in order (an unknown stop stays unknown, never invented)
        named = [c for c in f["chain"] if c is not None]
        assert [c for c in flown if c in named] == named
    an124 = _by_hex(doc)[sc.aircraft["P3"]["icao24"]]
    assert an124["chain"] == ["URSS", "DAAG", "GVAC", "SVMI"] and an124["from_country"] == "RU"
    assert an124["operator"] == "Simulated Heavy Lift" and an124["typecode"] == "A124"
    assert {"IT", "BG"} <= set(an124["avoided"])  # flown around EU airspace barred to a Russian operator
    b747 = _by_hex(doc)[sc.aircraft["P2"]["icao24"]]
    assert b747["chain"] == ["OIIE", "DAAG", "GOBD", "SVVA"] and b747["from_country"] == "IR"
    assert b747["max_payload_t"] and b747["max_payload_t"] > 50


def test_decoys_excluded_with_reason_and_overflight_not_counted(scenario, doc):
    from tailwatch.sim.bridge import EXPECTED_REASONS

    sc, _ = scenario
    counted = {f["icao24"] for f in doc["flights"]}
    reasons = {e["icao24"]: e for e in doc["excluded"]}
    for key, reason in EXPECTED_REASONS.items():
        hex_ = sc.aircraft[key]["icao24"]
        assert hex_ not in counted, key
        if reason is None:  # never heard near the place: not in the bridge's population, not listed
            assert hex_ not in reasons, key
            continue
        assert reasons[hex_]["reason"] == reason, (key, reasons[hex_])
    assert "ES by ICAO address block" in reasons[sc.aircraft["D2"]["icao24"]]["detail"]
    assert any("never came near are neither counted nor listed" in n for n in doc["notes"])


def test_totals_baseline_and_colocation(scenario, doc):
    sc, _ = scenario
    t = doc["totals"]
    assert t["flights"] == 3 and t["aircraft"] == 3
    assert sum(d["flights"] for d in t["timeline"]) == 3 and len(t["timeline"]) == 4
    assert t["by_week"] == {"2025-W45": 3}
    assert t["by_origin_country"].get("RU") == 1 and t["by_origin_country"].get("IR") == 1
    known = [f["max_payload_t"] for f in doc["flights"] if f["max_payload_t"] is not None]
    assert t["capacity_t"] == round(sum(known), 1)
    b = doc["baseline"]  # P0 landed at Caracas on 3 November; the data begins that day
    assert b["held"] and b["flights"] == 1 and b["ratio"] == 1.5 and "50%" in b["note"]
    assert sorted(b["first_seen_in_window"]) == sorted(f["icao24"] for f in doc["flights"])
    pairs = [c for c in doc["colocations"] if c["airport"] == "DAAG"]
    assert len(pairs) == 1
    assert {a["icao24"] for a in pairs[0]["aircraft"]} == {sc.aircraft["P1"]["icao24"], sc.aircraft["P3"]["icao24"]}
    assert 12 < pairs[0]["overlap_h"] < 16 and pairs[0]["evidence"] == "observed"


def test_cli_formats(scenario, tmp_path):
    sc, archive = scenario
    out = tmp_path / "bridge.csv"
    r = run("bridge", "--archive", str(archive), "--into", "VE", "--from", "RU,IR,CN", "--class", "heavy-freighter",
            "--start", START, "--end", END, "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["icao24"] for r in rows} == {p["icao24"] for p in sc.planted_arrivals("VE")}
    assert any(r["chain"] == "URSS DAAG GVAC SVMI" and r["chain_evidence"] == "observed observed inferred observed"
               and r["from_country"] == "RU" for r in rows)
    r = run("bridge", "--archive", str(archive), "--into", "SVMI,SVVA", "--from", "RU,IR", "--start", START,
            "--end", END, "--format", "md", "--cargo", "s400-battery")
    assert r.returncode == 0, r.stderr
    assert "# Air bridge into SVMI,SVVA" in r.stdout and "URSS → DAAG → GVAC (inferred) → SVMI" in r.stdout
    # the Panama → Trinidad Il-76 never came low near Caracas or Valencia: not in this bridge's population
    assert "RA-78832" not in r.stdout and "## Cargo: s400-battery" in r.stdout
    # a flagged aircraft with no flight in: the document is written, exit 1 (no result)
    r = run("bridge", "--archive", str(archive), "--into", "CU", "--from", "RU", "--start", START, "--end", END)
    assert r.returncode == 1 and json.loads(r.stdout)["flights"] == []
    assert r.stderr.strip().startswith("no result: no flagged flight into CU")


@pytest.mark.parametrize("args, says", [
    (["--into", "XX", "--start", START, "--end", END], "unknown country code XX"),
    (["--into", "VE", "--from", "RU,QQ", "--start", START, "--end", END], "--from: unknown country code QQ"),
    (["--into", "VE", "--start", END, "--end", START], "is before --start"),
    (["--into", "VE", "--start", START, "--end", START], "empty window"),
    (["--into", "VE", "--start", "2024-01-01", "--end", "2024-01-05"], "empty window: the archive holds no positions"),
    (["--into", "ZZZZ", "--start", START, "--end", END], "unknown airport ZZZZ"),
    (["--into", "VE", "--start", START, "--end", END, "--class", "airliner"], "unknown type class airliner"),
])
def test_bad_input_is_one_line(scenario, args, says):
    _, archive = scenario
    r = run("bridge", "--archive", str(archive), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], r.stderr


# the core on hand-made itinerary documents

def _leg(o, d, oe="observed", de="observed", landing="2025-11-06T10:00:00Z", trip=0, countries=(), **kw):
    ap = lambda c: None if c is None else {"icao": c, "name": c, "country": {"SVMI": "VE", "SVVA": "VE", "DAAG": "DZ",  # noqa: E731
                                                                              "UUWW": "RU", "GQNO": "MR", "TTPP": "TT", "MPTO": "PA"}[c]}
    return {"origin": ap(o), "destination": ap(d), "origin_evidence": oe, "destination_evidence": de,
            "takeoff": kw.get("takeoff"), "landing": landing, "first_point": kw.get("first_point"),
            "last_point": kw.get("last_point", landing), "trip": trip, "countries": list(countries),
            "avoided": kw.get("avoided", []), "max_payload_t": kw.get("max_payload_t")}


def _doc(hex_, legs, **ac):
    return {"aircraft": {"icao24": hex_, "registration": ac.get("registration"), "typecode": ac.get("typecode", "IL76"),
                         "watchlists": []}, "legs": legs, "stops": []}


T0, T1 = datetime(2025, 11, 5, tzinfo=timezone.utc), datetime(2025, 11, 9, tzinfo=timezone.utc)
RU = Criteria(from_countries=frozenset({"RU"}))


def test_unknown_destination_never_counts_even_over_the_country():
    legs = [_leg("DAAG", None, de="unknown", landing=None, last_point="2025-11-06T08:00:00Z", countries=("DZ", "VE"))]
    doc = bridge_document([_doc("154a01", legs)], parse_into("VE"), RU, T0, T1)
    assert doc["flights"] == [] and doc["excluded"][0]["reason"] == "destination unknown"


def test_inferred_arrival_keeps_its_window_and_chain_stops_at_the_trip_and_the_destination():
    legs = [_leg("UUWW", "DAAG", landing="2025-11-05T06:00:00Z", trip=0),
            _leg("DAAG", "GQNO", de="inferred", landing=None, last_point="2025-11-05T12:00:00Z", trip=1),
            _leg("GQNO", "SVMI", oe="inferred", de="inferred", landing=None, last_point="2025-11-05T20:00:00Z",
                 trip=1, max_payload_t=40.0, avoided=["ES"]),
            _leg("SVMI", "SVVA", first_point="2025-11-06T09:00:00Z", takeoff=None, landing="2025-11-06T10:00:00Z", trip=1),
            _leg("SVVA", "DAAG", landing="2025-11-07T10:00:00Z", trip=1, avoided=["PT"])]  # after: not on either chain
    doc = bridge_document([_doc("154a01", legs)], parse_into("VE"), RU, T0, T1)
    first, second = doc["flights"]
    assert first["chain"] == ["DAAG", "GQNO", "SVMI"] and first["from_country"] == "DZ"  # trip 1 began at Algiers
    assert first["arrival"]["time"] is None and first["arrival"]["evidence"] == "inferred"
    assert first["arrival"]["window"] == ["2025-11-05T20:00:00Z", "2025-11-06T09:00:00Z"]
    assert first["avoided"] == ["ES"] and first["max_payload_t"] == 40.0
    assert second["chain"] == ["SVMI", "SVVA"] and second["from_country"] == "VE"
    assert second["avoided"] == []  # Caracas → Valencia went around nothing; the trip's other legs are not its


def test_airports_and_polygon_destinations():
    import shapely

    legs = [_leg("DAAG", "SVVA")]
    assert len(bridge_document([_doc("154a01", legs)], parse_into("SVVA"), RU, T0, T1)["flights"]) == 1
    assert bridge_document([_doc("154a01", legs)], parse_into("SVMI"), RU, T0, T1)["flights"] == []
    box = shapely.box(-68.5, 9.5, -67.5, 10.5)  # around Valencia, not Caracas
    from tailwatch.bridge.place import Destination

    assert len(bridge_document([_doc("154a01", legs)], Destination("box", polygon=box), RU, T0, T1)["flights"]) == 1
    legs = [_leg("DAAG", "SVMI")]
    assert bridge_document([_doc("154a01", legs)], Destination("box", polygon=box), RU, T0, T1)["flights"] == []


def test_criteria_narrow_and_say_why():
    from tailwatch.bridge.criteria import type_class

    ac = {"icao24": "154a01", "registration": "RA-78830", "typecode": "IL76"}
    ok, why, _ = Criteria(from_countries=frozenset({"RU"}), classes=frozenset({"heavy-freighter"})).match(ac)
    assert ok and any("RU by ICAO address block" in w for w in why)
    ok, _, no = Criteria(from_countries=frozenset({"IR"})).match(ac)
    assert not ok and "not from IR" in no[0]
    ok, _, no = Criteria(military=True).match(ac)
    assert not ok and "military" in no[0]
    assert type_class({"typecode": "B744"}) is None  # an airliner designator needs a source saying freighter
    assert type_class({"typecode": "B744", "model": "Boeing 747-400F"}) == "heavy-freighter"
    listed = Criteria(listed=frozenset({"154a01"}), entries={"154a01": [{"list": "ofac", "id": "1", "country": "RU"}]})
    assert listed.match(ac)[0] and not listed.match({"icao24": "154a02"})[0]


def test_bad_into_in_the_core():
    with pytest.raises(BadInput, match="unknown country code XX"):
        parse_into("XX")
    with pytest.raises(BadInput, match="not a country code"):
        parse_into("V")


def test_demo_ends_with_a_bridge_summary(tmp_path):
    r = run("demo", "--out", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    assert "bridge into VE (watchlisted aircraft): 2 flight(s)" in r.stdout
    doc = json.loads((tmp_path / "demo" / "bridge.json").read_text())
    assert doc["schema"] == "tailwatch.bridge/1" and doc["simulated"] is True
    first, second = doc["flights"]
    assert first["chain"][0] == "UUWW" and first["chain"][-1] == "SVMI" and first["from_country"] == "RU"
    # on the way in it went around EU airspace (Yerevan → Algiers); what it went around after Caracas is not its
    assert {"GR", "IT"} <= set(first["avoided"]) and "UA" not in first["avoided"]
    assert second["avoided"] == ["CW"]  # Caracas → Havana → Managua → Caracas went around Curaçao only
    page = (tmp_path / "demo" / "bridge.html").read_text()
    assert "SIMULATED" in page and page.count('class="seg ') >= 2 and "RA-78765" in page


def test_watchlist_file_and_polygon_file(scenario, tmp_path):
    """A plain CSV watchlist (an `icao24` column) narrows to its aircraft; a GeoJSON polygon around
    Caracas takes the landings there and not those at Valencia."""
    from tailwatch.app.bridge import run_bridge

    sc, archive = scenario
    listed = tmp_path / "list.csv"
    listed.write_text(f"icao24,name\n{sc.aircraft['P3']['icao24']},An-124\n{sc.aircraft['D2']['icao24']},A330\n")
    doc = run_bridge(archive, "VE", START, END, watchlist=listed)
    # a list counts whatever it names: the airliner too
    assert sorted(f["icao24"] for f in doc["flights"]) == sorted([sc.aircraft["P3"]["icao24"], sc.aircraft["D2"]["icao24"]])
    assert all(any("on list.csv" in w for w in f["flagged_by"]) for f in doc["flights"])
    assert {e["icao24"]: e["reason"] for e in doc["excluded"]}[sc.aircraft["P1"]["icao24"]] == "not flagged"
    area = tmp_path / "caracas.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                    "geometry": {"type": "Polygon", "coordinates": [[[-67.3, 10.3], [-66.7, 10.3], [-66.7, 10.9],
                                                                     [-67.3, 10.9], [-67.3, 10.3]]]}}]}))
    doc = run_bridge(archive, str(area), START, END, from_="RU,IR")
    assert doc["into"] == "caracas.geojson"
    assert {f["arrival"]["icao"] for f in doc["flights"]} == {"SVMI"}
    assert sc.aircraft["P2"]["icao24"] not in {f["icao24"] for f in doc["flights"]}  # landed at Valencia
    bad = tmp_path / "line.geojson"
    bad.write_text(json.dumps({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}))
    with pytest.raises(BadInput, match="line.geojson: feature 0: a LineString, not a polygon"):
        run_bridge(archive, str(bad), START, END)


def test_preselection_gives_the_same_document(scenario, doc):
    """Itineraries built only for the bridge's population (aircraft heard low near the place) give the
    document that every aircraft's itineraries give."""
    from tailwatch.app.bridge import candidates_for, destination, render, run_bridge, window
    from tailwatch.bridge.criteria import Criteria
    from tailwatch.bridge.place import parse_countries

    sc, archive = scenario
    full = run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"], preselect=False)
    assert render(doc, "json") == render(full, "json")
    t0, t1 = window(START, END)
    criteria = Criteria(from_countries=parse_countries("RU,IR,CN"), classes=frozenset({"heavy-freighter"}))
    population = candidates_for(archive, destination("VE"), criteria, t0 - (t1 - t0), t0, t1)
    counts = population.counts
    assert counts["built"] < counts["seen"] and counts["built"] <= counts["near"]  # the other traffic is not built
    # the airliner into Caracas: not flagged, heard low there: listed from the query, not built
    assert sc.aircraft["D2"]["icao24"] in population.not_flagged and sc.aircraft["D2"]["icao24"] not in population.built
    for key in ("P1", "P2", "P3", "D3"):  # D3 crossed Venezuela low enough to be heard near it
        assert sc.aircraft[key]["icao24"] in population.built, key
    assert sc.aircraft["D1"]["icao24"] not in population.built  # Moscow → Tehran: never near
    # with a watchlist (no country) the preselection still agrees
    listed = run_bridge(archive, "SVMI,SVVA", START, END, military=False, classes=["heavy-freighter"])
    assert render(listed, "json") == render(
        run_bridge(archive, "SVMI,SVVA", START, END, classes=["heavy-freighter"], preselect=False), "json")
