"""add_payload on tailwatch.itinerary/1 dicts, and the airlift CLI on them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tailwatch.airlift.enrich import add_payload, read_itineraries
from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.base import BadInput


def leg(origin: str, destination: str, detour: float = 1.0) -> dict:
    a, b = airport(origin), airport(destination)
    gc = float(haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    end = lambda p: {"icao": p["icao"], "name": p["name"], "country": p["country"]}  # noqa: E731
    return {"origin": end(a), "destination": end(b), "takeoff": None, "landing": None,
            "origin_evidence": "observed", "destination_evidence": "observed", "confidence": 0.9,
            "great_circle_km": gc, "flown_km": gc * detour, "countries": [], "banned_countries": [],
            "max_payload_t": None}


@pytest.fixture
def itinerary() -> dict:
    legs = [leg("UUWW", "LTAC", 1.02), leg("LTAC", "GQNO", 1.05), leg("GQNO", "SVMI", 1.0)]
    return {"schema": "tailwatch.itinerary/1",
            "aircraft": {"icao24": "1234ab", "registration": None, "typecode": "IL76", "country": None,
                         "watchlists": []},
            "legs": legs, "route": {"airports": ["UUWW", "LTAC", "GQNO", "SVMI"]}}


def test_add_payload_fills_legs_and_summary_without_touching_the_input(itinerary):
    before = json.dumps(itinerary, sort_keys=True)
    out = add_payload(itinerary, None)  # typecode taken from the aircraft
    assert json.dumps(itinerary, sort_keys=True) == before
    payloads = [lg["max_payload_t"] for lg in out["legs"]]
    assert payloads[0] == pytest.approx(50.0)  # Moscow–Ankara, ~1,800 km: full load
    assert payloads[2] < 40.0  # Nouakchott–Caracas
    for lg in out["legs"]:
        lo, hi = lg["payload_band_t"]
        assert lo <= lg["max_payload_t"] <= hi
    summary = out["airlift"]
    assert summary["type"] == "IL76TD" and summary["evidence"] == "inferred"
    assert summary["limiting_leg"] == 2
    assert summary["end_to_end_max_t"] == pytest.approx(min(payloads))


def test_add_payload_copies_only_what_it_and_the_steps_after_it_write(itinerary):
    """The document, its legs and its notes are new; the rest is shared, not copied (a deep copy
    of every document of a batch cost more than the payload model)."""
    itinerary["notes"] = ["from the build"]
    before = json.dumps(itinerary, sort_keys=True)
    out = add_payload(itinerary, None)
    out["notes"].append("hiding enrichment failed: ...")  # what core.enrich does when a later step fails
    out["legs"][0]["countries"] = ["RU"]
    assert json.dumps(itinerary, sort_keys=True) == before
    assert out["aircraft"] is itinerary["aircraft"] and out["route"] is itinerary["route"]
    assert all(a is not b for a, b in zip(out["legs"], itinerary["legs"]))
    assert "max_payload_t" in out["legs"][0] and "payload_band_t" not in itinerary["legs"][0]


def test_add_payload_falls_back_to_great_circle_and_handles_unknown_types(itinerary):
    del itinerary["legs"][0]["flown_km"]
    out = add_payload(itinerary, "C17")
    assert out["airlift"]["type"] == "C17" and out["legs"][0]["max_payload_t"] == pytest.approx(77.5)
    unknown = add_payload(itinerary, "ZZZZ")
    assert unknown["airlift"]["known"] is False and "ZZZZ" in unknown["airlift"]["note"]
    assert all(lg["max_payload_t"] is None for lg in unknown["legs"])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", "airlift", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_leg_km_json_shape():
    r = run_cli("--type", "IL76", "--leg-km", "5550", "--leg-km", "951", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "IL76TD"
    (far, near) = doc["legs"]
    assert far["distance_km"] == 5550 and far["max_payload_t"] < 40 and len(far["band_t"]) == 2
    assert near["max_payload_t"] == 50.0 and near["band_t"] == [50.0, 52.0]
    assert doc["limiting_leg"] == 0


def test_cli_itinerary_file_array_cargo_and_claim(itinerary, tmp_path):
    f = tmp_path / "itins.json"
    f.write_text(json.dumps([itinerary, add_payload(itinerary, None)]), encoding="utf-8")
    r = run_cli("--itinerary", str(f), "--cargo", "shahed-136", "--count", "60", "--claim-t", "45")
    assert r.returncode == 0, r.stderr
    docs = json.loads(r.stdout)
    assert isinstance(docs, list) and len(docs) == 2
    legs = docs[0]["legs"]
    assert [lg["origin"] for lg in legs] == ["UUWW", "LTAC", "GQNO"]
    assert legs[2]["distance_km"] == pytest.approx(itinerary["legs"][2]["flown_km"], abs=0.05)
    assert all(lg["sorties"]["sorties"] == 1 for lg in legs)
    assert docs[0]["claim"]["verdict"] == "exceeds"
    md = run_cli("--itinerary", str(f), "--type", "IL76MD90A", "--format", "md")
    assert md.returncode == 0 and "| leg | distance km |" in md.stdout and "Il-76MD-90A" in md.stdout


def test_cli_errors_are_one_line_with_exit_2(tmp_path):
    r = run_cli("--type", "XX", "--leg-km", "100")
    assert r.returncode == 2 and r.stderr.strip() == "error: unknown aircraft type 'XX': no payload data for it"
    long = tmp_path / "long.csv"
    long.write_text("item,mass_kg,length_m\nrail,1000,30\n", encoding="utf-8")
    r = run_cli("--type", "IL76", "--leg-km", "951", "--cargo", str(long))
    assert r.returncode == 2 and "longer than the IL76TD hold floor" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{\"legs\": [", encoding="utf-8")
    r = run_cli("--itinerary", str(bad))
    assert r.returncode == 2 and "bad.json:1:" in r.stderr


def test_read_itineraries_rejects_legs_without_distance(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"legs": [{"origin": None}]}), encoding="utf-8")
    with pytest.raises(BadInput, match="leg 0 has no flown_km or great_circle_km"):
        read_itineraries(f)


def test_add_payload_on_an_itinerary_rebuilt_from_simulated_points():
    import tailwatch.itinerary.build as build  # in-repo: a broken import must fail, not skip
    import tailwatch.sim as sim
    from datetime import datetime, timezone

    stops = [airport("UUWW"), airport("LTAC"), airport("GQNO")]
    points, truth = sim.simulate_trip(stops, datetime(2024, 3, 1, 6, tzinfo=timezone.utc), [3.0], "4b1805",
                                      step_s=30.0)
    itin = build.build_itinerary(points, typecode="IL76").to_json()
    out = add_payload(itin, None)
    legs = [lg for lg in out["legs"] if lg.get("flown_km")]
    assert len(legs) == len(truth) == 2
    assert legs[0]["max_payload_t"] == pytest.approx(50.0)  # Moscow–Ankara
    assert legs[1]["max_payload_t"] < 50.0  # Ankara–Nouakchott, ~5,000 km flown
    assert out["airlift"]["limiting_leg"] == 1 and out["airlift"]["type"] == "IL76TD"
