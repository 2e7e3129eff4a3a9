"""Every real recording of the `traffic` 2.13 wheel in one ingest, then every itinerary checked
against what the data can support (docs/itinerary.md, "Invariants on real recordings").

These are the claims a reader of a newspaper would check: nothing *observed* without the messages
behind it, no stop inferred where the aircraft was not tracked for days, no analysis step that
silently failed, the flights' own airports where the recording names them, the identity the
recording states used, and a payload figure wherever the type is known.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from tailwatch.airlift.types import aircraft_type
from tailwatch.heard_store import read_heard
from tailwatch.itinerary.trips import UNTRACKED_AFTER_S

pytestmark = pytest.mark.slow

# files of the samples that hold no aircraft positions: refusing them is right
NOT_TRAJECTORIES = {"airspaces/LFBOTMA.json", "performance/fuelflow_a320.json.gz"}  # an airspace; a fuel-flow log without positions


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=timeout)


def _t(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@pytest.fixture(scope="module")
def world(traffic_samples: Path, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess, dict[str, dict]]:
    work = tmp_path_factory.mktemp("real")
    archive = work / "archive"
    ingest = _cli("ingest", str(traffic_samples), "--archive", str(archive))
    out = work / "all.json"
    run = _cli("itinerary", "--archive", str(archive), "--all", "--format", "json", "--out", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    docs = json.loads(out.read_text())
    return traffic_samples, archive, ingest, {d["aircraft"]["icao24"]: d for d in docs}


def test_one_call_stores_every_recording_and_names_each_refused_file(world) -> None:
    samples, archive, ingest, docs = world
    errors = [line for line in ingest.stderr.splitlines() if line.startswith("error:")]
    assert ingest.returncode == (2 if errors else 0), ingest.stderr[-2000:]
    refused = set()
    for line in errors:
        assert len(line) < 600 and "Traceback" not in line, line
        path = line.removeprefix("error: ").split(": ", 1)[0]
        refused.add(Path(path).relative_to(samples).as_posix())
    assert refused <= NOT_TRAJECTORIES, refused
    assert len(docs) > 1000  # every collection's aircraft reached the archive


def test_no_position_withheld_where_position_messages_were_sent(world) -> None:
    _, archive, _, docs = world
    heard = read_heard(archive)
    claims = [(icao, d) for icao, doc in docs.items() for d in doc.get("dark_intervals", [])
              if d["kind"] == "position_withheld"]
    for icao, claim in claims:
        inside = heard.filter((pl.col("icao24") == icao) & (pl.col("first") >= _t(claim["start"]))
                              & (pl.col("last") <= _t(claim["end"])))
        sent = inside["position_messages"].fill_null(inside["positions"]).sum() if inside.height else 0
        assert sent == 0, (icao, claim)
    # the rs1090 recording's taxi at Paris-CDG: surface positions, not a withheld position
    assert not [c for icao, c in claims if icao == "393322"]


def test_no_stop_inferred_across_a_gap_beyond_the_bound(world) -> None:
    _, _, _, docs = world
    for icao, doc in docs.items():
        for stop in doc["stops"]:
            if stop["evidence"] == "observed" or not (stop.get("window_start") and stop.get("window_end")):
                continue
            gap = _t(stop["window_end"]) - _t(stop["window_start"])
            has_candidates = stop["airport"] is not None or stop.get("alternatives")
            assert not (gap.total_seconds() > UNTRACKED_AFTER_S and has_candidates), (icao, stop)


def test_no_analysis_step_failed(world) -> None:
    _, _, _, docs = world
    failed = [(icao, n) for icao, doc in docs.items() for n in doc.get("notes", []) if "failed" in n]
    assert failed == []


def test_flightradar24_flights_keep_their_own_airports(world) -> None:
    samples, _, _, docs = world
    for path in sorted((samples / "fr24").glob("*.json")):
        flight = json.loads(path.read_text())["result"]["response"]["data"]["flight"]
        icao24 = flight["aircraft"]["identification"]["modes"].lower()
        want = (flight["airport"]["origin"]["code"]["icao"], flight["airport"]["destination"]["code"]["icao"])
        legs = [((leg["origin"] or {}).get("icao"), (leg["destination"] or {}).get("icao")) for leg in docs[icao24]["legs"]]
        assert want in legs, (path.name, legs)


def test_the_readsb_trace_lands_at_denver(world) -> None:
    _, _, _, docs = world
    last = docs["ac671b"]["legs"][-1]
    assert (last["destination"] or {}).get("icao") == "KDEN"


def test_identity_from_the_recordings_alone(world) -> None:
    samples, archive, _, _ = world
    who = _cli("whois", "HB-JMF", "--archive", str(archive), "--format", "json")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["icao24"] == "4b1901"
    run = _cli("itinerary", "--archive", str(archive), "--aircraft", "HB-JMF", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    doc = doc[0] if isinstance(doc, list) else doc
    assert doc["aircraft"]["icao24"] == "4b1901" and doc["aircraft"]["typecode"] == "A343"


def test_every_known_type_gets_a_payload_figure(world) -> None:
    samples, _, _, docs = world
    hexes = [json.loads(p.read_text())["result"]["response"]["data"]["flight"]["aircraft"]["identification"]["modes"].lower()
             for p in sorted((samples / "fr24").glob("*.json"))] + ["ac671b"]
    checked = 0
    for icao in hexes:
        aircraft = docs[icao]["aircraft"]
        assert aircraft["typecode"], (icao, aircraft)  # the recordings state every one of these types
        if aircraft_type(aircraft["typecode"]) is None:
            continue
        closed = [leg for leg in docs[icao]["legs"] if leg["origin"] and leg["destination"]]
        # a figure, or beyond the type's sourced range an upper bound (the C-40C's 5,661 km around the
        # South China Sea needs more range than its one sourced point: unknown, at most 2.3 t)
        assert closed and all(leg["max_payload_t"] is not None or (leg["payload_band_t"] or [None, None])[1] is not None
                              for leg in closed), (icao, closed)
        checked += 1
    assert checked >= 3
