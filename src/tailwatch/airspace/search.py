"""Search over the visibility graph: A* for the shortest legal path between two points, and over
fuel-stop airports when a hop exceeds the range (airspace/routing.py explains the method)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from tailwatch.airspace.obstacles import Obstacles
from tailwatch.geo.geodesy import haversine_km, to_unit_vectors


STOP_PENALTY_KM = 150.0
MAX_STOP_CANDIDATES = 50


class NoRoute(ValueError):
    """No legal route exists (an end lies in banned airspace, or range cannot be met)."""


@dataclass
class Path:
    lat: np.ndarray
    lon: np.ndarray
    km: float


def shortest_path(obst: Obstacles, lat1: float, lon1: float, lat2: float, lon2: float,
                  limit_km: float | None = None) -> Path:
    """The shortest great-circle polyline from 1 to 2 that stays out of `obst`
    (NoRoute if there is none, or none within `limit_km`)."""
    if obst.inside(lat1, lon1) or obst.inside(lat2, lon2):
        raise NoRoute("an end point lies inside banned airspace")
    direct = float(haversine_km(lat1, lon1, lat2, lon2))
    if obst.arc_clear(lat1, lon1, lat2, lon2):
        return Path(np.array([lat1, lat2]), np.array([lon1, lon2]), direct)
    d1 = haversine_km(lat1, lon1, obst.node_lat, obst.node_lon)
    d2 = haversine_km(obst.node_lat, obst.node_lon, lat2, lon2)
    bound = max(direct * 1.3, direct + 600.0)
    if limit_km is not None:
        if direct > limit_km:
            raise NoRoute("the direct distance exceeds the limit")
        bound = min(bound, limit_km)
    best: Path | None = None
    for _ in range(8):
        keep = np.flatnonzero(d1 + d2 <= bound)
        path = _astar(obst, keep, lat1, lon1, lat2, lon2)
        if path is not None and path.km <= bound + 1e-6:
            return path
        if path is not None:
            best, bound = path, path.km
            continue
        if keep.size == obst.node_lat.size or (limit_km is not None and bound >= limit_km):
            break
        bound = bound * 1.6 if limit_km is None else min(bound * 1.6, limit_km)
    if best is not None:
        return best
    raise NoRoute("no route around the banned airspace")


def _astar(obst: Obstacles, keep: np.ndarray, lat1: float, lon1: float, lat2: float, lon2: float) -> Path | None:
    """A* over {start, goal} ∪ kept nodes on the visibility graph, built as it is explored:
    from each settled node, only arcs that improve a node's best cost so far are checked."""
    lat = np.r_[lat1, lat2, obst.node_lat[keep]]
    lon = np.r_[lon1, lon2, obst.node_lon[keep]]
    vec = np.r_[to_unit_vectors(np.array([lat1, lat2]), np.array([lon1, lon2])), obst.node_vec[keep]]
    pc = np.r_[np.zeros((2, 3)), obst.node_pcross[keep]]
    nc = np.r_[np.zeros((2, 3)), obst.node_ncross[keep]]
    has = np.r_[False, False, np.ones(keep.size, bool)]
    n = lat.size
    h = haversine_km(lat, lon, lat2, lon2)
    closed = np.zeros(n, bool)
    parent = np.full(n, -1)
    g = np.full(n, np.inf)
    g[0] = 0.0
    heap: list[tuple[float, int]] = [(float(h[0]), 0)]
    while heap:
        _, u = heapq.heappop(heap)
        if closed[u]:
            continue
        closed[u] = True
        if u == 1:
            break
        cand = np.flatnonzero(~closed)
        if has[u]:  # the arc must leave u tangentially: (u × v)·p_u = -v·(u × p_u)
            cand = cand[(vec[cand] @ pc[u]) * (vec[cand] @ nc[u]) >= -1e-12]
        # ... and reach v tangentially: (u × v)·p_v = u·(v × p_v)
        cand = cand[~has[cand] | ((pc[cand] @ vec[u]) * (nc[cand] @ vec[u]) >= -1e-12)]
        gv = g[u] + haversine_km(lat[u], lon[u], lat[cand], lon[cand])
        better = gv < g[cand] - 1e-9
        cand, gv = cand[better], gv[better]
        order = np.argsort(gv + h[cand])
        for v, gvv in zip(cand[order].tolist(), gv[order].tolist()):
            if obst.arc_clear(lat[u], lon[u], lat[v], lon[v]):
                g[v], parent[v] = gvv, u
                heapq.heappush(heap, (gvv + h[v], v))
    if not closed[1]:
        return None
    order = [1]
    while parent[order[-1]] >= 0:
        order.append(int(parent[order[-1]]))
    order.reverse()
    return Path(lat[order], lon[order], float(g[1]))


@dataclass
class Hop:
    origin: str
    destination: str
    path: Path


def _legal_hop(obst: Obstacles, a: dict, b: dict, cache: dict, limit_km: float | None = None) -> Path | None:
    """Legal shortest path between two airports, None if none within `limit_km` (cached)."""
    key = (a["latitude"], a["longitude"], b["latitude"], b["longitude"], limit_km)
    if key not in cache:
        try:
            cache[key] = shortest_path(obst, a["latitude"], a["longitude"], b["latitude"], b["longitude"], limit_km)
        except NoRoute:
            cache[key] = None
    return cache[key]


def plan_route(obst: Obstacles, origin: dict, destination: dict, range_km: float | None,
               stops: list[dict] | None = None, max_candidates: int | None = None) -> list[Hop]:
    """Hops origin → … → destination, each within range, minimising distance + stop penalty.

    `origin`/`destination`/`stops` are airport dicts (icao, latitude, longitude)."""
    cache = obst._hop_cache
    whole = _legal_hop(obst, origin, destination, cache)
    if whole is None:
        raise NoRoute(f"no legal route from {origin['icao']} to {destination['icao']}")
    if range_km is None or whole.km <= range_km:
        return [Hop(origin["icao"], destination["icao"], whole)]
    stops = [s for s in (stops or []) if s["icao"] not in (origin["icao"], destination["icao"])]
    nodes = [origin, destination] + stops
    lat = np.array([s["latitude"] for s in nodes], float)
    lon = np.array([s["longitude"] for s in nodes], float)
    # candidates: the MAX_STOP_CANDIDATES airports with the least great-circle detour
    # d(o,a) + d(a,d), within 1.5 × the legal distance
    detour = haversine_km(lat[0], lon[0], lat, lon) + haversine_km(lat, lon, lat[1], lon[1])
    detour[:2] = -1.0
    idx = np.argsort(detour, kind="stable")[:(max_candidates or MAX_STOP_CANDIDATES) + 2]
    idx = np.sort(idx[detour[idx] <= whole.km * 1.5])
    lat, lon, nodes = lat[idx], lon[idx], [nodes[i] for i in idx]
    inside = obst.inside_many(lat, lon)
    h = haversine_km(lat, lon, lat[1], lon[1])
    n = len(nodes)
    closed = np.zeros(n, bool)
    parent = np.full(n, -1)
    hop_path: dict[int, Path] = {}
    heap: list[tuple[float, float, int, int, bool]] = [(float(h[0]), 0.0, 0, -1, True)]
    cost = np.full(n, np.inf)
    while heap:
        f, gu, u, par, exact = heapq.heappop(heap)
        if closed[u]:
            continue
        if par >= 0 and not exact:
            path = _legal_hop(obst, nodes[par], nodes[u], cache, range_km)
            if path is None or path.km > range_km:
                continue
            penalty = STOP_PENALTY_KM if u != 1 else 0.0
            true_g = cost[par] + path.km + penalty
            heapq.heappush(heap, (true_g + h[u], true_g, u, par, True))
            hop_path[(par, u)] = path
            continue
        closed[u], parent[u], cost[u] = True, par, gu
        if u == 1:
            break
        cand = np.flatnonzero(~closed & ~inside)
        d = haversine_km(lat[u], lon[u], lat[cand], lon[cand])
        ok = d <= range_km
        for v, dv in zip(cand[ok].tolist(), d[ok].tolist()):
            penalty = STOP_PENALTY_KM if v != 1 else 0.0
            heapq.heappush(heap, (gu + dv + penalty + h[v], gu + dv + penalty, v, u, False))
    if not closed[1]:
        raise NoRoute(f"no route from {origin['icao']} to {destination['icao']} with hops of at most "
                      f"{range_km:,.0f} km through the candidate airports")
    order = [1]
    while parent[order[-1]] >= 0:
        order.append(int(parent[order[-1]]))
    order.reverse()
    return [Hop(nodes[a]["icao"], nodes[b]["icao"], hop_path[(a, b)]) for a, b in zip(order[:-1], order[1:])]
