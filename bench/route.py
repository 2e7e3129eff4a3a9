#!/usr/bin/env python3
"""Time `legal_route` for intercontinental queries (cold = first query of a banned set, warm = later).

    .venv/bin/python bench/route.py

Target: ≤ 1 s per warm intercontinental query. Prints one line per query with distance,
fuel stops and seconds; there is no peer tool that routes around airspace bans offline.
"""

from __future__ import annotations

import time

from tailwatch.airspace.routing import legal_route

QUERIES = [
    ("UUWW", "SVMI", "IL76", "RU"),   # Moscow Vnukovo → Caracas
    ("UDYZ", "DAAG", "IL76", "RU"),   # Yerevan → Algiers
    ("UUEE", "FACT", "IL76", "RU"),   # Moscow Sheremetyevo → Cape Town
    ("UUWW", "MUHA", "IL76", "RU"),   # Moscow → Havana
    ("ULLI", "GOBD", None, "RU"),     # St Petersburg → Dakar, no range limit
    ("UUEE", "SBGR", "IL76", "RU"),   # Moscow → São Paulo
    ("UHWW", "SCEL", "IL76", "RU"),   # Vladivostok → Santiago: no legal hop chain within range
]


def main() -> None:
    t0 = time.perf_counter()
    from tailwatch.airspace.routing import obstacles_for
    from tailwatch.airspace.bans import banned_jurisdictions

    obstacles_for(tuple(banned_jurisdictions(operator_country="RU", when="2024-06-01")))
    from tailwatch.geo.airports import airports

    airports()
    print(f"load (countries, obstacles, airports): {time.perf_counter() - t0:.2f} s")
    for o, d, typ, op in QUERIES:
        for run in ("cold", "warm"):
            if run == "warm":
                # a fresh edge cache per query: 'warm' means shapes and indexes loaded
                obstacles_for.cache_clear()
                obstacles_for(tuple(banned_jurisdictions(operator_country=op, when="2024-06-01")))
            t = time.perf_counter()
            try:
                a = legal_route(o, d, typecode=typ, operator_country=op, when="2024-06-01")
                text = (f"{a['distance_km']:>9,.0f} km (direct {a['direct_km']:,.0f}) "
                        f"stops {','.join(a['fuel_stops']) or '-':<14} range {a['range_km']}")
            except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
                text = f"failed: {exc}"
            print(f"{o}→{d} {typ or '-':5} {run}: {time.perf_counter() - t:6.2f} s  {text}")


if __name__ == "__main__":
    main()
