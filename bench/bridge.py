"""`tailwatch bridge` on a simulated month (tailwatch.sim.bridge_month): precision, recall, time, memory,
DuckDB against Spark.

The month (about 2,400 background aircraft over seven regions plus planted Russian, Iranian and Chinese
freighter bridges into Venezuela, decoys and a baseline; SIMULATED, sparse coverage) is built once into
`--root` and kept (a marker file names the parameters). Then
`tailwatch bridge --into VE --from RU,IR,CN --start <window> --end <window> --format json` runs as a
child process per engine (DuckDB, Spark `local[2]`), `--repeat` times interleaved, timed (wall, CPU of
the process tree) with the peak resident memory of its process tree (sampled every 0.2 s from /proc, so
Spark's JVM counts). With `--full`, the same document is also built without the preselection (every
aircraft's itinerary, `run_bridge(preselect=False)`), to show what the preselection saves and that the
document is the same.

Scoring: a flight found matches a planted one by aircraft, arrival airport and time (an observed
landing within `--tolerance-min` of the truth; an inferred one whose window holds the truth within the
tolerance), each planted flight once (`sim.bridge_month.score`). Every planted flight missed and every
flight found that matches none is printed with what the document says of that aircraft.

Run:  .venv/bin/python bench/bridge.py [--background 2400] [--engines duckdb,spark] [--repeat 1] [--full]
      .venv/bin/python bench/bridge.py --interval 60,600 --engines duckdb --root /tmp/tailwatch-bench-bridge-sparse
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def build(root: Path, background: int, seed: int, interval: tuple[float, float]) -> dict:
    """The month's archive and truth under `root` (built once per parameter set)."""
    marker = root / ".bench-complete"
    params = {"background": background, "seed": seed, "interval_s": list(interval)}
    if marker.exists() and json.loads(marker.read_text()) == params:
        return json.loads((root / "truth.json").read_text())
    import shutil

    from tailwatch.demo import write_feed
    from tailwatch.identity.registry import import_registry
    from tailwatch.ingest.pipeline import ingest_file
    from tailwatch.sim.bridge_month import bridge_month

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    t = time.perf_counter()
    month = bridge_month(background=background, seed=seed, interval_s=interval)
    sim_s = time.perf_counter() - t
    feed = write_feed(month.points, root / "positions.parquet")
    ingest_file(feed, root / "archive")
    (root / "aircraft.csv").write_text(month.registry_lines(), encoding="utf-8")
    import_registry(root / "aircraft.csv", root / "archive")
    feed.unlink()

    def iso(v):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(v, "strftime") else v

    truth = {"window": [iso(month.window[0]), iso(month.window[1])], "data_start": iso(month.data_start),
             "points": month.points.height, "aircraft": month.points["icao24"].n_unique(),
             "planted_window": [{k: iso(v) for k, v in p.items()} for p in month.planted_in_window()],
             "planted_baseline": [{k: iso(v) for k, v in p.items()} for p in month.planted_in_baseline()],
             "decoys": month.decoys, "colocations": [{k: iso(v) for k, v in c.items()} for c in month.colocations],
             "not_flagged_into": month.not_flagged_into, "simulate_s": round(sim_s, 1),
             "build_s": round(time.perf_counter() - t, 1)}
    (root / "truth.json").write_text(json.dumps(truth, indent=1))
    marker.write_text(json.dumps(params))
    return truth


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run(cmd: list[str]) -> dict:
    """One child run: wall and CPU seconds (the child and its reaped descendants), peak tree RSS."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed: {err.strip()[-800:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_gb": peak[0] / 1e6}


def cli_cmd(archive: Path, window: list[str], engine: str, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "tailwatch.cli", "bridge", "--archive", str(archive), "--into", "VE",
           "--from", "RU,IR,CN", "--start", window[0], "--end", window[1], "--format", "json", "--out", str(out),
           "--engine", engine]
    return cmd + (["--spark-master", "local[2]"] if engine == "spark" else [])


def full_cmd(archive: Path, window: list[str], out: Path) -> list[str]:
    code = ("import sys; from pathlib import Path; from tailwatch.app.bridge import render, run_bridge; "
            "doc = run_bridge(Path(sys.argv[1]), 'VE', sys.argv[2], sys.argv[3], from_='RU,IR,CN', preselect=False); "
            "Path(sys.argv[4]).write_text(render(doc, 'json'), encoding='utf-8')")
    return [sys.executable, "-c", code, str(archive), window[0], window[1], str(out)]


def explain(doc: dict, icao24: str) -> str:
    """What the document says of one aircraft: its flights and its exclusion."""
    said = [f"{f['arrival']['icao']} {f['arrival'].get('time') or f['arrival'].get('window')} ({f['arrival']['evidence']})"
            for f in doc["flights"] if f["icao24"] == icao24]
    said += [f"excluded: {e['reason']} — {e['detail']}" for e in doc["excluded"] if e["icao24"] == icao24]
    return "; ".join(said) or "nothing"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "tailwatch-bench-bridge")
    ap.add_argument("--background", type=int, default=2400, help="background aircraft")
    ap.add_argument("--seed", type=int, default=27)
    ap.add_argument("--engines", type=lambda v: v.split(","), default=["duckdb", "spark"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="also build every aircraft's itinerary (no preselection)")
    ap.add_argument("--tolerance-min", type=float, default=30.0)
    ap.add_argument("--interval", type=lambda v: tuple(float(x) for x in v.split(",")), default=(30.0, 120.0),
                    help="seconds between heard positions, lo,hi (sim/sparse.py's sparse level: 60,600)")
    args = ap.parse_args()
    sys.path.insert(0, str(SRC))
    from tailwatch.sim.bridge_month import NOTICE, score

    t = time.perf_counter()
    truth = build(args.root, args.background, args.seed, args.interval)
    archive = args.root / "archive"
    print(f"{NOTICE}\nmonth ready in {time.perf_counter() - t:.1f} s (simulated in {truth['simulate_s']} s, built in "
          f"{truth['build_s']} s when made): {truth['points']:,} points, {truth['aircraft']:,} aircraft; window "
          f"{truth['window'][0]} to {truth['window'][1]}; planted {len(truth['planted_window'])} bridge flights in it, "
          f"{len(truth['planted_baseline'])} before it; a position every {args.interval[0]:g}–{args.interval[1]:g} s "
          "where heard\n")
    cases = [(e, (lambda e=e: cli_cmd(archive, truth["window"], e, args.root / f"bridge-{e}.json"))) for e in args.engines]
    if args.full:
        cases.append(("duckdb, no preselection", lambda: full_cmd(archive, truth["window"], args.root / "bridge-full.json")))
    runs: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        for name, cmd in cases:
            runs.setdefault(name, []).append(run(cmd()))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared: wall includes waiting)\n")
    docs = {name: json.loads((args.root / (f"bridge-{name}.json" if name in args.engines else "bridge-full.json"))
                             .read_text()) for name, _ in cases}
    texts = {name: (args.root / (f"bridge-{name}.json" if name in args.engines else "bridge-full.json")).read_bytes()
             for name, _ in cases}
    print(f"{'engine':<26}{'wall s':>16}{'CPU s':>16}{'peak RSS GB':>13}{'flights':>9}{'precision':>11}{'recall':>8}")
    scores = {}
    for name, rs in runs.items():
        s = scores[name] = score(docs[name], truth["planted_window"], args.tolerance_min)
        walls, cpus = sorted(r["wall_s"] for r in rs), sorted(r["cpu_s"] for r in rs)
        print(f"{name:<26}{walls[0]:>7.1f}–{walls[-1]:<8.1f}{cpus[0]:>7.1f}–{cpus[-1]:<8.1f}"
              f"{max(r['rss_gb'] for r in rs):>13.2f}{s['found']:>9}{s['precision'] or 0:>11.3f}{s['recall'] or 0:>8.3f}")
    names = list(texts)
    same = all(texts[n] == texts[names[0]] for n in names)
    print(f"\nJSON documents identical across {', '.join(names)}: {'yes' if same else 'NO'}")
    doc = docs[names[0]]
    s = scores[names[0]]
    print(f"matched {s['matched']} of {s['planted']} planted flights; {s['found']} flights found")
    for m in s["missed"]:
        print(f"  missed {m['key']} {m['icao24']} {m['airport']} {m['time']} ({m['evidence']} expected): "
              f"{explain(doc, m['icao24'])}")
    for f in s["false"]:
        print(f"  unmatched flight {f['icao24']} {f['airport']} {f['time'] or f['window']} ({f['evidence']})")
    reasons = {}
    for e in doc["excluded"]:
        reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
    print("excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    for key, d in truth["decoys"].items():
        print(f"  decoy {key} ({d['registration']}): expected {d['reason'] or 'not listed'!r}, got "
              f"{explain(doc, d['icao24'])}")
    b = doc["baseline"]
    print(f"baseline: {b.get('flights')} flights (planted {len(truth['planted_baseline'])}), ratio {b.get('ratio')}"
          f"{' — ' + b['note'] if b.get('note') else ''}")
    found_pairs = {(c["airport"], tuple(sorted(a["icao24"] for a in c["aircraft"]))) for c in doc["colocations"]}
    planted_pairs = {(c["airport"], tuple(c["icao24"])) for c in truth["colocations"]
                     if c["to"] >= truth["window"][0] and c["from"] <= truth["window"][1]}
    print(f"co-locations: {len(doc['colocations'])} found; pairs of the planted fleet and decoys on the ground together "
          f"at a feeder airport in the window {len(planted_pairs)}, of them found {len(planted_pairs & found_pairs)}")
    for airport, pair in sorted(planted_pairs - found_pairs):
        print(f"  not found: {airport} {' and '.join(pair)} (a decoy outside the population, or a stay not observed)")


if __name__ == "__main__":
    main()
