"""GNSS interference aggregation (tailwatch.hiding.interference) over a simulated day, points/s.

The day is SIMULATED (tailwatch.sim.hiding): aircraft cruising across a 8° x 14° box for 24 h, one
position every 10 s, a jammed circle (NACp/NIC degraded) and a spoofed one (positions pinned to one
spot). Timed: the whole aggregation from archive rows to cells (degraded figures, position-jump
flags, fine-grid reduction, H3 indexing of the distinct grid cells, per-cell shares), after one
warm-up run. There is no peer: gpsjam.org publishes maps, not code. Goal: >= 5 M points/s.

Run:  .venv/bin/python bench/interference.py [--aircraft 30000] [--repeat 3]
      POLARS_MAX_THREADS=1 .venv/bin/python bench/interference.py   # per-core figure
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from tailwatch.hiding.interference import interference
from tailwatch.sim.hiding import HidingScenario, crossings, jam, spoof


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aircraft", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = HidingScenario()
    t = time.perf_counter()
    day = crossings(args.aircraft, datetime(2026, 3, 2, tzinfo=timezone.utc), 24.0, sc.box, step_s=10.0)
    day = spoof(jam(day, sc.jam_centre, sc.jam_radius_km), sc.spoof_centre, sc.spoof_radius_km, sc.spoof_fake)
    print(f"simulated day: {day.height:,} points of {args.aircraft:,} aircraft ({time.perf_counter() - t:.1f} s to make)")
    for spoofing in (True, False):
        interference(day, spoofing=spoofing)  # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            cells = interference(day, spoofing=spoofing)
            best = min(best, time.perf_counter() - t)
        label = "with position-jump flags" if spoofing else "degraded shares only   "
        print(f"interference {label}: {day.height / best / 1e6:6.2f} M points/s "
              f"({best:.2f} s, {cells.height:,} cell-days, {int((cells['level'] == 'high').sum())} high)")


if __name__ == "__main__":
    main()
