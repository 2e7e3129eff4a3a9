"""`tailwatch ingest` end to end: per-file summary, rejects as file:line, exit codes, --icao24."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from tailwatch.archive import scan


def tailwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=300,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_ingest_folder_summary_and_rerun(tmp_path: Path, traffic_samples: Path):
    arc = tmp_path / "arc"
    out = tailwatch("ingest", str(traffic_samples / "fr24"), str(traffic_samples / "readsb"), "--archive", str(arc))
    assert out.returncode == 0, out.stderr
    assert "fr24-json" in out.stdout and "readsb-trace" in out.stdout and "total (5 files)" in out.stdout
    assert scan(arc).select(pl.len()).collect().item() == 871 + 305 + 1249 + 634 + 2500
    again = tailwatch("ingest", str(traffic_samples / "fr24"), "--archive", str(arc))
    assert again.returncode == 0 and "already ingested" in again.stdout


def test_ingest_bad_lines_and_unknown_format(tmp_path: Path, traffic_samples: Path):
    arc = tmp_path / "arc"
    sbs = tmp_path / "feed.txt"
    sbs.write_text(
        "MSG,3,1,1,4CA2D6,1,2024/03/01,10:00:01.000,2024/03/01,10:00:01.000,,35000,,,51.5,-0.12,,,0,0,0,0\n"
        "MSG,3,1,1,4CA2D6,1,2024/03/01,10:00:02.000,2024/03/01,10:00:02.000,,35000,,,north,-0.12,,,0,0,0,0\n"
    )
    notes = tmp_path / "notes.md"
    notes.write_text("# not ADS-B\n")
    out = tailwatch("ingest", str(sbs), str(notes), "--archive", str(arc))
    assert out.returncode == 2
    assert f"rejected {sbs}:2: unparsable lat" in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "unknown format" in errors[0] and "opensky-csv" in errors[0]
    assert "Traceback" not in out.stderr
    assert scan(arc).select(pl.len()).collect().item() == 1  # the good file went in anyway


def test_ingest_fr24_csv_needs_an_address(tmp_path: Path, traffic_samples: Path):
    flight = json.loads((traffic_samples / "fr24" / "372355e5.json").read_bytes())["result"]["response"]["data"]["flight"]
    rows = ["Timestamp,UTC,Callsign,Position,Altitude,Speed,Direction"] + [
        f'{p["timestamp"]},x,ABC123,"{p["latitude"]},{p["longitude"]}",{p["altitude"]["feet"]},{p["speed"]["kts"]},{p["heading"]}'
        for p in flight["track"]
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(rows) + "\n")
    arc = tmp_path / "arc"
    out = tailwatch("ingest", str(path), "--archive", str(arc))
    assert out.returncode == 0
    assert f"rejected {path}: no aircraft address (give one with --icao24)" in out.stderr
    assert not scan(arc).collect().height
    bad = tailwatch("ingest", str(path), "--archive", str(arc), "--icao24", "xyz")
    assert bad.returncode == 2 and "6 hex digits" in bad.stderr
    good = tailwatch("ingest", str(path), "--archive", str(arc), "--icao24", "4BAAC6")
    assert good.returncode == 0, good.stderr
    stored = scan(arc).collect()
    assert stored.height == len(flight["track"]) and stored["icao24"].unique().to_list() == ["4baac6"]
