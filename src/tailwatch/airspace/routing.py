"""Shortest route on the sphere that avoids banned airspace, with fuel stops when a hop
exceeds the aircraft's range.

Method: a reduced visibility graph, explored by A* as it is built.
- Obstacles are the banned states' airspace (land + 12 NM). Graph nodes are the convex
  vertices of the same shapes grown by 40 km and simplified to 0.2° (the `obstacle` layer
  of `geo.countries`), so every node lies ≥ ~18 km outside the airspace it wraps.
- Edges are great-circle arcs (exact geodesics on the sphere), kept only when tangent at
  both ends (a shortest path around polygons bends only at convex vertices, tangentially),
  and only when they improve a node's best cost so far. An arc is legal when it crosses no
  boundary edge of the banned airspace: an exact arc–arc intersection test on unit vectors
  (two matrix–vector products over the ~16 k boundary edges, ~50 µs), which needs no special
  case at the antimeridian or the poles. Ends are checked to lie outside.
- Nodes are limited to the ellipse {x : d(o,x) + d(x,d) ≤ bound}; a path found shorter than
  the bound is optimal, otherwise the search is repeated once with bound = its length.
Why not a grid: an 8- or 16-neighbour lattice has a metrication error of several percent
unless very fine, and a fine global grid is slow in Python; the visibility graph is exact up
to the node margin. Error bounds: the route is at most ~margin × turning angle longer than
the true shortest path around the 12 NM airspace (≤ 40 km × π per obstacle wrapped,
typically 10–60 km on an intercontinental route, < 1 %); Natural Earth 1:10m and the 0.01°
simplification place borders to ~1 km; the sphere differs from WGS84 by ≤ 0.5 %.

Fuel stops: when the legal route is longer than the range, A* runs over suitable airports
(large airports usable by the type in states that do not ban the aircraft — and, when those
give no route, also medium ones with ≥ 8,000 ft runways; the 50 (150) with the least
great-circle detour d(o,a) + d(a,d)) with hop cost = the legal shortest distance between
them (computed lazily when a hop is popped, at most the range), plus a per-stop penalty so
an extra landing is only chosen when it saves more than `STOP_PENALTY_KM`. The candidate cap
is a heuristic: a route through an airport outside it is not found.
Measured (`bench/route.py`): 0.6–0.7 s for Moscow → Caracas / Havana with an Il-76's range.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, haversine_km, to_unit_vectors

DENSIFY_KM = 25.0  # spacing of points drawn along an arc (`arc_points`)
STOP_PENALTY_KM = 150.0
MAX_STOP_CANDIDATES = 50


class NoRoute(ValueError):
    """No legal route exists (an end lies in banned airspace, or range cannot be met)."""


TILE_DEG = 5.0
TOUCH = 1e-12  # |sin| below which a point counts as on a great circle (~6 µm)
EDGE_MAX_DEG = 0.5  # polygon edges are straight in lon/lat: split long ones before treating them as arcs


def _tiles(geom: shapely.Geometry) -> np.ndarray:
    """Polygon parts, large ones cut into 5° tiles: small prepared pieces answer fast."""
    out = []
    for part in shapely.get_parts(geom):
        x0, y0, x1, y1 = part.bounds
        if (x1 - x0) <= TILE_DEG and (y1 - y0) <= TILE_DEG:
            out.append(part)
            continue
        xs = np.arange(np.floor(x0 / TILE_DEG) * TILE_DEG, x1, TILE_DEG)
        ys = np.arange(np.floor(y0 / TILE_DEG) * TILE_DEG, y1, TILE_DEG)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        pieces = shapely.intersection(part, shapely.box(gx, gy, gx + TILE_DEG, gy + TILE_DEG))
        out.extend(q for q in pieces if not q.is_empty)
    tiles = np.array(out, dtype=object)
    shapely.prepare(tiles)
    return tiles


def _boundary_edges(geom: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (m, 3) of the start and end of every boundary edge, edges ≤ 0.5°."""
    if geom.is_empty:
        return np.empty((0, 3)), np.empty((0, 3))
    dense = shapely.segmentize(geom, EDGE_MAX_DEG)
    starts, ends = [], []
    for poly in shapely.get_parts(dense):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            starts.append(xy[:-1])
            ends.append(xy[1:])
    a, b = np.concatenate(starts), np.concatenate(ends)
    # drop zero-length edges and the cuts along ±180° (interior to the airspace on the sphere)
    cut = (np.abs(a[:, 0]) >= 180.0 - 1e-9) & (np.abs(b[:, 0]) >= 180.0 - 1e-9)
    keep = np.any(a != b, axis=1) & ~cut
    return to_unit_vectors(a[keep, 1], a[keep, 0]), to_unit_vectors(b[keep, 1], b[keep, 0])


@dataclass
class Obstacles:
    """Banned airspace prepared for routing: boundary edges as unit vectors (exact arc
    crossing tests on the sphere), tiled polygons (point tests) and the candidate nodes."""

    codes: tuple[str, ...]
    tiles: np.ndarray  # prepared lon/lat pieces of the airspace
    tree: shapely.STRtree
    edge_a: np.ndarray  # (m, 3) boundary edge ends
    edge_b: np.ndarray
    edge_n: np.ndarray  # (m, 3) edge_a × edge_b
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_vec: np.ndarray  # (n, 3) unit vectors
    node_pcross: np.ndarray  # (n, 3) v × prev and v × next: tangency is a dot product
    node_ncross: np.ndarray
    _edge_cache: dict = field(default_factory=dict, repr=False)
    _hop_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_shapes(cls, banned: list[shapely.Geometry], nodes: list[shapely.Geometry],
                    codes: tuple[str, ...] = ()) -> "Obstacles":
        """`banned`: airspace to avoid; `nodes`: the same grown by a margin (lon/lat)."""
        airspace = shapely.union_all([g for g in banned if g is not None and not g.is_empty])
        tiles = _tiles(airspace) if not airspace.is_empty else np.empty(0, dtype=object)
        ea, eb = _boundary_edges(airspace)
        lat, lon, prev, nxt = [], [], [], []
        grown = shapely.union_all([g for g in nodes if g is not None and not g.is_empty])
        for poly in shapely.get_parts(grown):
            ring = np.asarray(poly.exterior.coords)[:-1]
            if not poly.exterior.is_ccw:
                ring = ring[::-1]
            if len(ring) < 3:
                continue
            p, n = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
            scale = np.cos(np.radians(ring[:, 1]))
            a = (ring - p) * np.c_[scale, np.ones(len(ring))]
            b = (n - ring) * np.c_[scale, np.ones(len(ring))]
            convex = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] > 0
            convex &= np.abs(ring[:, 0]) < 180.0 - 1e-9  # corners made by the ±180° cut are not corners
            lat.append(ring[convex, 1])
            lon.append(ring[convex, 0])
            prev.append(to_unit_vectors(p[convex, 1], p[convex, 0]))
            nxt.append(to_unit_vectors(n[convex, 1], n[convex, 0]))
        empty = np.empty((0, 3))
        f = np.asfortranarray  # column-major: (m, 3) @ (3,) is ~3× faster
        obst = cls(tuple(codes), tiles, shapely.STRtree(tiles), f(ea), f(eb), f(np.cross(ea, eb)),
                   np.empty(0), np.empty(0), empty, empty, empty)
        if lat:
            lat_a, lon_a = np.concatenate(lat), np.concatenate(lon)
            prev_a, next_a = np.concatenate(prev), np.concatenate(nxt)
            outside = ~obst.inside_many(lat_a, lon_a)
            obst.node_lat, obst.node_lon = lat_a[outside], lon_a[outside]
            obst.node_vec = to_unit_vectors(obst.node_lat, obst.node_lon)
            obst.node_pcross = np.cross(obst.node_vec, prev_a[outside])
            obst.node_ncross = np.cross(obst.node_vec, next_a[outside])
        return obst

    def inside_many(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        out = np.zeros(lat.size, bool)
        if self.tiles.size == 0:
            return out
        lon = (lon + 180.0) % 360.0 - 180.0
        pi, ti = self.tree.query(shapely.points(lon, lat))
        for p, t in zip(pi.tolist(), ti.tolist()):
            if not out[p] and shapely.contains_xy(self.tiles[t], lon[p], lat[p]):
                out[p] = True
        return out

    def inside(self, lat: float, lon: float) -> bool:
        return bool(self.inside_many(np.array([lat]), np.array([lon]))[0])

    def arc_clear(self, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
        """True when the great-circle arc between two points outside the airspace crosses
        no boundary edge of it (exact on the sphere; antimeridian and poles need no care)."""
        if self.edge_a.shape[0] == 0:
            return True
        key = (lat1, lon1, lat2, lon2)
        hit = self._edge_cache.get(key)
        if hit is None:
            a, b = _unit(lat1, lon1), _unit(lat2, lon2)
            hit = not arc_crosses(a, b, self.edge_a, self.edge_b, self.edge_n)
            self._edge_cache[key] = hit
            self._edge_cache[(lat2, lon2, lat1, lon1)] = hit
        return hit


def _cross_rows(u: np.ndarray, m: np.ndarray) -> np.ndarray:
    """u × m for one vector u and rows m (np.cross is slow on small inputs)."""
    return np.stack([u[1] * m[:, 2] - u[2] * m[:, 1],
                     u[2] * m[:, 0] - u[0] * m[:, 2],
                     u[0] * m[:, 1] - u[1] * m[:, 0]], axis=1)


def _unit(lat: float, lon: float) -> np.ndarray:
    p, l = math.radians(lat), math.radians(lon)
    return np.array([math.cos(p) * math.cos(l), math.cos(p) * math.sin(l), math.sin(p)])


def arc_crosses(a: np.ndarray, b: np.ndarray, ea: np.ndarray, eb: np.ndarray, en: np.ndarray) -> bool:
    """Does the minor arc a→b cross any of the minor arcs ea→eb (normals en)? Unit vectors."""
    n1 = np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
    sa, sb = ea @ n1, eb @ n1
    # edge ends on both sides of the arc's circle (touching counts: conservative)
    straddle = np.flatnonzero((np.minimum(sa, sb) <= TOUCH) & (np.maximum(sa, sb) >= -TOUCH))
    if straddle.size == 0:
        return False
    en_s = en[straddle]
    ta, tb = en_s @ a, en_s @ b
    both = (np.minimum(ta, tb) <= TOUCH) & (np.maximum(ta, tb) >= -TOUCH)  # arc ends on both sides
    if not both.any():
        return False
    idx = straddle[both]
    p = _cross_rows(n1, en[idx])  # the circles meet at ±p: take the one near the (short) edge
    p *= np.where(np.einsum("ij,ij->i", p, ea[idx] + eb[idx]) < 0, -1.0, 1.0)[:, None]
    on_ab = (_cross_rows(a, p) @ n1 >= -TOUCH) & (_cross_rows(b, p) @ n1 <= TOUCH)  # p between a and b
    return bool(on_ab.any())


def arc_points(lat1: float, lon1: float, lat2: float, lon2: float, step_km: float = DENSIFY_KM):
    """Points along the great circle every ≤ step_km, longitudes unwrapped (may pass ±180)."""
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = np.array([math.cos(p1) * math.cos(l1), math.cos(p1) * math.sin(l1), math.sin(p1)])
    b = np.array([math.cos(p2) * math.cos(l2), math.cos(p2) * math.sin(l2), math.sin(p2)])
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    n = max(math.ceil(omega * EARTH_RADIUS_KM / step_km), 1) + 1
    if omega < 1e-12:
        return np.full(n, float(lat1)), np.full(n, float(lon1))
    t = np.linspace(0.0, omega, n)
    v = (np.sin(omega - t)[:, None] * a + np.sin(t)[:, None] * b) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(v[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.unwrap(np.arctan2(v[:, 1], v[:, 0])))
    return lat, lon


@lru_cache(maxsize=32)
def obstacles_for(codes: tuple[str, ...]) -> Obstacles:
    """Obstacles for a set of banned ISO2 codes, from the packaged country layers (cached)."""
    from tailwatch.geo.countries import airspace_shapes, obstacle_shapes

    air, grown = airspace_shapes(), obstacle_shapes()
    codes = tuple(sorted(c for c in set(codes) if c in air))
    return Obstacles.from_shapes([air[c] for c in codes], [grown[c] for c in codes], codes)


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


# ---------------------------------------------------------------- fuel stops


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


# ---------------------------------------------------------------- the `route` query

DEFAULT_PAYLOAD_T = 20.0


def _airport_or_raise(code: str) -> dict:
    from tailwatch.geo.airports import airport
    from tailwatch.errors import BadInput

    found = airport(code)
    if found is None:
        raise BadInput(f"unknown airport code {code!r}")
    return found


def resolve_range_km(typecode: str | None, payload_t: float | None, range_km: float | None) -> tuple[float | None, str]:
    """(range km or None, how it was obtained): an explicit range wins, else the airlift
    payload–range model of the type at the payload — by default 20 t, or half the type's
    maximum payload when that is smaller (a light jet) — else unknown."""
    if range_km is not None:
        return float(range_km), "given"
    if not typecode:
        return None, "unknown (no type)"
    try:
        from tailwatch.airlift.payload import range_km as type_range
        from tailwatch.airlift.types import aircraft_type
    except ImportError:
        return None, "unknown (airlift model unavailable)"
    spec = aircraft_type(typecode)
    if spec is None:
        return None, f"unknown (no data for type {typecode})"
    if payload_t is None:
        cap = spec.max_payload_t
        payload = DEFAULT_PAYLOAD_T if cap is None else min(DEFAULT_PAYLOAD_T, 0.5 * cap)
    else:
        payload = float(payload_t)
    r = type_range(typecode, payload)
    if r <= 0:
        raise NoRoute(f"{typecode} cannot lift {payload:g} t")
    return float(r), f"{typecode} with {payload:g} t (airlift payload–range model)"


STOP_MIN_RUNWAY_FT = 8000.0  # medium airports qualify as fuel stops with a runway this long


def stop_candidates(banned: set[str], min_runway_ft: float | None, medium: bool = False) -> list[dict]:
    """Fuel-stop candidates in states that do not ban the aircraft: large airports the type
    can use, and with `medium` also medium ones with a runway ≥ max(type's need, 8,000 ft)."""
    import polars as pl

    from tailwatch.geo.airports import airports, usable_mask

    frame = airports()
    long_enough = max(min_runway_ft or 0.0, STOP_MIN_RUNWAY_FT)
    kind_ok = (pl.col("kind") == "large") | (
        pl.lit(medium) & (pl.col("kind") == "medium") & (pl.col("longest_runway_ft").fill_null(0) >= long_enough))
    frame = frame.filter(usable_mask(frame, min_runway_ft) & kind_ok & ~pl.col("country").is_in(sorted(banned)))
    return frame.select("icao", "name", "country", "latitude", "longitude").to_dicts()


def legal_route(origin: str, destination: str, typecode: str | None = None,
                operator_country: str | None = None, registration_country: str | None = None,
                payload_t: float | None = None, range_km: float | None = None,
                when: str | None = None, banned: list[str] | None = None) -> dict:
    """The `tailwatch route` answer: shortest legal route with fuel stops, as a JSON-able dict."""
    from tailwatch.airspace.bans import banned_jurisdictions
    from tailwatch.airspace.crossing import countries_on_arc

    a, b = _airport_or_raise(origin), _airport_or_raise(destination)
    if banned is None:
        banned = banned_jurisdictions(operator_country=operator_country,
                                      registration_country=registration_country, when=when)
    obst = obstacles_for(tuple(sorted(banned)))
    rng, range_note = resolve_range_km(typecode, payload_t, range_km)
    min_runway = None
    if typecode:
        try:
            from tailwatch.airlift.types import aircraft_type

            spec = aircraft_type(typecode)
            min_runway = spec.min_runway_ft if spec is not None else None
        except ImportError:
            pass
    for end in (a, b):
        if obst.inside(end["latitude"], end["longitude"]):
            raise NoRoute(f"{end['icao']} lies in banned airspace ({end['country']})")
    if rng is None:
        hops = plan_route(obst, a, b, None, [])
    else:
        try:
            hops = plan_route(obst, a, b, rng, stop_candidates(set(banned), min_runway))
        except NoRoute:  # remote oceans: widen to medium airports with long runways (slower)
            hops = plan_route(obst, a, b, rng, stop_candidates(set(banned), min_runway, medium=True),
                              max_candidates=3 * MAX_STOP_CANDIDATES)
    direct_km = float(haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    crossed = countries_on_arc(a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    avoided = [c for c in crossed if c in set(banned)]
    codes = [hops[0].origin] + [h.destination for h in hops]
    legs = []
    for h in hops:
        pa, pb = _airport_or_raise(h.origin), _airport_or_raise(h.destination)
        legs.append({
            "origin": h.origin, "destination": h.destination,
            "distance_km": round(h.path.km, 1),
            "great_circle_km": round(float(haversine_km(pa["latitude"], pa["longitude"],
                                                        pb["latitude"], pb["longitude"])), 1),
            "waypoints": [[round(float(la), 4), round(float(lo), 4)] for la, lo in zip(h.path.lat, h.path.lon)],
            "countries": _countries_on_path(h.path),
        })
    return {
        "airports": codes,
        "distance_km": round(sum(h.path.km for h in hops), 1),
        "legs": legs,
        "avoided": avoided,
        "direct_km": round(direct_km, 1),
        "direct_countries": crossed,
        "banned": sorted(banned),
        "range_km": None if rng is None else round(rng, 0),
        "range_basis": range_note,
        "type": typecode,
        "operator_country": operator_country,
        "fuel_stops": codes[1:-1],
    }


def _countries_on_path(path: Path) -> list[str]:
    from tailwatch.airspace.crossing import countries_on_arc

    seen: list[str] = []
    for i in range(len(path.lat) - 1):
        for c in countries_on_arc(path.lat[i], path.lon[i], path.lat[i + 1], path.lon[i + 1]):
            if c not in seen:
                seen.append(c)
    return seen


def route_markdown(answer: dict) -> str:
    """A briefing paragraph for `tailwatch route --format md`."""
    from tailwatch.geo.countries import country_names

    names = country_names()

    def name_list(codes: list[str]) -> str:
        items = [f"{names.get(c, c)} ({c})" for c in codes]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "none"

    o, d = answer["airports"][0], answer["airports"][-1]
    lines = [f"# Route {o} → {d}", ""]
    op = answer.get("operator_country")
    who = f"aircraft of operators from {names.get(op, op)} ({op})" if op else "this aircraft"
    lines.append(f"The direct great circle from {o} to {d} is {answer['direct_km']:,.0f} km and crosses "
                 f"{name_list(answer['direct_countries'])}.")
    if answer["avoided"]:
        lines.append(f"Of these, {name_list(answer['avoided'])} bar {who} from their airspace.")
    else:
        lines.append(f"None of these bar {who}.")
    via = answer["fuel_stops"]
    extra = answer["distance_km"] - answer["direct_km"]
    lines.append(f"The shortest route that avoids banned airspace is {answer['distance_km']:,.0f} km "
                 f"({extra:+,.0f} km, {answer['distance_km'] / max(answer['direct_km'], 1e-9) - 1:+.1%} against direct)"
                 + (f", with fuel stops at {', '.join(via)}" if via else ", with no fuel stop") + ".")
    if answer.get("range_km") is not None:
        lines.append(f"Range per hop: {answer['range_km']:,.0f} km ({answer['range_basis']}).")
    else:
        lines.append(f"Range: {answer['range_basis']}; no fuel stops planned.")
    lines.append("")
    lines.append("| hop | from | to | km | great circle km | airspace crossed |")
    lines.append("|---|---|---|---|---|---|")
    for i, leg in enumerate(answer["legs"], 1):
        lines.append(f"| {i} | {leg['origin']} | {leg['destination']} | {leg['distance_km']:,.0f} | "
                     f"{leg['great_circle_km']:,.0f} | {', '.join(leg['countries']) or '—'} |")
    lines.append("")
    lines.append("Distances are on the sphere; borders are Natural Earth 1:10m plus a 12 NM territorial sea; "
                 "the route keeps ~20–40 km clear of banned airspace.")
    return "\n".join(lines) + "\n"
