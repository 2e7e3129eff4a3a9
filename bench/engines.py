"""Scan and batch itinerary on the archive: DuckDB against Spark, and Spark on 1 vs 2 local workers.

One archive for all runs: traffic's real quickstart day (~200 aircraft, OpenSky data) plus
`--days` simulated days of `--flights` flights each (tailwatch.sim, labelled simulated),
ingested once with the DuckDB engine into `--archive` (kept between runs).
- scan: `summary_by_aircraft` over every aircraft of the archive (what `tailwatch scan`
  runs, here without an address filter, so every point is read);
- itinerary: `itineraries(..., every_aircraft=True)` (what `tailwatch itinerary --all` runs:
  points → build_itinerary → airspace and airlift enrichment, JSON per aircraft).
Each engine configuration runs in its own process (a fresh JVM per Spark master); Spark's
start-up is timed apart, each job warms up on a few aircraft and then runs `--repeat` times
(best kept).
points/s = archive points / seconds. The ratio is Spark local[2] over local[1] (ideal 2.0 on
two free cores; this machine is shared, so expect less).

Run:  .venv/bin/python bench/engines.py [--days 3] [--flights 400] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

SAMPLES = Path(os.environ.get("TAILWATCH_TRAFFIC_SAMPLES",
                              Path.home() / ".cache" / "tailwatch-tests" / "traffic-2.13" / "traffic" / "data" / "samples"))


def build_archive(archive: Path, days: int, flights: int) -> None:
    import polars as pl

    from tailwatch.archive import ArchiveWriter
    from tailwatch.geo.airports import airports
    from tailwatch.ingest.pipeline import ingest_files
    from tailwatch.sim import simulate_traffic

    if (archive / ".bench-complete").exists():
        return
    quickstart = SAMPLES / "collections" / "quickstart.json.gz"
    if quickstart.exists():
        ingest_files([quickstart], archive)
    big = airports().filter((pl.col("kind") == "large") & pl.col("latitude").is_between(35, 60)
                            & pl.col("longitude").is_between(-10, 30)).to_dicts()
    writer = ArchiveWriter(archive, "bench-simulated")
    for day in range(days):
        start = datetime(2025, 10, 5, tzinfo=timezone.utc) + timedelta(days=day)
        writer.write(simulate_traffic(big, flights, start, hours=18, seed=100 + day, step_s=5.0))
    writer.flush()
    writer.commit({"source": "simulated", "days": days, "flights": flights})
    (archive / ".bench-complete").write_text("ok\n")


def measure(engine_name: str, master: str | None, archive: Path, repeat: int) -> dict:
    """Timings of one engine configuration (run in a child process)."""
    from tailwatch.engines import get_engine
    from tailwatch.engines.duckdb import count_points

    points = count_points(archive)
    t0 = time.perf_counter()
    engine = get_engine(engine_name, master)
    if engine_name == "spark":
        engine.session()
    startup = time.perf_counter() - t0

    def best(job, warm) -> tuple[float, int]:
        warm()  # JIT, airport and country indexes, Python workers
        times, n = [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            n = job()
            times.append(time.perf_counter() - t)
        return min(times), n

    few = get_engine("duckdb").summary_by_aircraft(archive)["icao24"].to_list()[:8]
    scan_s, aircraft = best(lambda: engine.summary_by_aircraft(archive).height,
                            lambda: engine.summary_by_aircraft(archive, few))
    itin_s, docs = best(lambda: len(engine.itineraries(archive, every_aircraft=True, with_points=False)[0]),
                        lambda: engine.itineraries(archive, few, with_points=False))
    return {"engine": engine_name, "master": master, "points": points, "aircraft": aircraft, "itineraries": docs,
            "startup_s": startup, "scan_s": scan_s, "itinerary_s": itin_s}


def child(engine_name: str, master: str | None, archive: Path, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--child", engine_name, "--archive", str(archive), "--repeat", str(repeat)]
    if master:
        cmd += ["--master", master]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=Path(tempfile.gettempdir()) / "tailwatch-bench-engines")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--flights", type=int, default=400, help="simulated flights per day")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.master, args.archive, args.repeat)))
        return
    t = time.perf_counter()
    build_archive(args.archive, args.days, args.flights)
    print(f"archive {args.archive} ready in {time.perf_counter() - t:.1f} s")
    runs = [child("duckdb", None, args.archive, args.repeat),
            child("spark", "local[1]", args.archive, args.repeat),
            child("spark", "local[2]", args.archive, args.repeat)]
    first = runs[0]
    print(f"{first['points']:,} points, {first['aircraft']:,} aircraft, {first['itineraries']:,} itineraries\n")
    print(f"{'engine':<18}{'start-up s':>12}{'scan s':>10}{'scan pts/s':>14}{'itin s':>10}{'itin pts/s':>14}")
    for r in runs:
        label = r["engine"] + (f" {r['master']}" if r["master"] else "")
        print(f"{label:<18}{r['startup_s']:>12.1f}{r['scan_s']:>10.2f}{r['points'] / r['scan_s']:>14,.0f}"
              f"{r['itinerary_s']:>10.2f}{r['points'] / r['itinerary_s']:>14,.0f}")
    one, two = runs[1], runs[2]
    print(f"\nSpark scaling, local[2] / local[1]: scan x{one['scan_s'] / two['scan_s']:.2f}, "
          f"itinerary x{one['itinerary_s'] / two['itinerary_s']:.2f}")
    print(f"Spark local[2] / DuckDB: scan x{first['scan_s'] / two['scan_s']:.2f}, "
          f"itinerary x{first['itinerary_s'] / two['itinerary_s']:.2f} (above 1: Spark faster)")


if __name__ == "__main__":
    main()
