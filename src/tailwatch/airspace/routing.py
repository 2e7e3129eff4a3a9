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
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from shapely import affinity

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, from_unit_vectors, haversine_km, to_unit_vectors

DENSIFY_KM = 25.0
STOP_PENALTY_KM = 150.0


class NoRoute(ValueError):
    """No legal route exists (an end lies in banned airspace, or range cannot be met)."""


@dataclass
class Obstacles:
    """Banned airspace prepared for routing: test geometry + candidate nodes."""

    codes: tuple[str, ...]
    test: shapely.Geometry  # lon/lat airspace union with ±360° copies, prepared
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_prev: np.ndarray  # (n, 3) unit vectors of the ring neighbours (tangency test)
    node_next: np.ndarray
    _edge_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_shapes(cls, banned: list[shapely.Geometry], nodes: list[shapely.Geometry],
                    codes: tuple[str, ...] = ()) -> "Obstacles":
        """`banned`: airspace to avoid; `nodes`: the same grown by a margin (lon/lat)."""
        airspace = shapely.union_all([g for g in banned if g is not None and not g.is_empty])
        copies = [airspace] if airspace.is_empty else [
            airspace, affinity.translate(airspace, xoff=360.0), affinity.translate(airspace, xoff=-360.0)]
        test = shapely.union_all(copies)
        shapely.prepare(test)
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
        if lat:
            lat_a, lon_a = np.concatenate(lat), np.concatenate(lon)
            prev_a, next_a = np.concatenate(prev), np.concatenate(nxt)
            outside = ~shapely.contains_xy(test, lon_a, lat_a) if not airspace.is_empty else np.ones(lat_a.size, bool)
            lat_a, lon_a, prev_a, next_a = lat_a[outside], lon_a[outside], prev_a[outside], next_a[outside]
        else:
            lat_a = lon_a = np.empty(0)
            prev_a = next_a = np.empty((0, 3))
        return cls(tuple(codes), test, lat_a, lon_a, prev_a, next_a)

    def inside(self, lat: float, lon: float) -> bool:
        return bool(shapely.contains_xy(self.test, lon, lat)) if not self.test.is_empty else False

    def arc_clear(self, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
        """True when the great-circle arc between the points stays out of banned airspace."""
        if self.test.is_empty:
            return True
        key = (round(lat1, 6), round(lon1, 6), round(lat2, 6), round(lon2, 6))
        hit = self._edge_cache.get(key)
        if hit is None:
            line = arc_line(lat1, lon1, lat2, lon2)
            hit = not bool(shapely.intersects(line, self.test))
            self._edge_cache[key] = hit
        return hit


def arc_points(lat1: float, lon1: float, lat2: float, lon2: float, step_km: float = DENSIFY_KM):
    """Points along the great circle every ≤ step_km, longitudes unwrapped (may pass ±180)."""
    a, b = to_unit_vectors(lat1, lon1), to_unit_vectors(lat2, lon2)
    omega = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
    n = max(int(np.ceil(omega * EARTH_RADIUS_KM / step_km)), 1) + 1
    t = np.linspace(0.0, 1.0, n)
    if omega < 1e-12:
        v = np.repeat(a[None, :], n, axis=0)
    else:
        v = (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)
    lat, lon = from_unit_vectors(v)
    lon = np.degrees(np.unwrap(np.radians(lon)))
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


def _tangent(u: np.ndarray, v: np.ndarray, prev: np.ndarray, nxt: np.ndarray, has: np.ndarray) -> np.ndarray:
    """For arcs u→v (u one vector, v many): is the arc tangent to v's polygon at v?"""
    normal = np.cross(u, v)
    s1 = np.einsum("ij,ij->i", normal, prev)
    s2 = np.einsum("ij,ij->i", normal, nxt)
    return ~has | (s1 * s2 >= -1e-12)


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
    lat = np.r_[lat1, lat2, obst.node_lat[keep]]
    lon = np.r_[lon1, lon2, obst.node_lon[keep]]
    vec = to_unit_vectors(lat, lon)
    prev = np.r_[np.zeros((2, 3)), obst.node_prev[keep]]
    nxt = np.r_[np.zeros((2, 3)), obst.node_next[keep]]
    has = np.r_[False, False, np.ones(keep.size, bool)]
    n = lat.size
    h = haversine_km(lat, lon, lat2, lon2)
    closed = np.zeros(n, bool)
    parent = np.full(n, -1)
    g = np.full(n, np.inf)
    heap: list[tuple[float, float, int, int]] = [(float(h[0]), 0.0, 0, -1)]
    while heap:
        _, gu, u, par = heapq.heappop(heap)
        if closed[u]:
            continue
        if par >= 0 and not obst.arc_clear(lat[par], lon[par], lat[u], lon[u]):
            continue
        closed[u], parent[u], g[u] = True, par, gu
        if u == 1:
            break
        # candidates: open nodes whose arc from u is tangent at u (outgoing) and at v
        cand = np.flatnonzero(~closed)
        if has[u]:
            normal = np.cross(vec[u], vec[cand])
            s1, s2 = normal @ prev[u], normal @ nxt[u]
            cand = cand[s1 * s2 >= -1e-12]
        cand = cand[_tangent(vec[u], vec[cand], prev[cand], nxt[cand], has[cand])]
        dist = haversine_km(lat[u], lon[u], lat[cand], lon[cand])
        gv = gu + dist
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
    key = (a["icao"], b["icao"])
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
    cache: dict = {}
    whole = _legal_hop(obst, origin, destination, cache)
    if whole is None:
        raise NoRoute(f"no legal route from {origin['icao']} to {destination['icao']}")
    if range_km is None or whole.km <= range_km:
        return [Hop(origin["icao"], destination["icao"], whole)]
    stops = [s for s in (stops or []) if s["icao"] not in (origin["icao"], destination["icao"])]
    nodes = [origin, destination] + stops
    lat = np.array([s["latitude"] for s in nodes], float)
    lon = np.array([s["longitude"] for s in nodes], float)
    # only airports inside the ellipse of a generous bound can be on a good route
    slack = whole.km * 1.5
    useful = haversine_km(lat[0], lon[0], lat, lon) + haversine_km(lat, lon, lat[1], lon[1]) <= slack
    useful[:2] = True
    idx = np.flatnonzero(useful)
    lat, lon, nodes = lat[idx], lon[idx], [nodes[i] for i in idx]
    inside = np.array([obst.inside(a, b) for a, b in zip(lat, lon)])
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
