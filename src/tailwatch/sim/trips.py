"""Simulated flights: taxi, take-off roll, climb, cruise, descent, landing roll, taxi.

Why by hand: trajectory generators in the field (BlueSky, openap's `gen`) model one aircraft
with autopilot detail we do not need and bring heavy dependencies; tests and the demo only need
a plausible kinematic profile along a path with the columns a receiver would give. A leg
follows the great circle, or great-circle segments through given waypoints (`LegPlan.via`,
e.g. a route around banned airspace from `tailwatch.airspace.routing`); climb, cruise,
descent and timing come from the distance along that path. Every leg is generated as NumPy
arrays in one go (no per-point loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import from_unit_vectors, haversine_km, initial_bearing, to_unit_vectors
from tailwatch.schema import POINT_SCHEMA

KT_KMS = 1.852 / 3600.0
SOURCE = "simulated"


@dataclass(frozen=True)
class Performance:
    """Round figures for a jet transport; only the shape of the profile matters to the analysis."""

    cruise_kt: float = 424.0  # Il-76 family cruise (airlift type table: 424 kt)
    cruise_ft: float = 31_000.0
    climb_fpm: float = 1_600.0
    climb_kt: float = 290.0
    descent_kt: float = 300.0
    approach_kt: float = 150.0
    taxi_kt: float = 12.0


@dataclass(frozen=True)
class LegPlan:
    origin: dict  # airport row (icao, latitude, longitude, elevation_ft)
    destination: dict
    takeoff: datetime
    taxi_out_s: float = 600.0
    taxi_in_s: float = 480.0
    via: tuple[tuple[float, float], ...] = ()  # (lat, lon) turning points between the airports


Waypoints = Sequence[tuple[float, float]]


def _path(origin: dict, destination: dict, via: Waypoints = ()) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (k, 3) of origin, waypoints, destination, and the cumulative km at each."""
    lat = np.array([origin["latitude"], *(float(p[0]) for p in via), destination["latitude"]], float)
    lon = np.array([origin["longitude"], *(float(p[1]) for p in via), destination["longitude"]], float)
    seg = np.asarray(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]), float)
    return to_unit_vectors(lat, lon), np.r_[0.0, np.cumsum(seg)]


def path_km(origin: dict, destination: dict, via: Waypoints = ()) -> float:
    """Length of a leg flown through `via` (the great circle when there are none)."""
    return float(_path(origin, destination, via)[1][-1])


def _along_path(vec: np.ndarray, cum: np.ndarray, along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions `along` km down the polyline of great-circle segments (vectorised slerp)."""
    along = np.clip(along, 0.0, cum[-1])
    k = np.clip(np.searchsorted(cum, along, side="right") - 1, 0, cum.size - 2)
    a, b = vec[k], vec[k + 1]
    seg = cum[k + 1] - cum[k]
    frac = np.divide(along - cum[k], seg, out=np.zeros_like(along), where=seg > 1e-9)
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0))
    small = omega < 1e-12
    sin_o = np.where(small, 1.0, np.sin(omega))
    wa = np.where(small, 1.0 - frac, np.sin((1 - frac) * omega) / sin_o)
    wb = np.where(small, frac, np.sin(frac * omega) / sin_o)
    v = wa[:, None] * a + wb[:, None] * b
    return from_unit_vectors(v / np.linalg.norm(v, axis=1)[:, None])


def _profile(distance_km: float, perf: Performance, elev0: float, elev1: float) -> tuple[np.ndarray, ...]:
    """Piecewise (along_km, time_s, altitude_ft) knots of an airborne profile."""
    cruise = perf.cruise_ft
    climb_min = (cruise - elev0) / perf.climb_fpm
    climb_km = climb_min * 60 * perf.climb_kt * KT_KMS
    desc_km = (cruise - elev1) * 0.3048 / np.tan(np.radians(3.0)) / 1000.0
    if climb_km + desc_km > 0.9 * distance_km:  # short leg: lower cruise level
        scale = 0.9 * distance_km / (climb_km + desc_km)
        cruise = elev0 + (cruise - elev0) * scale
        climb_km *= scale
        desc_km *= scale
        climb_min *= scale
    cruise_km = distance_km - climb_km - desc_km
    final_km = min(15.0, desc_km * 0.3)
    s = np.array([0.0, climb_km, climb_km + cruise_km, distance_km - final_km, distance_km])
    v = np.array([perf.climb_kt, perf.cruise_kt, perf.descent_kt, perf.approach_kt])  # per segment
    seg_t = np.diff(s) / (v * KT_KMS)
    t = np.concatenate([[0.0], np.cumsum(seg_t)])
    alt = np.array([elev0, cruise, cruise, elev1 + final_km * 1000 * np.tan(np.radians(3.0)) / 0.3048, elev1])
    return s, t, alt


def simulate_leg(plan: LegPlan, icao24: str, callsign: str | None, perf: Performance = Performance(),
                 step_s: float = 5.0, ground_step_s: float = 10.0, rng: np.random.Generator | None = None
                 ) -> pl.DataFrame:
    """Canonical points of one flight, gate to gate, every `step_s` seconds in the air."""
    rng = rng or np.random.default_rng(0)
    o, d = plan.origin, plan.destination
    e0, e1 = float(o.get("elevation_ft") or 0.0), float(d.get("elevation_ft") or 0.0)
    vec, cum = _path(o, d, plan.via)
    dist = float(cum[-1])
    s_k, t_k, alt_k = _profile(dist, perf, e0, e1)
    t_air = np.arange(0.0, t_k[-1], step_s)
    along = np.interp(t_air, t_k, s_k)
    alt = np.interp(along, s_k, alt_k)
    lat, lon = _along_path(vec, cum, along)
    gs = np.gradient(along, t_air) / KT_KMS if t_air.size > 1 else np.zeros(1)
    vr = np.gradient(alt, t_air) * 60.0 if t_air.size > 1 else np.zeros(1)
    lat2, lon2 = _along_path(vec, cum, np.minimum(along + 1.0, dist))
    track = initial_bearing(lat, lon, lat2, lon2)
    # ground: taxi out / in around the airport reference point (a few hundred metres of jitter)
    n_out = int(plan.taxi_out_s // ground_step_s)
    n_in = int(plan.taxi_in_s // ground_step_s)
    t_out = -plan.taxi_out_s + np.arange(n_out) * ground_step_s
    t_in = t_k[-1] + np.arange(1, n_in + 1) * ground_step_s
    jit = lambda n: rng.normal(0.0, 0.004, n)  # noqa: E731 - ~400 m
    times = np.concatenate([t_out, t_air, t_in])
    base = np.datetime64(plan.takeoff.astimezone(timezone.utc).replace(tzinfo=None), "us")
    stamps = base + (times * 1e6).astype("timedelta64[us]")
    n_air = t_air.size
    data = {
        "timestamp": stamps,
        "icao24": np.full(times.size, icao24),
        "callsign": np.full(times.size, callsign or None, dtype=object),
        "latitude": np.concatenate([o["latitude"] + jit(n_out), lat, d["latitude"] + jit(n_in)]),
        "longitude": np.concatenate([o["longitude"] + jit(n_out), lon, d["longitude"] + jit(n_in)]),
        "altitude": np.concatenate([np.full(n_out, e0), alt, np.full(n_in, e1)]).round(-1),
        "groundspeed": np.concatenate([np.full(n_out, perf.taxi_kt), gs, np.full(n_in, perf.taxi_kt)]),
        "track": np.concatenate([rng.uniform(0, 360, n_out), track, rng.uniform(0, 360, n_in)]),
        "vertical_rate": np.concatenate([np.zeros(n_out), vr, np.zeros(n_in)]).round(-1),
        "onground": np.concatenate([np.ones(n_out, bool), np.zeros(n_air, bool), np.ones(n_in, bool)]),
    }
    out = pl.DataFrame(data).with_columns(
        pl.col("timestamp").dt.replace_time_zone("UTC"),
        pl.lit(None, pl.Float32).alias("geoaltitude"),
        pl.lit(None, pl.String).alias("squawk"),
        pl.lit(SOURCE).alias("source"),
    )
    return out.select([pl.col(c).cast(t) for c, t in POINT_SCHEMA.items()])


def flight_time_s(origin: dict, destination: dict, perf: Performance = Performance(), via: Waypoints = ()) -> float:
    """Airborne time of a simulated leg (for scheduling), flown through `via`."""
    dist = path_km(origin, destination, via)
    return float(_profile(dist, perf, float(origin.get("elevation_ft") or 0), float(destination.get("elevation_ft") or 0))[1][-1])


def simulate_trip(airports: list[dict], first_takeoff: datetime, ground_hours: list[float], icao24: str,
                  callsign: str | None = None, perf: Performance = Performance(), step_s: float = 5.0,
                  seed: int = 0, via: Sequence[Waypoints] | None = None) -> tuple[pl.DataFrame, list[dict]]:
    """A multi-leg trip through `airports`; `ground_hours[i]` is the stay at airports[i + 1];
    `via[i]` (optional) the waypoints leg i flies through (direct great circle when empty).

    Returns the points and the truth: one dict per leg (origin, destination, takeoff, landing,
    great_circle_km, flown_km).
    """
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    takeoff = first_takeoff
    n_legs = len(airports) - 1
    via = list(via) if via is not None else [()] * n_legs
    if len(via) != n_legs:
        raise ValueError(f"via has {len(via)} entries for {n_legs} legs")
    for i, (a, b) in enumerate(zip(airports[:-1], airports[1:])):
        plan = LegPlan(a, b, takeoff, via=tuple((float(p[0]), float(p[1])) for p in via[i]))
        frames.append(simulate_leg(plan, icao24, callsign, perf, step_s, rng=rng))
        landing = takeoff + timedelta(seconds=flight_time_s(a, b, perf, plan.via))
        truth.append({"origin": a["icao"], "destination": b["icao"], "takeoff": takeoff, "landing": landing,
                      "great_circle_km": round(path_km(a, b), 1), "flown_km": round(path_km(a, b, plan.via), 1)})
        if i < len(ground_hours):
            takeoff = landing + timedelta(hours=ground_hours[i])
    return pl.concat(frames).sort("timestamp"), truth


def simulate_traffic(airports: list[dict], n_flights: int, start: datetime, hours: float, seed: int = 1,
                     step_s: float = 5.0, perf: Performance = Performance(cruise_kt=450.0, cruise_ft=35_000.0),
                     min_km: float = 250.0) -> pl.DataFrame:
    """Other aircraft: `n_flights` single legs between random pairs of `airports`."""
    rng = np.random.default_rng(seed)
    frames = []
    n_ap = len(airports)
    made = 0
    tries = 0
    while made < n_flights and tries < n_flights * 20:
        tries += 1
        i, j = rng.integers(0, n_ap, 2)
        a, b = airports[int(i)], airports[int(j)]
        if i == j or float(haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"])) < min_km:
            continue
        takeoff = start + timedelta(seconds=float(rng.uniform(0, hours * 3600)))
        icao24 = f"{int(rng.integers(0x100000, 0xEFFFFF)):06x}"
        callsign = f"SIM{made:04d}"
        frames.append(simulate_leg(LegPlan(a, b, takeoff), icao24, callsign, perf, step_s, rng=rng))
        made += 1
    return pl.concat(frames) if frames else pl.DataFrame(schema=POINT_SCHEMA)

