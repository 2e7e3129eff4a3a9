"""GNSS interference map on the SIMULATED hiding scenario: the jammed region's cells, not its neighbours."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import h3
import numpy as np
import polars as pl
import pytest

from tailwatch.archive import write_frames
from tailwatch.geo.geodesy import haversine_km
from tailwatch.hiding.interference import degraded, interference, position_jumps
from tailwatch.sim.hiding import crossings, scenario

EDGE_KM = h3.average_hexagon_edge_length(4, "km")  # ~ the circumradius of a resolution-4 cell


@pytest.fixture(scope="module")
def day():
    return scenario()


@pytest.fixture(scope="module")
def cells(day) -> pl.DataFrame:
    points, _ = day
    return interference(points)


def _distance(cells: pl.DataFrame, where: tuple[float, float]) -> np.ndarray:
    return np.asarray(haversine_km(cells["latitude"].to_numpy(), cells["longitude"].to_numpy(), *where))


def test_jammed_cells_marked_and_neighbours_not(day, cells: pl.DataFrame) -> None:
    _, truth = day
    d = _distance(cells, truth["jam_centre"])
    r = truth["jam_radius_km"]
    inside = cells.filter(pl.Series(d < r - 1.2 * EDGE_KM))  # hexagons wholly inside the circle
    outside = cells.filter(pl.Series(d > r + 1.2 * EDGE_KM))  # wholly outside
    assert inside.height >= 20 and outside.height >= 200
    assert (inside["level"] == "high").all() and (inside["share"] > 0.9).all()
    assert (outside["degraded"] == 0).all() and (outside["level"].drop_nulls() == "low").all()
    # the ring of neighbours just outside the circle: also clean
    ring = cells.filter(pl.Series((d > r + 1.2 * EDGE_KM) & (d < r + 4 * EDGE_KM)))
    assert ring.height >= 10 and (ring["level"] != "high").all()


def test_spoofed_spot_flagged(day, cells: pl.DataFrame) -> None:
    _, truth = day
    near_fake = _distance(cells, truth["spoof_fake"]) < 1.2 * EDGE_KM
    near_area = _distance(cells, truth["spoof_centre"]) < truth["spoof_radius_km"] + 2.5 * EDGE_KM
    flagged = cells.filter(pl.col("spoofed") > 0)
    assert cells.filter(pl.Series(near_fake))["spoofed"].max() >= 10  # many aircraft pinned to one spot
    # every flag is at the fake spot or where aircraft entered / left the spoofed area
    assert (near_fake | near_area)[cells["spoofed"].to_numpy() > 0].all() and flagged.height >= 3


def test_each_aircraft_counts_once_per_cell() -> None:
    t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    base = crossings(3, t0, 1.0, (45.0, 10.0, 45.5, 10.5), step_s=2.0, seed=1)
    one = base.filter(pl.col("icao24") == base["icao24"][0]).with_columns(pl.lit(2, pl.UInt8).alias("nac_p"))
    mixed = pl.concat([base.filter(pl.col("icao24") != base["icao24"][0]), one]).sort("icao24", "timestamp")
    out = interference(mixed, min_aircraft=1, spoofing=False)
    assert (out["aircraft"] <= 3).all() and out["degraded"].max() == 1
    assert out.filter(pl.col("degraded") == 1)["share"].to_list() == pytest.approx(
        [1 / a for a in out.filter(pl.col("degraded") == 1)["aircraft"]])


def test_thresholds_and_unknown_figures() -> None:
    frame = pl.DataFrame({"nac_p": [8, 7, None, None, 10], "nic": [7, None, 6, None, 8]},
                         schema={"nac_p": pl.UInt8, "nic": pl.UInt8})
    known, bad = degraded(frame)
    assert known.tolist() == [True, True, True, False, True]
    assert bad.tolist() == [False, True, True, False, False]


def test_position_jump_against_speed() -> None:
    t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    frame = pl.DataFrame({
        "icao24": ["abc123"] * 4,
        "timestamp": [t0 + timedelta(seconds=10 * i) for i in range(4)],
        "latitude": [45.0, 45.01, 46.5, 46.51],  # 166 km in 10 s at 450 kt: a jump
        "longitude": [10.0, 10.0, 10.0, 10.0],
        "groundspeed": [450.0] * 4, "track": [0.0] * 4,
    })
    assert position_jumps(frame).tolist() == [False, False, True, False]


def test_cli_writes_offline_html_geojson_csv(day, tmp_path: Path) -> None:
    points, truth = day
    archive = tmp_path / "archive"
    write_frames(archive, [points], "sim-hiding")
    run = lambda *a: subprocess.run([sys.executable, "-m", "tailwatch.cli", "interference", "--archive", str(archive),
                                     *a], capture_output=True, text=True, timeout=300)  # noqa: E731
    html_out = run("--format", "html", "--out", str(tmp_path / "map.html"))
    assert html_out.returncode == 0, html_out.stderr
    page = (tmp_path / "map.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page and "SIMULATED" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert page.count('class="cell high"') >= 20
    geo = run("--format", "geojson", "--start", "2026-03-02T00:00:00Z", "--end", "2026-03-02T23:59:59Z")
    assert geo.returncode == 0, geo.stderr
    features = json.loads(geo.stdout)["features"]
    assert features and all(f["geometry"]["type"] == "Polygon" for f in features)
    assert {f["properties"]["level"] for f in features} >= {"low", "high"}
    csv_out = run("--format", "csv", "--period", "hour")
    assert csv_out.returncode == 0
    assert csv_out.stdout.splitlines()[0].startswith("period_start,cell,")
    bad = run("--format", "kml")
    assert bad.returncode == 2 and "--format" in bad.stderr and "Traceback" not in bad.stderr
    empty = run("--start", "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z")
    assert empty.returncode == 1


def test_archive_older_than_the_integrity_columns(tmp_path: Path) -> None:
    """Files written before nac_p/nic existed read them as null: no cell, exit 1, no crash."""
    from tailwatch.engines.duckdb import columns_for
    from tailwatch.schema import COLUMNS

    points = crossings(20, datetime(2026, 3, 2, tzinfo=timezone.utc), 2.0, (45.0, 10.0, 46.0, 12.0), seed=2)
    folder = tmp_path / "old" / "date=2026-03-02"
    folder.mkdir(parents=True)
    points.select(COLUMNS).write_parquet(folder / "part-old.parquet")
    got = columns_for(tmp_path / "old", ["icao24", "timestamp", "latitude", "longitude", "nac_p", "nic"])
    assert got.height == points.height and got["nac_p"].null_count() == got.height
    out = subprocess.run([sys.executable, "-m", "tailwatch.cli", "interference", "--archive", str(tmp_path / "old")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "integrity" in out.stderr and "Traceback" not in out.stderr


def test_one_aircraft_is_too_few_not_no_figures(day, tmp_path: Path) -> None:
    """One aircraft reporting NACp/NIC: the empty map is blamed on --min-aircraft, not on missing figures."""
    points, _ = day
    reporting = points.filter(pl.col("nac_p").is_not_null())
    flights = (reporting.filter(pl.col("icao24") == a) for a in reporting["icao24"].unique(maintain_order=True))
    one = next(f for f in flights if not position_jumps(f).any())  # a spoofed aircraft would be mapped alone
    archive = tmp_path / "archive"
    write_frames(archive, [one], "one-aircraft")
    run = lambda *a: subprocess.run([sys.executable, "-m", "tailwatch.cli", "interference", "--archive", str(archive),
                                     "--format", "csv", *a], capture_output=True, text=True, timeout=300)  # noqa: E731
    out = run()
    assert out.returncode == 1
    assert "no cell had 3 aircraft reporting integrity figures" in out.stderr and "at most 1 in one cell" in out.stderr
    assert "--min-aircraft" in out.stderr
    assert run("--min-aircraft", "1").returncode == 0
