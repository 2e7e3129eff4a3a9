#!/usr/bin/env python3
"""Sparse-coverage bench: how right are itineraries when open networks hear little?

Cases (the truth kept beside each):
- simulated multi-stop trips (10–13 legs, like the demo's) of an Il-76 whose operator is barred
  from EU/UK/North-American airspace, on legal routes through the Middle East, Africa, the
  Atlantic and Latin America; each has a *previous* trip that shares some airports, heard at
  regional coverage, that gives the aircraft's history (airports it used before);
- real flights from the `traffic` wheel's samples: the four Flightradar24 flights (truth:
  FR24's own origin/destination), the readsb trace (truth: its full-rate observed itinerary).
Each case is thinned to every coverage level of `tailwatch.sim.sparse.LEVELS`, rebuilt, scored.
`recall-in-coverage` is recall over the visits at airports outside the masks (where a receiver
could have heard the aircraft low): inside the masks, "unknown" is often the only honest answer.
`stop-count` is, per gap that held a stop or was given one, whether the itinerary gave exactly as
many stops as were made (`over`: more given, a landing that never happened; `under`: fewer).
Seed-like cases: the seed trip's kind of leg (Caribbean → West Africa → North Africa, one stop
in a gap of 8–16 h) with a history prior at a large airport near the stop but off the line.

Run:  .venv/bin/python scripts/sparse_bench.py [--trips 20] [--no-history]
      .venv/bin/python scripts/sparse_bench.py --write-fixtures tests/data/sparse --trips 6 --seed-like 4
(`--write-fixtures` saves the thinned points and truth the test suite replays.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


@dataclass
class Case:
    name: str
    points: pl.DataFrame  # full-rate points
    visits: list  # sparse.Visit truth
    stops: list  # (landing, take-off) of intermediate stops
    aircraft: dict
    history: pl.DataFrame | None = None  # earlier points of the aircraft (its prior airports)
    used: dict | None = None  # the history prior itself, when it is given rather than read from `history`

    def used_airports(self) -> dict:
        from tailwatch.itinerary.history import airports_used

        if self.used is not None:
            return dict(self.used)
        return airports_used(self.history) if self.history is not None else {}


def sim_cases(n: int, seed0: int = 100) -> list[Case]:
    from tailwatch.sim.circuits import random_trip
    from tailwatch.sim.sparse import HISTORY_LEVEL, thin

    out = []
    for k in range(n):
        seed = seed0 + k
        start = datetime(2025, 3, 1, 6, tzinfo=timezone.utc) + timedelta(days=20 * k)
        trip = random_trip(seed, 10 + k % 4, start, africa_atlantic=True)
        # the trip before: a circuit that reuses some of the airports, heard at regional rates with receivers near its airports outside the masks
        before = random_trip(seed + 10_000, 8, start - timedelta(days=12), icao24=trip.icao24,
                             africa_atlantic=True, reuse=[leg["destination"] for leg in trip.legs], reuse_share=0.5)
        history, _ = thin(before.points, HISTORY_LEVEL, before.stops(), seed=seed)
        out.append(Case(trip.name, trip.points, trip.visits, trip.stops(),
                        {"icao24": trip.icao24, "typecode": trip.typecode, "country": trip.country,
                         "registration": None, "watchlists": []}, history))
    return out


def seed_like_cases(n: int) -> list[Case]:
    """Trips like the seed's Caracas → Nouakchott → Algiers: one stop between continents in a gap
    of 8–16 h, with a history prior at a large airport near the stop but off the line (a decoy)."""
    from tailwatch.sim.circuits import seed_like_trip

    out = []
    for k in range(n):
        trip, decoy = seed_like_trip(k, datetime(2025, 6, 1, 6, tzinfo=timezone.utc) + timedelta(days=3 * k))
        out.append(Case(trip.name, trip.points, trip.visits, trip.stops(),
                        {"icao24": trip.icao24, "typecode": trip.typecode, "country": trip.country,
                         "registration": None, "watchlists": []}, used=decoy))
    return out


def real_cases(samples: Path) -> list[Case]:
    from tailwatch.ingest.pipeline import read_file
    from tailwatch.itinerary.build import build_itinerary
    from tailwatch.times import parse_time as _t
    from tailwatch.sim.scoring import Visit

    out = []
    for path in sorted((samples / "fr24").glob("*.json")):
        flight = json.loads(path.read_text())["result"]["response"]["data"]["flight"]
        ap = flight["airport"]
        points, _ = read_file(path)
        t0, t1 = points["timestamp"].min(), points["timestamp"].max()
        visits = [Visit(ap["origin"]["code"]["icao"], None, t0 + timedelta(minutes=30)),
                  Visit(ap["destination"]["code"]["icao"], t1 - timedelta(minutes=30), None)]
        out.append(Case(f"fr24-{path.stem}", points, visits, [],
                        {"icao24": points["icao24"][0], "typecode": flight["aircraft"]["model"]["code"],
                         "country": None, "registration": None, "watchlists": []}))
    trace = samples / "readsb" / "trace_full_ac671b.json"
    points, _ = read_file(trace)
    full = build_itinerary(points).to_json()
    # an inferred stop of the full-rate build is a truth visit too, somewhere in its gap
    visits = [Visit(s["airport"]["icao"], _t(s["arrival"] or s["window_start"]), _t(s["departure"] or s["window_end"]))
              for s in full["stops"] if s["airport"]]
    out.append(Case("readsb-ac671b", points, visits, [(v.arrive, v.depart) for v in visits[1:-1] if v.arrive and v.depart],
                    {"icao24": "ac671b", "typecode": None, "country": None, "registration": None,
                     "watchlists": []}))
    return out


def run_case(case: Case, points: pl.DataFrame, use_history: bool) -> dict:
    from tailwatch.itinerary.build import build_itinerary

    used = case.used_airports() if use_history else {}
    return build_itinerary(points, dict(case.aircraft), case.aircraft.get("typecode"), used_airports=used).to_json()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trips", type=int, default=20, help="simulated multi-stop trips")
    ap.add_argument("--seed-like", type=int, default=8, help="seed-like one-stop trips between continents")
    ap.add_argument("--no-history", action="store_true", help="ignore the aircraft's earlier airports")
    ap.add_argument("--write-fixtures", type=Path, help="save thinned cases + truth here (for tests)")
    ap.add_argument("--verbose", action="store_true", help="print every wrong name")
    args = ap.parse_args()
    from conftest import _samples_root

    from tailwatch.sim.scoring import Score, evaluate
    from tailwatch.sim.sparse import LEVELS, thin

    t_start = time.perf_counter()
    cases = sim_cases(args.trips) + seed_like_cases(args.seed_like) + real_cases(_samples_root())
    n_real = len(cases) - args.trips - args.seed_like
    print(f"{len(cases)} cases ({args.trips} simulated multi-stop trips, {args.seed_like} seed-like one-stop "
          f"trips with a decoy history, {n_real} real) "
          f"made in {time.perf_counter() - t_start:.1f} s")
    rows = []
    for li, (name, level) in enumerate(LEVELS.items()):
        total = Score()
        n_points, build_s = 0, 0.0
        for ci, case in enumerate(cases):
            thinned, outages = thin(case.points, level, case.stops, seed=1_000 * li + ci)
            if thinned.height == 0:
                continue
            t0 = time.perf_counter()
            itin = run_case(case, thinned, not args.no_history)
            build_s += time.perf_counter() - t0
            n_points += thinned.height
            score = evaluate(itin, case.visits)
            total = total.add(score)
            if args.verbose and (score.wrong_names or score.gaps_exact < score.gaps):
                print(f"  {name:15s} {case.name}: wrong {score.wrong_names}; stop count right in "
                      f"{score.gaps_exact} of {score.gaps} gaps ({score.gaps_over} over)")
            if args.write_fixtures is not None and name != "full":  # the suite replays the thinned levels
                _write_fixture(args.write_fixtures, f"{case.name}.{name}", case, thinned)
        rows.append((name, total, n_points, build_s))
    print()
    print(f"{'coverage':16s} {'visits':>6s} {'named':>6s} {'right':>6s} {'wrong':>6s} {'unknown':>7s} "
          f"{'precision':>9s} {'recall':>6s} {'unknown-not-wrong':>17s} {'recall-in-coverage':>18s} "
          f"{'stop-count':>16s} {'over':>4s} {'under':>5s} {'points':>9s} {'build s':>7s}")
    overall = Score()
    for name, s, n_points, build_s in rows:
        print(f"{name:16s} {s.visits:6d} {s.named:6d} {s.right:6d} {s.wrong:6d} {s.unknown:7d} "
              f"{s.precision:9.3f} {s.recall:6.3f} {s.unknown_share:17.2f} "
              f"{s.recall_covered:8.3f} of {s.visits_covered:4d} {_count(s):>16s} {s.gaps_over:4d} {s.gaps_under:5d} "
              f"{n_points:9,d} {build_s:7.2f}")
        overall = overall.add(s)
    print(f"{'all levels':16s} {overall.visits:6d} {overall.named:6d} {overall.right:6d} {overall.wrong:6d} "
          f"{overall.unknown:7d} {overall.precision:9.3f} {overall.recall:6.3f} {overall.unknown_share:17.2f} "
          f"{overall.recall_covered:8.3f} of {overall.visits_covered:4d} {_count(overall):>16s} "
          f"{overall.gaps_over:4d} {overall.gaps_under:5d}")
    missed = overall.visits - overall.found - overall.unknown
    print(f"of {overall.visits - overall.found} visits not named right: {overall.unknown} said unknown, "
          f"{overall.wrong} named wrong, {missed} fell in the same gap as another visit that was named "
          "(one stop reported for two)")
    print(f"\nhistory prior: {'off' if args.no_history else 'on'}; "
          f"{time.perf_counter() - t_start:.1f} s in all")
    return 0


def _count(s) -> str:
    """Stop count exact in how many gaps (with a stop given or flown)."""
    return f"{s.count_exact:.3f} of {s.gaps:4d}"


def _write_fixture(folder: Path, name: str, case: Case, thinned: pl.DataFrame) -> None:
    from tailwatch.report.tracks import iso as _iso

    folder.mkdir(parents=True, exist_ok=True)
    thinned.write_parquet(folder / f"{name}.parquet")
    truth = {"aircraft": case.aircraft,
             "visits": [{"icao": v.icao, "arrive": _iso(v.arrive), "depart": _iso(v.depart)} for v in case.visits],
             "used_airports": case.used_airports()}
    (folder / f"{name}.json").write_text(json.dumps(truth, indent=1, sort_keys=True))


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    sys.exit(main())
