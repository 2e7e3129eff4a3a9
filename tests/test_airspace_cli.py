"""`tailwatch route`: JSON contract, briefing text, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=120)


def test_route_json_with_fuel_stop():
    out = run("route", "UUWW", "SVMI", "--type", "IL76", "--operator-country", "RU", "--date", "2024-06-01",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert {"airports", "distance_km", "legs", "avoided"} <= set(answer)
    assert answer["airports"][0] == "UUWW" and answer["airports"][-1] == "SVMI"
    assert answer["distance_km"] > 9920
    assert {"GB", "SE"} <= set(answer["avoided"])
    assert answer["range_km"] and all(leg["distance_km"] <= answer["range_km"] for leg in answer["legs"])
    assert len(answer["legs"]) == len(answer["airports"]) - 1
    assert abs(sum(leg["distance_km"] for leg in answer["legs"]) - answer["distance_km"]) < 1.0
    crossed = {c for leg in answer["legs"] for c in leg["countries"]}
    assert not crossed & set(answer["banned"])


def test_route_markdown_reads_like_a_briefing():
    out = run("route", "UDYZ", "DAAG", "--operator-country", "RU", "--range-km", "6000", "--date", "2024-06-01",
              "--format", "md")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "The direct great circle from UDYZ to DAAG" in text
    assert "Greece (GR)" in text and "Italy (IT)" in text
    assert "The shortest route that avoids banned airspace is" in text
    assert "6,000 km (given)" in text


def test_route_errors():
    out = run("route", "ZZZZ", "DAAG")
    assert out.returncode == 2 and "ZZZZ" in out.stderr and "Traceback" not in out.stderr
    out = run("route", "UUWW", "EDDF", "--operator-country", "RU", "--date", "2024-06-01")
    assert out.returncode == 1 and "EDDF" in out.stderr and "banned" in out.stderr
    out = run("route", "UUWW", "UDYZ", "--format", "xml")
    assert out.returncode == 2


def test_heavier_payload_means_shorter_hops():
    out = run("route", "UUWW", "SVMI", "--type", "IL76", "--operator-country", "RU", "--payload-t", "40",
              "--date", "2024-06-01")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert "40 t" in answer["range_basis"]
    assert len(answer["fuel_stops"]) >= 2
    assert all(leg["distance_km"] <= answer["range_km"] for leg in answer["legs"])


def test_route_refuses_unknown_type_and_bad_country_code():
    out = run("route", "UDYZ", "DAAG", "--type", "NOPE", "--format", "json")
    assert out.returncode == 2 and "NOPE" in out.stderr and "Traceback" not in out.stderr
    out = run("route", "UDYZ", "DAAG", "--type", "NOPE", "--range-km", "6000", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["range_km"] == 6000
    out = run("route", "UDYZ", "DAAG", "--type", "IL76", "--operator-country", "Russia")
    assert out.returncode == 2 and "--operator-country" in out.stderr
