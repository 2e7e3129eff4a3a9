"""Simulated freighter trips for the sparse-coverage bench: random circuits of 10+ legs between
large airports legal for the operator, and seed-like one-stop trips between continents.

Why by hand: the cases need a known truth (every leg, every stop) flown on legal routes; the
flights themselves come from `sim/trips.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from tailwatch.sim.scoring import Visit, visits_of_legs


@dataclass
class Trip:
    """A simulated trip: its full-rate points, its legs (the truth) and what it is."""

    name: str
    points: pl.DataFrame
    legs: list[dict]
    typecode: str
    country: str
    icao24: str

    @property
    def visits(self) -> list[Visit]:
        return visits_of_legs(self.legs)

    def stops(self) -> list[tuple[datetime, datetime]]:
        """(landing, take-off) of each intermediate stop."""
        return [(a["landing"], b["takeoff"]) for a, b in zip(self.legs[:-1], self.legs[1:])]


def _pool(banned: set[str], min_runway_ft: float) -> list[dict]:
    from tailwatch.geo.airports import airports

    frame = airports().filter(
        (pl.col("kind") == "large") & (pl.col("longest_runway_ft") >= max(min_runway_ft, 8_000.0))
        & ~pl.col("country").is_in(sorted(banned))
    )
    return frame.to_dicts()


# (lat_lo, lat_hi, lon_lo, lon_hi): where the watched freighters' trips go (Africa, the Middle
# East, Latin America and the Caribbean): airports there are drawn this many times as often
FOCUS = ((-35.0, 37.0, -18.0, 52.0), (12.0, 42.0, 34.0, 63.0), (-56.0, 30.0, -118.0, -34.0))
FOCUS_WEIGHT = 8.0


def random_trip(seed: int, n_legs: int, start: datetime, home: str = "UUWW", typecode: str = "IL76",
                country: str = "RU", legal: bool = True, step_s: float = 10.0, icao24: str | None = None,
                africa_atlantic: bool = False, reuse: list[str] = (), reuse_share: float = 0.0,
                route: list[str] | None = None, ground_hours: list[float] | None = None) -> Trip:
    """A trip of `n_legs` legs from `home` between large airports the operator may use, legs of
    800–5,500 km, ground stays of 2.5–30 h (short stays put two stops in one outage), each leg on
    the shortest path legal for an operator of `country` (`legal`), else the great circle.

    `africa_atlantic` draws airports in FOCUS regions more often; `reuse` (with `reuse_share`)
    makes the trip revisit airports of another trip, as freighters on a circuit do. `route` (ICAO
    codes, `home` first) and `ground_hours` (one per intermediate stop) fix the trip instead.
    """
    from tailwatch.airspace.bans import banned_jurisdictions
    from tailwatch.geo.airports import airport
    from tailwatch.geo.geodesy import haversine_km
    from tailwatch.sim.scenario import legal_waypoints
    from tailwatch.sim.trips import Performance, flight_time_s, simulate_trip

    rng = np.random.default_rng(seed)
    banned = set(banned_jurisdictions(operator_country=country, registration_country=country, when=start))
    pool = _pool(banned, 5_600.0)
    lat = np.array([a["latitude"] for a in pool])
    lon = np.array([a["longitude"] for a in pool])
    weight = np.ones(lat.size)
    if africa_atlantic:
        for la0, la1, lo0, lo1 in FOCUS:
            weight[(lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)] = FOCUS_WEIGHT
    index = {a["icao"]: i for i, a in enumerate(pool)}
    again = np.array([index[c] for c in reuse if c in index], dtype=int)
    route = [airport(home)] if route is None else [airport(c) for c in route]
    for _ in range(n_legs - len(route) + 1):
        here = route[-1]
        d = haversine_km(here["latitude"], here["longitude"], lat, lon)
        fits = (d >= 800.0) & (d <= 5_500.0)
        if len(route) > 1:  # no immediate return
            fits &= np.array([a["icao"] != route[-2]["icao"] for a in pool])
        ok = np.flatnonzero(fits)
        known = again[fits[again]] if again.size else again
        if known.size and rng.random() < reuse_share:
            route.append(pool[int(rng.choice(known))])
            continue
        w = weight[ok] / weight[ok].sum()
        route.append(pool[int(rng.choice(ok, p=w))])
    n_legs = len(route) - 1
    ground = ([float(h) for h in ground_hours] if ground_hours is not None else
              [float(h) for h in rng.choice([2.5, 3.0, 4.0, 6.0, 10.0, 16.0, 24.0, 30.0], size=n_legs - 1)])
    perf = Performance()
    vias, t = [], start
    for i, (a, b) in enumerate(zip(route[:-1], route[1:])):
        via = legal_waypoints(a, b, t, country)[0] if legal else ()
        vias.append(via)
        t = t + timedelta(seconds=flight_time_s(a, b, perf, via)) + timedelta(hours=ground[i] if i < len(ground) else 0)
    icao24 = icao24 or f"{int(rng.integers(0x140000, 0x15FFFF)):06x}"
    points, legs = simulate_trip(route, start, ground, icao24, None, perf, step_s, seed, via=vias)
    return Trip(f"sim-{seed}", points, legs, typecode, country, icao24)


# --- seed-like trips: one stop between continents, hidden in a gap of 8–16 h ---------------

# (origin, stop, destination): legs like the seed trip's Caracas → Nouakchott → Algiers; under the
# masks the Atlantic, the Sahara and the Sahel are unheard, so the stop falls in one long gap
SEED_LIKE_ROUTES = (
    ("SVMI", "GQNO", "DAAG"), ("DAAG", "GQNO", "SVMI"), ("MUHA", "GQNO", "GMMN"),
    ("SVMI", "GOBD", "DTTA"), ("SKBO", "GQNO", "DAAG"), ("GMMN", "GOBD", "SVMI"),
    ("MUHA", "GVAC", "DAAG"), ("SVMI", "DIAP", "HECA"),
)


def decoy_history(route: tuple[str, ...], min_km: float = 250.0, max_km: float = 900.0) -> dict[str, int]:
    """A history prior that points away from the geometric answer: 3 days at the large airport
    nearest each stop (250–900 km from it, off the route), none at the stop itself."""
    from tailwatch.geo.airports import airport, airports
    from tailwatch.geo.geodesy import haversine_km

    big = airports().filter(pl.col("kind") == "large")
    out = {}
    for code in route[1:-1]:
        a = airport(code)
        d = haversine_km(a["latitude"], a["longitude"], big["latitude"].to_numpy(), big["longitude"].to_numpy())
        ok = (d >= min_km) & (d <= max_km) & ~big["icao"].is_in(list(route)).to_numpy()
        if ok.any():
            out[str(big["icao"][int(np.argmin(np.where(ok, d, np.inf)))])] = 3
    return out


def seed_like_trip(k: int, start: datetime) -> tuple[Trip, dict[str, int]]:
    """The k-th seed-like trip (a route of SEED_LIKE_ROUTES, ground stays of 3–9 h at the stop)
    and its decoy history."""
    route = SEED_LIKE_ROUTES[k % len(SEED_LIKE_ROUTES)]
    rng = np.random.default_rng(5_000 + k)
    trip = random_trip(5_000 + k, len(route) - 1, start, home=route[0], route=list(route),
                       ground_hours=[float(rng.uniform(3.0, 9.0)) for _ in route[1:-1]])
    trip.name = f"seedlike-{'-'.join(route)}-{k}"
    return trip, decoy_history(route)
