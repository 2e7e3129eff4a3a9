"""The drawn chain of each bridge flight: its legs' observed runs and inferred connections, simplified.

Why here: the bridge document holds airports and times, not positions, and the map of all inbound
tracks must show what the itinerary map shows (solid where points exist, dashed across a gap). The
same cutting as every other writer (`report.tracks.leg_segments`: observed runs of the leg's own
points, great circles across the itinerary's gaps or to an airport the points do not reach), then each
line simplified (`TOLERANCE_DEG`) and rounded (`DECIMALS`): the map shows where the flights went, the
itinerary report shows how. Nothing is drawn that the itinerary and its points do not give.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.report.tracks import leg_points, leg_segments

TOLERANCE_DEG = 0.01  # ~1 km: finer than the campaign map can show
DECIMALS = 4  # ~10 m


def chain_leg_indices(flight: dict) -> list[int]:
    """Indices (in the itinerary's `legs`) of the legs a flight's chain walks, first to the arriving one."""
    last = flight.get("leg")
    if not isinstance(last, int):
        return []
    n = max(1, len(flight.get("chain") or []) - 1)
    return list(range(max(0, last - n + 1), last + 1))


def _simplify(lon: np.ndarray, lat: np.ndarray) -> list[list[float]]:
    if lon.size > 2:
        import shapely

        line = shapely.LineString(np.column_stack([lon, lat])).simplify(TOLERANCE_DEG, preserve_topology=False)
        xy = np.asarray(line.coords)
        if xy.shape[0] >= 2:
            lon, lat = xy[:, 0], xy[:, 1]
    return [[round(float(a), DECIMALS), round(float(b), DECIMALS)] for a, b in zip(lon, lat)]


def flight_track(legs: list[dict], flight: dict, points: pl.DataFrame | None) -> list[dict]:
    """The flight's segments: `{"leg": n (1 = the chain's first leg), "evidence", "reason", "coordinates": [[lon, lat], ...]}`.

    `points` are the aircraft's own positions (any time span covering the chain; None: none gathered, every
    leg is then the great circle between its airports, inferred)."""
    out = []
    for number, i in enumerate(chain_leg_indices(flight), 1):
        if i >= len(legs):
            break
        leg = legs[i]
        frame = leg_points(points, leg, i) if points is not None and points.height else leg_points(None, leg, i)
        for seg in leg_segments(leg, frame, i):
            out.append({"leg": number, "evidence": seg.evidence, "reason": seg.reason,
                        "coordinates": _simplify(np.asarray(seg.lon, dtype=float), np.asarray(seg.lat, dtype=float))})
    return out


def chain_span(legs: list[dict], flight: dict) -> tuple[str | None, str | None]:
    """The first and last time the chain's legs name (ISO strings), to gather its points."""
    times = [t for i in chain_leg_indices(flight) if i < len(legs)
             for t in (legs[i].get("takeoff"), legs[i].get("first_point"), legs[i].get("landing"), legs[i].get("last_point")) if t]
    return (min(times), max(times)) if times else (None, None)


__all__ = ["chain_leg_indices", "chain_span", "flight_track"]
