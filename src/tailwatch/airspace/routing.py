"""Shortest route on the sphere that avoids banned airspace, with fuel stops when a hop
exceeds the aircraft's range.

Method: a reduced visibility graph searched by A* with lazy edge checks.
- Obstacles are the banned states' airspace (land + 12 NM). Graph nodes are the convex
  vertices of the same shapes grown by 40 km and simplified to 0.2° (the `obstacle` layer),
  so every node lies ≥ ~18 km outside the airspace it belongs to and edges between
  neighbouring nodes clear it.
- Edges are great-circle arcs (exact geodesics on the sphere), kept only when tangent at
  both ends (the shortest path around polygons bends only at convex vertices, tangentially),
  and checked lazily — when A* pops them — by densifying the arc every 25 km and testing
  the line against the prepared airspace union (with ±360° copies, so arcs across the
  antimeridian are checked too).
- Nodes are limited to the ellipse {x : d(o,x) + d(x,d) ≤ bound}; a path found shorter than
  the bound is optimal, otherwise the search is repeated once with bound = its length.
Why not a grid: an 8- or 16-neighbour lattice has a metrication error of several percent
unless it is very fine, and a fine global grid is slow in Python; the visibility graph is
exact up to the node margin. Error bounds: the route is at most ~margin × turning angle
longer than the true shortest path around the 12 NM airspace (≤ 40 km × π per obstacle
wrapped, typically 10–60 km on an intercontinental route, < 1 %); Natural Earth 1:10m and
the 0.01° simplification place borders to ~1 km; the sphere differs from WGS84 by ≤ 0.5 %.

Fuel stops: when the legal route is longer than the range, A* runs over suitable airports
(large airports, runway long enough when known, in states that do not ban the aircraft) with
hop cost = the legal shortest distance between them (direct arc when it is clear, otherwise
the visibility-graph route), hops ≤ range, plus a small per-stop penalty so that an extra
landing is only chosen when it shortens the route by more than `STOP_PENALTY_KM`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from shapely import affinity

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, from_unit_vectors, haversine_km, to_unit_vectors

DENSIFY_KM = 25.0
STOP_PENALTY_KM = 150.0
MAX_STOP_CANDIDATES = 80


class NoRoute(ValueError):
    """No legal route exists (an end lies in banned airspace, or range cannot be met)."""


TILE_DEG = 5.0


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


RASTER_DEG = 0.05
END_KM = 15.0  # arc ends checked exactly (airports may lie close to a banned border)


class Raster:
    """Global 0.05° mask of banned airspace, grown by one cell: a conservative, fast arc test.

    Cells whose centre lies inside are found by an even-odd scanline fill (vectorised over
    all polygon edges), then dilated by one cell so any cell the airspace touches is set
    (airspace parts are ≥ 2 × 12 NM wide, far wider than a cell)."""

    def __init__(self, geom: shapely.Geometry, deg: float = RASTER_DEG):
        self.deg = deg
        x0, y0, x1, y1 = geom.bounds
        self.lon0 = max(-180.0, np.floor(x0 / deg) * deg - 2 * deg)
        self.lat0 = max(-90.0, np.floor(y0 / deg) * deg - 2 * deg)
        w = int(np.ceil((min(180.0, x1 + 2 * deg) - self.lon0) / deg))
        h = int(np.ceil((min(90.0, y1 + 2 * deg) - self.lat0) / deg))
        self.full_width = w >= int(round(360 / deg)) - 4
        toggles = np.zeros((h, w + 1), dtype=np.uint8)
        rings = []
        for poly in shapely.get_parts(geom):
            rings.append(np.asarray(poly.exterior.coords))
            rings.extend(np.asarray(r.coords) for r in poly.interiors)
        if rings:
            xy1 = np.concatenate([r[:-1] for r in rings])
            xy2 = np.concatenate([r[1:] for r in rings])
            y1, y2 = xy1[:, 1], xy2[:, 1]
            lo = np.ceil((np.minimum(y1, y2) - self.lat0) / deg - 0.5).astype(int)  # first row centre ≥ min y
            hi = np.ceil((np.maximum(y1, y2) - self.lat0) / deg - 0.5).astype(int)  # rows < hi (half-open)
            count = np.clip(hi - lo, 0, None)
            e = np.repeat(np.arange(len(y1)), count)
            rows = np.repeat(lo, count) + (np.arange(e.size) - np.repeat(np.cumsum(count) - count, count))
            yc = self.lat0 + (rows + 0.5) * deg
            x = xy1[e, 0] + (yc - y1[e]) * (xy2[e, 0] - xy1[e, 0]) / (y2[e] - y1[e])
            cols = np.clip(np.ceil((x - self.lon0) / deg - 0.5).astype(int), 0, w)
            ok = (rows >= 0) & (rows < h)
            np.add.at(toggles, (rows[ok], cols[ok]), 1)
        inside = (np.cumsum(toggles[:, :w], axis=1) & 1).astype(bool)
        grown = inside.copy()
        for dr in (-1, 0, 1):
            shifted = inside
            if dr:
                shifted = np.zeros_like(inside)
                if dr > 0:
                    shifted[dr:] = inside[:-dr]
                else:
                    shifted[:dr] = inside[-dr:]
            for dc in (-1, 0, 1):
                if self.full_width:  # wraps round the antimeridian
                    grown |= np.roll(shifted, dc, axis=1)
                elif dc == 0:
                    grown |= shifted
                elif dc > 0:
                    grown[:, dc:] |= shifted[:, :-dc]
                else:
                    grown[:, :dc] |= shifted[:, -dc:]
        self.mask = grown

    def hits(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        h, w = self.mask.shape
        r = np.floor((lat - self.lat0) / self.deg).astype(int)
        c = np.floor((((lon + 180.0) % 360.0) - 180.0 - self.lon0) / self.deg).astype(int)
        if self.full_width:
            c %= w
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out = np.zeros(lat.shape, bool)
        out[ok] = self.mask[r[ok], c[ok]]
        return out


@dataclass
class Obstacles:
    """Banned airspace prepared for routing: tiled test geometry + candidate nodes."""

    codes: tuple[str, ...]
    tiles: np.ndarray  # prepared lon/lat pieces of the airspace, with ±360° copies
    tree: shapely.STRtree
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_vec: np.ndarray  # (n, 3) unit vectors
    node_pcross: np.ndarray  # (n, 3) v × prev and v × next: tangency is a dot product
    node_ncross: np.ndarray
    raster: Raster | None = None
    _edge_cache: dict = field(default_factory=dict, repr=False)
    _hop_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_shapes(cls, banned: list[shapely.Geometry], nodes: list[shapely.Geometry],
                    codes: tuple[str, ...] = (), raster_deg: float = RASTER_DEG) -> "Obstacles":
        """`banned`: airspace to avoid; `nodes`: the same grown by a margin (lon/lat) larger
        than two raster cells (0.05° → ~11 km; the packaged margin is ≥ 18 km)."""
        airspace = shapely.union_all([g for g in banned if g is not None and not g.is_empty])
        copies = [] if airspace.is_empty else [
            airspace, affinity.translate(airspace, xoff=360.0), affinity.translate(airspace, xoff=-360.0)]
        tiles = _tiles(shapely.union_all(copies)) if copies else np.empty(0, dtype=object)
        tree = shapely.STRtree(tiles)
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
            lat.append(ring[convex, 1])
            lon.append(ring[convex, 0])
            prev.append(to_unit_vectors(p[convex, 1], p[convex, 0]))
            nxt.append(to_unit_vectors(n[convex, 1], n[convex, 0]))
        obst = cls(tuple(codes), tiles, tree, np.empty(0), np.empty(0), np.empty((0, 3)),
                   np.empty((0, 3)), np.empty((0, 3)), Raster(airspace, raster_deg) if not airspace.is_empty else None)
        if lat:
            lat_a, lon_a = np.concatenate(lat), np.concatenate(lon)
            prev_a, next_a = np.concatenate(prev), np.concatenate(nxt)
            outside = ~obst.inside_many(lat_a, lon_a)
            if obst.raster is not None:  # nodes must clear the raster too, or no arc leaves them
                outside &= ~obst.raster.hits(lat_a, lon_a)
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
        pi, ti = self.tree.query(shapely.points(lon, lat))
        for p, t in zip(pi.tolist(), ti.tolist()):
            if not out[p] and shapely.contains_xy(self.tiles[t], lon[p], lat[p]):
                out[p] = True
        return out

    def inside(self, lat: float, lon: float) -> bool:
        return bool(self.inside_many(np.array([lat]), np.array([lon]))[0])

    def arc_clear(self, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
        """True when the great-circle arc between the points stays out of banned airspace.

        The raster answers first (sampled every 2 km); a hit farther than END_KM from both
        ends means blocked, a hit only near an end is settled exactly on the polygons."""
        if self.tiles.size == 0:
            return True
        key = (lat1, lon1, lat2, lon2)
        hit = self._edge_cache.get(key)
        if hit is None:
            hit = self._arc_clear(lat1, lon1, lat2, lon2)
            self._edge_cache[key] = hit
            self._edge_cache[(lat2, lon2, lat1, lon1)] = hit
        return hit

    def _arc_clear(self, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
        if self.raster is not None:
            lat, lon = arc_points(lat1, lon1, lat2, lon2, step_km=2.0)
            hits = np.flatnonzero(self.raster.hits(lat, lon))
            if hits.size == 0:
                return True
            step = 2.0 if lat.size < 3 else float(haversine_km(lat[0], lon[0], lat[1], lon[1]))
            from_end = np.minimum(hits, lat.size - 1 - hits) * step
            if np.any(from_end > END_KM):
                return False
        line = arc_line(lat1, lon1, lat2, lon2)
        cand = self.tree.query(line)
        return not (cand.size and bool(shapely.intersects(self.tiles[cand], line).any()))


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


def arc_line(lat1: float, lon1: float, lat2: float, lon2: float) -> shapely.LineString:
    lat, lon = arc_points(lat1, lon1, lat2, lon2)
    return shapely.linestrings(lon, lat)


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


def shortest_path(obst: Obstacles, lat1: float, lon1: float, lat2: float, lon2: float) -> Path:
    """The shortest great-circle polyline from 1 to 2 that stays out of `obst`."""
    if obst.inside(lat1, lon1) or obst.inside(lat2, lon2):
        raise NoRoute("an end point lies inside banned airspace")
    direct = float(haversine_km(lat1, lon1, lat2, lon2))
    if obst.arc_clear(lat1, lon1, lat2, lon2):
        return Path(np.array([lat1, lat2]), np.array([lon1, lon2]), direct)
    d1 = haversine_km(lat1, lon1, obst.node_lat, obst.node_lon)
    d2 = haversine_km(obst.node_lat, obst.node_lon, lat2, lon2)
    bound = max(direct * 1.25, direct + 500.0)
    best: Path | None = None
    for _ in range(8):
        keep = np.flatnonzero(d1 + d2 <= bound)
        path = _astar(obst, keep, lat1, lon1, lat2, lon2)
        if path is not None and path.km <= bound + 1e-6:
            return path
        if path is not None:
            best, bound = path, path.km
            continue
        if keep.size == obst.node_lat.size:
            break
        bound *= 1.6
    if best is not None:
        return best
    raise NoRoute("no route around the banned airspace")


def _astar(obst: Obstacles, keep: np.ndarray, lat1: float, lon1: float, lat2: float, lon2: float) -> Path | None:
    """A* over {start, goal} ∪ kept nodes; arcs are checked when popped (lazy), and a node
    whose best arc proves blocked is re-offered its best clear arc from the closed set."""
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
    tent = np.full(n, np.inf)
    tent[0] = 0.0
    # tangency at v of arc u→v: (u × v)·p_v = u·(v × p_v); both neighbours on one side
    heap: list[tuple[float, float, int, int]] = [(float(h[0]), 0.0, 0, -1)]
    while heap:
        _, gu, u, par = heapq.heappop(heap)
        if closed[u] or gu > tent[u] + 1e-9:
            continue
        if par >= 0 and not obst.arc_clear(lat[par], lon[par], lat[u], lon[u]):
            tent[u] = np.inf
            closed_idx = np.flatnonzero(closed)
            if closed_idx.size:  # best clear arc into u from the closed set
                cost = g[closed_idx] + haversine_km(lat[closed_idx], lon[closed_idx], lat[u], lon[u])
                for j in np.argsort(cost).tolist():
                    w = int(closed_idx[j])
                    if w != par and obst.arc_clear(lat[w], lon[w], lat[u], lon[u]):
                        tent[u] = float(cost[j])
                        heapq.heappush(heap, (tent[u] + h[u], tent[u], u, w))
                        break
            continue
        closed[u], parent[u], g[u] = True, par, gu
        if u == 1:
            break
        cand = np.flatnonzero(~closed)
        if has[u]:  # the arc must leave u tangentially: (u × v)·p_u = -v·(u × p_u)
            cand = cand[(vec[cand] @ pc[u]) * (vec[cand] @ nc[u]) >= -1e-12]
        tp = pc[cand] @ vec[u]
        tn = nc[cand] @ vec[u]
        cand = cand[~has[cand] | (tp * tn >= -1e-12)]
        gv = gu + haversine_km(lat[u], lon[u], lat[cand], lon[cand])
        better = gv < tent[cand] - 1e-9
        cand, gv = cand[better], gv[better]
        tent[cand] = gv
        for v, gvv, fv in zip(cand.tolist(), gv.tolist(), (gv + h[cand]).tolist()):
            heapq.heappush(heap, (fv, gvv, v, u))
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


def _legal_hop(obst: Obstacles, a: dict, b: dict, cache: dict) -> Path | None:
    key = (a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    if key not in cache:
        try:
            cache[key] = shortest_path(obst, a["latitude"], a["longitude"], b["latitude"], b["longitude"])
        except NoRoute:
            cache[key] = None
    return cache[key]


def plan_route(obst: Obstacles, origin: dict, destination: dict, range_km: float | None,
               stops: list[dict] | None = None) -> list[Hop]:
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
    idx = np.argsort(detour, kind="stable")[:MAX_STOP_CANDIDATES + 2]
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
            path = _legal_hop(obst, nodes[par], nodes[u], cache)
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
    from tailwatch.ingest.base import BadInput

    found = airport(code)
    if found is None:
        raise BadInput(f"unknown airport code {code!r}")
    return found


def resolve_range_km(typecode: str | None, payload_t: float | None, range_km: float | None) -> tuple[float | None, str]:
    """(range km or None, how it was obtained): an explicit range wins, else the airlift
    payload–range model of the type at the payload (default 20 t), else unknown."""
    if range_km is not None:
        return float(range_km), "given"
    if not typecode:
        return None, "unknown (no type)"
    try:
        from tailwatch.airlift.payload import range_km as type_range
        from tailwatch.airlift.types import aircraft_type
    except ImportError:
        return None, "unknown (airlift model unavailable)"
    if aircraft_type(typecode) is None:
        return None, f"unknown (no data for type {typecode})"
    payload = DEFAULT_PAYLOAD_T if payload_t is None else float(payload_t)
    r = type_range(typecode, payload)
    if r <= 0:
        raise NoRoute(f"{typecode} cannot lift {payload:g} t")
    return float(r), f"{typecode} with {payload:g} t (airlift payload–range model)"


def stop_candidates(banned: set[str], min_runway_ft: float | None) -> list[dict]:
    """Large airports usable by the type in states that do not ban it."""
    import polars as pl

    from tailwatch.geo.airports import airports, usable_mask

    frame = airports()
    frame = frame.filter(usable_mask(frame, min_runway_ft) & (pl.col("kind") == "large")
                         & ~pl.col("country").is_in(sorted(banned)))
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
    stops = stop_candidates(set(banned), min_runway) if rng is not None else []
    hops = plan_route(obst, a, b, rng, stops)
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
    who = f"an aircraft of a {answer['operator_country']} operator" if answer.get("operator_country") else "this aircraft"
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
