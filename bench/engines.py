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

`--batch` measures `tailwatch itinerary --all` end to end instead, each run a child process
(wall and CPU seconds, points/s over wall and over CPU, the largest one process's peak RSS and the
peak of the summed RSS of the child and its worker processes, sampled from /proc), interleaved
over `--repeat` rounds so that a loaded machine weighs on every case alike:
- `--scales 1,4,16`: the bench archive replayed on K consecutive days (K× the points, same fleet);
- `--fleet-days 1,4,16`: traffic's quickstart fleet alone replayed on K consecutive days (the
  same ~200 aircraft: time and RSS per point should not grow with K);
- `--engines duckdb,spark`: Spark runs on local[2];
- `--src DIR` (repeatable): the tailwatch source folders to compare (e.g. before/after a change);
- `--workers 1,2`: `TAILWATCH_WORKERS` values to run each case with (1 = one process);
- beside them, when the `traffic` library is importable, its split + landing airport per piece
  (bench/itinerary.py's `run_traffic`) on the same points, within `--traffic-seconds`;
- the first round keeps every run's JSON and says whether all source folders and engines gave
  the same bytes for each case (a speed-up must not change a document).
Replayed archives are built once next to `--archive` and kept.

Run:  .venv/bin/python bench/engines.py [--days 3] [--flights 400] [--repeat 1]
      .venv/bin/python bench/engines.py --batch --days 1 --flights 100 --scales 1,4,16 --fleet-days 1,4,16 --repeat 3
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


def replayed(source: Path, target: Path, days: int, quickstart_only: bool = False) -> Path:
    """`source`'s points (or only the quickstart day's) written again on `days` consecutive days."""
    import polars as pl

    from tailwatch.archive import ArchiveWriter
    from tailwatch.engines.duckdb import points_for

    if (target / ".bench-complete").exists():
        return target
    points = points_for(source)
    if quickstart_only:
        points = points.filter(~pl.col("source").str.starts_with("simulated"))
    writer = ArchiveWriter(target, "bench-replayed")
    for day in range(days):
        writer.write(points.with_columns(pl.col("timestamp") + timedelta(days=day)))
        writer.flush()
    writer.commit({"source": f"replayed {days} days", "from": str(source)})
    (target / ".bench-complete").write_text("ok\n")
    return target


def _tree_rss_kb(root: int) -> int:
    """Summed resident memory (kB) of `root` and every process under it, from /proc: the batch's
    worker processes count too (each one's own RSS, shared pages in each)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def run_batch(src: str, archive: Path, engine: str, out: Path | None = None, workers: str | None = None) -> dict:
    """`tailwatch itinerary --all` in a child process with `src` first on the path (and
    `TAILWATCH_WORKERS=workers` when given): wall, CPU (the child's and its worker processes'),
    the largest one process's peak RSS, and the peak of the summed RSS of the child and every
    process under it, sampled every 50 ms (the documents to `out` when given, else nowhere)."""
    cmd = [sys.executable, "-m", "tailwatch.cli", "itinerary", "--archive", str(archive), "--all",
           "--format", "json", "--out", str(out or os.devnull), "--engine", engine]
    if engine == "spark":
        cmd += ["--spark-master", "local[2]"]
    env = dict(os.environ, PYTHONPATH=src)
    if workers is not None:
        env["TAILWATCH_WORKERS"] = workers
    summed = 0
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a full pipe would stall the child
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            summed = max(summed, _tree_rss_kb(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().strip()[-500:]}")
    # a Spark run's JVM is a grandchild: its memory is in the sum, not in the largest-process figure
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_gb": usage.ru_maxrss / 1e6,
            "sum_rss_gb": summed / 1e6}


def traffic_case(archive: Path, budget_s: float) -> dict | None:
    """traffic's split + landing airport on the archive's points (bench/itinerary.py), or None."""
    try:
        import traffic  # noqa: F401
    except ImportError:
        return None
    from itinerary import run_traffic  # bench/itinerary.py

    from tailwatch.engines.duckdb import points_for

    seconds, handled, _, _ = run_traffic(points_for(archive), budget_s)
    return {"wall_s": seconds, "points": handled}


def batch(args) -> None:
    from tailwatch.engines.duckdb import count_points, summary_by_aircraft

    cases = [(f"bench {k}x", replayed(args.archive, args.archive.with_name(f"{args.archive.name}-x{k}"), k))
             if k > 1 else ("bench 1x", args.archive) for k in args.scales]
    cases += [(f"fleet {k} d", replayed(args.archive, args.archive.with_name(f"{args.archive.name}-fleet{k}"), k, True))
              for k in args.fleet_days]
    size = {name: (count_points(arc), summary_by_aircraft(arc).height) for name, arc in cases}
    srcs = args.src or [str(Path(__file__).resolve().parents[1] / "src")]
    workers = args.workers or [None]
    results: dict[tuple, list[dict]] = {}
    outputs = Path(tempfile.mkdtemp(prefix="tailwatch-bench-docs-"))
    documents: dict[tuple, Path] = {}
    for round_ in range(args.repeat):  # interleaved: every case once per round
        for name, arc in cases:
            for engine in args.engines:
                for k, src in enumerate(srcs):
                    for w in workers:
                        # the first round keeps each configuration's documents: they must be the same bytes
                        out = (outputs / f"{name.replace(' ', '_')}-{engine}-{k}-{w}.json" if round_ == 0 else None)
                        results.setdefault((name, engine, src, w), []).append(run_batch(src, arc, engine, out, w))
                        if out is not None:
                            documents[(name, engine, src, w)] = out
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine: "
          "wall includes waiting; CPU is this run's own)\n")
    print(f"{'case':<12}{'points':>11}{'aircraft':>9} {'engine':<8}{'src':<22}{'workers':>8}{'wall s':>14}"
          f"{'CPU s':>14}{'pts/s (wall)':>13}{'pts/s (CPU)':>12}{'RSS GB':>8}{'sum GB':>8}")
    for (name, engine, src, w), runs in results.items():
        points, aircraft = size[name]
        walls, cpus = sorted(r["wall_s"] for r in runs), sorted(r["cpu_s"] for r in runs)
        print(f"{name:<12}{points:>11,}{aircraft:>9} {engine:<8}{src[-21:]:<22}{w or 'CPUs':>8}"
              f"{walls[0]:>6.1f}–{walls[-1]:<7.1f}{cpus[0]:>6.1f}–{cpus[-1]:<7.1f}{points / walls[0]:>13,.0f}"
              f"{points / cpus[0]:>12,.0f}{max(r['rss_gb'] for r in runs):>8.2f}"
              f"{max(r['sum_rss_gb'] for r in runs):>8.2f}")
    for name, _ in cases:  # the same documents from every source folder and engine
        texts = {key: path.read_bytes() for key, path in documents.items() if key[0] == name}
        first = next(iter(texts.values()))
        differ = [f"{engine} {src} workers={w}" for (_, engine, src, w), text in texts.items() if text != first]
        print(f"documents {name}: " + ("identical across " + str(len(texts)) + " runs" if not differ
                                       else "DIFFER: " + ", ".join(differ)))
    for path in documents.values():
        path.unlink()
    outputs.rmdir()
    for name, arc in cases:
        found = traffic_case(arc, args.traffic_seconds)
        if found is None:
            print("\ntraffic is not importable here: its split + landing airport column is left out")
            break
        print(f"traffic split+infer_airport {name}: {found['points'] / found['wall_s']:,.0f} points/s "
              f"({found['points']:,} points in {found['wall_s']:.1f} s)")


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
    ap.add_argument("--batch", action="store_true", help="itinerary --all end to end, in child processes")
    ap.add_argument("--scales", type=lambda v: [int(x) for x in v.split(",")], default=[1, 4, 16])
    ap.add_argument("--fleet-days", type=lambda v: [int(x) for x in v.split(",") if x], default=[1, 4, 16])
    ap.add_argument("--engines", type=lambda v: v.split(","), default=["duckdb"])
    ap.add_argument("--src", action="append", help="tailwatch source folder to run (repeatable)")
    ap.add_argument("--workers", type=lambda v: [x for x in v.split(",") if x], default=None,
                    help="TAILWATCH_WORKERS values to run, e.g. 1,2 (default: unset, the CPUs)")
    ap.add_argument("--traffic-seconds", type=float, default=60.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.master, args.archive, args.repeat)))
        return
    t = time.perf_counter()
    build_archive(args.archive, args.days, args.flights)
    print(f"archive {args.archive} ready in {time.perf_counter() - t:.1f} s")
    if args.batch:
        batch(args)
        return
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
