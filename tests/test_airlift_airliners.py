"""Airliner types the real recordings carry: every one has a sourced payload figure on its own leg.

The FR24 samples (B737 = a C-40C, A359, A343, B738) and the readsb trace (B739) name their type;
the itinerary takes the type from the data, so each of those types must resolve and give a payload
(with its band) over the distance the recording flew. The figures are the payload the leg allowed
(passengers + bags + cargo), inferred from sourced payload–range points, never observed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from tailwatch.airlift.payload import leg_payload, light_payload_range_km
from tailwatch.airlift.types import aircraft_type
from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import haversine_km

SRC = Path(__file__).resolve().parents[1] / "src"
AIRLINERS = ("B737", "B738", "B739", "A320", "A321", "A332", "A343", "A359", "B77W", "B772", "B789")


def _gc_km(a: str, b: str) -> float:
    x, y = airport(a), airport(b)
    return float(haversine_km(x["latitude"], x["longitude"], y["latitude"], y["longitude"]))


def _fr24_flights(root: Path) -> list[tuple[str, str, str, str]]:
    """(file, typecode, origin ICAO, destination ICAO) of each FR24 sample."""
    out = []
    for path in sorted((root / "fr24").glob("*.json")):
        flight = json.loads(path.read_text(encoding="utf-8"))["result"]["response"]["data"]["flight"]
        ap = flight["airport"]
        out.append((path.name, flight["aircraft"]["model"]["code"],
                    ap["origin"]["code"]["icao"], ap["destination"]["code"]["icao"]))
    return out


def _cli(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_fr24_and_readsb_type_has_a_payload_on_its_own_leg(traffic_samples):
    flights = _fr24_flights(traffic_samples)
    assert {code for _, code, _, _ in flights} == {"B737", "A359", "A343", "B738"}
    trace = json.loads((traffic_samples / "readsb" / "trace_full_ac671b.json").read_text(encoding="utf-8"))
    first, last = trace["trace"][0], trace["trace"][-1]
    readsb_km = float(haversine_km(first[1], first[2], last[1], last[2]))
    legs = [(name, code, _gc_km(o, d)) for name, code, o, d in flights] + [("readsb", trace["t"], readsb_km)]
    for name, code, km in legs:
        spec = aircraft_type(code)
        assert spec is not None, f"{name}: type {code} has no data"
        lp = leg_payload(code, km)
        assert lp.max_payload_t is not None, f"{name}: {code} over {km:,.0f} km has no payload"
        lo, hi = lp.band_t
        assert 0 < lo <= lp.max_payload_t <= hi <= spec.max_payload_t + 1e-9, (name, lp)


def test_cli_a343_zurich_cancun_gives_a_payload_with_a_band(traffic_samples):
    (km,) = [_gc_km(o, d) for _, code, o, d in _fr24_flights(traffic_samples) if code == "A343"]
    assert km == pytest.approx(8693, abs=1)  # the FR24 sample's LSZH–MMUN
    doc = _cli("airlift", "--type", "A343", "--leg-km", "8693", "--format", "json")
    assert doc["type"] == "A343" and doc["type_name"] == "Airbus A340-300" and doc["evidence"] == "inferred"
    (leg,) = doc["legs"]
    lo, hi = leg["band_t"]
    assert leg["max_payload_t"] == pytest.approx(28.0)  # 295 passengers with bags at 95 kg, sourced over 13,149 km
    assert lo == pytest.approx(28.0) and hi == pytest.approx(48.1)  # up to the sourced maximum payload
    assert leg["limited_by"] == "sourced point" and leg["extrapolated"] is False
    assert leg["required_range_km"] == pytest.approx(8693 * 1.05 + 370 + 0.5 * 871, abs=0.1)
    assert doc["sources"]["max_payload_t"].startswith("aeropedia.com.au")


def test_cli_b739_over_1400_km():
    doc = _cli("airlift", "--type", "B739", "--leg-km", "1400", "--format", "json")
    (leg,) = doc["legs"]
    lo, hi = leg["band_t"]
    assert lo == pytest.approx(16.8) and leg["max_payload_t"] == pytest.approx(16.8)
    assert hi == pytest.approx(20.7)  # MZFW − OEW of the 737-900
    assert doc["type_name"].startswith("Boeing 737-900")


def test_aliases_resolve():
    expect = {"A340-313": "A343", "a340-300": "A343", "A350-941": "A359", "A350-900": "A359",
              "C-40C": "B737", "C40B": "B737", "BBJ": "B737", "737-700": "B737", "737-800": "B738",
              "B737-900": "B739", "737-900ER": "B739", "B739ER": "B739", "A320-200": "A320",
              "777-300ER": "B77W", "777-200": "B772", "777-200ER": "B772", "787-9": "B789"}
    for code, resolved in expect.items():
        assert aircraft_type(code).code == resolved, code
    for code in AIRLINERS:
        assert aircraft_type(code).code == code


def test_airliners_set_no_runway_floor_and_no_leg_limit_for_the_itinerary():
    """A runway length at MTOW, or a range from one lone point, would let the itinerary exclude an
    airport the aircraft used or invent a stop: neither is set for these types."""
    for code in AIRLINERS:
        spec = aircraft_type(code)
        assert spec.min_runway_ft is None, code
        assert light_payload_range_km(code) is None, code
        assert 420 < spec.cruise_kt < 500, code  # Mach 0.78–0.85 at 11,000 m


def test_every_airliner_row_is_sourced_dated_and_inside_its_band():
    text = files("tailwatch").joinpath("data", "aircraft_types.csv").read_text(encoding="utf-8")
    rows = [r for r in csv.DictReader(text.splitlines()) if r["type"] in AIRLINERS]
    assert {r["type"] for r in rows} == set(AIRLINERS)
    for r in rows:
        assert r["source"].strip() and r["as_of"][:2] in ("19", "20"), r
        if r["field"] == "range_km":
            payload = float(r["payload_t"])
            assert 0 < payload <= aircraft_type(r["type"]).max_payload_t, r
            if "passengers ×" in r["note"]:  # a passenger load turned into mass: the note says how
                assert "95 kg" in r["note"] and "not a sourced mass" in r["note"], r
    for code in AIRLINERS:
        spec = aircraft_type(code)
        assert spec.points and spec.mtow_t and spec.max_payload_t, code
        assert all(p.payload_t < spec.max_payload_t < spec.mtow_t for p in spec.points), code
