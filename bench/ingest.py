"""Ingest throughput: OpenSky state-vector CSV and readsb traces into the archive,
side by side with `traffic` 2.13 reading the same files.

    python bench/ingest.py [--copies 35] [--traces 400] [--workdir /tmp/tw-bench] [--skip-traffic]

Inputs are generated from traffic's real samples: `collections/quickstart.json.gz`
(284,505 OpenSky-derived points) converted to `state_vectors_data4` CSV columns in SI
units and repeated `--copies` times under shifted addresses (35 ≈ 10 M rows), and
`readsb/trace_full_ac671b.json` (2,500 points) rewritten `--traces` times under other
addresses and days, as text and gzip-compressed (as readsb writes them; traffic's
reader cannot open those, so it is timed on the text copies).

tailwatch: `ingest_file` / `ingest_files` into an empty archive (parse, convert units,
validate, deduplicate, sort, write zstd Parquet). traffic: `Traffic.from_file` on the
CSV (pandas read, no unit conversion, nothing written) and `Flight.from_readsb` per
trace file. The ratio flatters traffic: it does less work. traffic runs on one core
(pandas' C CSV parser; Python per trace row); tailwatch uses both, so on a machine
shared with other work the CPU-second figures compare the code, the wall ones the run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent


def samples_dir() -> Path:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import _samples_root  # the test suite's cached copy of traffic's sample data

    return _samples_root()


def make_opensky_csv(samples: Path, copies: int, out: Path) -> int:
    raw = pl.DataFrame(json.loads(gzip.decompress((samples / "collections" / "quickstart.json.gz").read_bytes())))
    states = raw.select(
        (pl.col("timestamp") // 1000).alias("time"), "icao24", pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"), (pl.col("groundspeed") * 1852 / 3600).round(2).alias("velocity"),
        pl.col("track").round(4).alias("heading"), (pl.col("vertical_rate") * 0.3048 / 60).round(3).alias("vertrate"),
        pl.col("callsign").str.pad_end(8), "onground", pl.lit(False).alias("alert"), pl.lit(False).alias("spi"),
        "squawk", (pl.col("altitude") * 0.3048).round(2).alias("baroaltitude"),
        (pl.col("altitude") * 0.3048 + 30).round(2).alias("geoaltitude"),
        (pl.col("timestamp") / 1000 - 0.3).alias("lastposupdate"), (pl.col("timestamp") / 1000).alias("lastcontact"),
        ((pl.col("timestamp") // 3_600_000) * 3600).alias("hour"),
    )
    addresses = states["icao24"].unique().to_list()
    with open(out, "wb") as f:
        for k in range(copies):
            mapping = {a: f"{(int(a, 16) + k * 0x040405) % 0x1000000:06x}" for a in addresses}
            part = states.with_columns(pl.col("icao24").replace_strict(mapping))
            part.write_csv(f, include_header=(k == 0))
    return states.height * copies


def make_traces(samples: Path, count: int, folder: Path, compress: bool) -> int:
    text = (samples / "readsb" / "trace_full_ac671b.json").read_text()
    doc = json.loads(text)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        icao = f"{(0xAC671B + k * 0x000101) % 0x1000000:06x}"
        body = text.replace('"icao":"ac671b"', f'"icao":"{icao}"', 1).replace(
            f'"timestamp": {doc["timestamp"]}', f'"timestamp": {doc["timestamp"] + 86400 * (k % 7)}', 1
        )
        data = gzip.compress(body.encode(), compresslevel=6) if compress else body.encode()
        (folder / f"trace_full_{icao}.json").write_bytes(data)
    return len(doc["trace"]) * count


CPU: list[float] = []  # CPU seconds (all threads) of the last timed call


def timed(fn):
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    c0, t0 = cpu(), time.perf_counter()
    out = fn()
    CPU.append(cpu() - c0)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=35)
    ap.add_argument("--traces", type=int, default=400)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--skip-traffic", action="store_true")
    args = ap.parse_args()

    from tailwatch.ingest.pipeline import ingest_file, ingest_files

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tw-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    samples = samples_dir()
    csv_path, traces, packed = work / "states.csv", work / "traces", work / "traces-gz"
    if not csv_path.exists():
        make_opensky_csv(samples, args.copies, csv_path)
    if not traces.exists():
        make_traces(samples, args.traces, traces, compress=False)
    if not packed.exists():
        make_traces(samples, args.traces, packed, compress=True)
    trace_files = sorted(traces.glob("*.json"))

    rows = []
    arc = work / "archive-csv"
    shutil.rmtree(arc, ignore_errors=True)
    summary, seconds = timed(lambda: ingest_file(csv_path, arc))
    csv_points = summary.points
    rows.append(["OpenSky CSV", csv_points, seconds, CPU[-1]])
    arc = work / "archive-traces"
    shutil.rmtree(arc, ignore_errors=True)
    summaries, seconds = timed(lambda: ingest_files(trace_files, arc))
    trace_points = sum(s.points for s in summaries)
    rows.append(["readsb traces", trace_points, seconds, CPU[-1]])
    shutil.rmtree(arc, ignore_errors=True)
    summaries, seconds = timed(lambda: ingest_files(sorted(packed.glob("*.json")), arc))
    gz_row = ["readsb gzip", sum(s.points for s in summaries), seconds, CPU[-1]]

    if not args.skip_traffic:
        import warnings

        warnings.filterwarnings("ignore")
        from traffic.core import Flight, Traffic

        _, seconds = timed(lambda: Traffic.from_file(csv_path))
        rows[0] += [seconds, CPU[-1]]
        _, seconds = timed(lambda: [Flight.from_readsb(f) for f in trace_files])
        rows[1] += [seconds, CPU[-1]]

    rows.append(gz_row)  # traffic cannot read gzip traces (readsb's own output): ours only
    load = os.getloadavg()[0]
    print(f"cores: {os.cpu_count()}  load average at the end: {load:.1f}  workdir: {work}")
    print("wall = elapsed seconds; CPU = seconds of all threads of this process (user+system), the figure")
    print("that load from other processes changes least. M/s = million points per second of wall time;")
    print("M/CPU-s = million points per CPU-second. ratio = traffic's time / tailwatch's time (wall, CPU).")
    head = (f"{'input':<15}{'points':>11} | {'tailwatch wall':>14}{'CPU':>7}{'M/s':>7}{'M/CPU-s':>8} | "
            f"{'traffic wall':>12}{'CPU':>7}{'M/s':>7}{'M/CPU-s':>8} | {'ratio wall':>10}{'CPU':>6}")
    print(head)
    print("-" * len(head))
    for row in rows:
        name, points, ours, our_cpu = row[:4]
        line = f"{name:<15}{points:>11,} | {ours:>14.2f}{our_cpu:>7.2f}{points / ours / 1e6:>7.2f}{points / our_cpu / 1e6:>8.2f} | "
        if len(row) > 4:
            theirs, their_cpu = row[4], row[5]
            line += (f"{theirs:>12.2f}{their_cpu:>7.2f}{points / theirs / 1e6:>7.2f}{points / their_cpu / 1e6:>8.2f} | "
                     f"{theirs / ours:>9.1f}×{their_cpu / our_cpu:>5.1f}×")
        else:
            line += f"{'(traffic cannot read gzip traces)':>34} |"
        print(line)
    print("targets (ingest issue): ≥ 2 M points/s on 2 cores, ≥ 10× traffic.")


if __name__ == "__main__":
    main()
