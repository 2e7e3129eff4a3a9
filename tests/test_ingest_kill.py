"""Durability of `tailwatch ingest`: SIGKILL it 20 times at random moments, and run two at once.

After every kill the archive opens, every committed file is a complete Parquet file,
and no row is stored twice; the next full run leaves no temporary file and exactly the
rows of an uninterrupted ingest. Two ingests of the same input into one archive at
the same time end with one copy of each row.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from tailwatch.archive import partition_files, scan

KEYS = ["icao24", "timestamp", "latitude", "longitude"]
FLUSH_ROWS = "40000"  # small flushes: many files, so kills land between and inside writes


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, traffic_samples: Path) -> Path:
    """Real OpenSky-derived points as two state-vector CSVs, and 24 readsb traces (gzip) on four days."""
    folder = tmp_path_factory.mktemp("kill-inputs")
    quick = pl.DataFrame(json.loads(gzip.decompress((traffic_samples / "collections" / "quickstart.json.gz").read_bytes())))
    states = quick.select(
        (pl.col("timestamp") // 1000).alias("time"), "icao24", pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"), (pl.col("groundspeed") * 0.514444).alias("velocity"),
        pl.col("track").alias("heading"), pl.lit(0.0).alias("vertrate"), "callsign", "onground",
        (pl.col("altitude") * 0.3048).alias("baroaltitude"), (pl.col("timestamp") / 1000).alias("lastposupdate"),
    )
    half = states.height // 2
    states.slice(0, half).write_csv(folder / "states-a.csv")
    states.slice(half).write_csv(folder / "states-b.csv")
    text = (traffic_samples / "readsb" / "trace_full_ac671b.json").read_text()
    base = json.loads(text)["timestamp"]
    for k in range(24):
        icao = f"{0xAC671B + k:06x}"
        body = text.replace('"icao":"ac671b"', f'"icao":"{icao}"', 1).replace(
            f'"timestamp": {base}', f'"timestamp": {base + 86400 * (k % 4)}', 1)
        (folder / f"trace_full_{icao}.json").write_bytes(gzip.compress(body.encode(), compresslevel=1))
    return folder


def ingest_cmd(inputs: Path, archive: Path) -> list[str]:
    return [sys.executable, "-m", "tailwatch.cli", "ingest", str(inputs), "--archive", str(archive)]


ENV = dict(os.environ, TAILWATCH_FLUSH_ROWS=FLUSH_ROWS, COLUMNS="200")


def stored_keys(archive: Path) -> pl.DataFrame:
    for f in partition_files(archive):
        pq.read_metadata(f)  # complete: footer and magic in place
    return scan(archive).select(KEYS).collect()


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory) -> tuple[int, float]:
    """Rows of an uninterrupted ingest, and how long it took."""
    archive = tmp_path_factory.mktemp("kill-ref") / "arc"
    t0 = time.monotonic()
    run = subprocess.run(ingest_cmd(inputs, archive), env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return stored_keys(archive).height, time.monotonic() - t0


@pytest.mark.slow
def test_sigkill_at_random_moments(inputs: Path, reference, tmp_path: Path):
    rows, seconds = reference
    archive = tmp_path / "arc"
    rng = random.Random(19)
    finished = 0
    for _ in range(20):
        proc = subprocess.Popen(ingest_cmd(inputs, archive), env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, seconds))
        proc.send_signal(signal.SIGKILL)
        finished += proc.wait() == 0
        keys = stored_keys(archive)  # opens at every moment
        assert keys.height <= rows and keys.unique().height == keys.height
    assert finished < 20  # the kills landed mid-run (else the test proves nothing)
    again = subprocess.run(ingest_cmd(inputs, archive), env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    keys = stored_keys(archive)
    assert keys.height == rows and keys.unique().height == rows
    assert not [p for p in archive.rglob("*.tmp")], "a killed writer's temporary file was left behind"


@pytest.mark.slow
def test_two_ingests_at_once_store_one_copy(inputs: Path, reference, tmp_path: Path):
    rows, _ = reference
    archive = tmp_path / "arc"
    procs = [subprocess.Popen(ingest_cmd(inputs, archive), env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    keys = stored_keys(archive)
    stored, distinct = keys.height, keys.unique().height
    assert (stored, distinct) == (rows, rows)
