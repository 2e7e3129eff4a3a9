"""`tailwatch itinerary --all` over an archive: the batch ends with one summary line on stderr
(itineraries, points, seconds, points/s, aircraft/s) and its documents are the JSON on stdout."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl

from tailwatch.archive import ArchiveWriter
from tailwatch.ingest.pipeline import read_file


def test_every_aircraft_ends_with_a_summary_line(traffic_samples: Path, tmp_path: Path) -> None:
    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null())
    part = frame.filter(pl.col("timestamp") < frame["timestamp"].min() + timedelta(minutes=20))
    archive = tmp_path / "arc"
    writer = ArchiveWriter(archive, "quickstart-20min")
    writer.write(part)
    writer.flush()
    writer.commit({"source": "quickstart, first 20 minutes"})
    from tailwatch.engines.duckdb import count_points

    stored = count_points(archive)
    out = subprocess.run([sys.executable, "-m", "tailwatch.cli", "itinerary", "--archive", str(archive), "--all",
                          "--format", "json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    line = out.stderr.strip().splitlines()[-1]
    found = re.fullmatch(r"([\d,]+) itineraries \(([\d,]+) points, ([\d.]+) s: ([\d,]+) points/s, ([\d.,]+) aircraft/s\)",
                         line)
    assert found, line
    assert int(found[1].replace(",", "")) == len(docs) == part["icao24"].n_unique()
    assert int(found[2].replace(",", "")) == stored
    seconds, rate = float(found[3]), int(found[4].replace(",", ""))  # seconds printed to 0.1
    assert stored / (seconds + 0.05) - 1 <= rate <= stored / max(seconds - 0.05, 1e-3) + 1
