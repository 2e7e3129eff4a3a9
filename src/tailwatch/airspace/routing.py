"""Shortest route on the sphere that avoids banned airspace, with fuel stops when a hop
exceeds the aircraft's range.

Method: a reduced visibility graph (`obstacles`), explored by A* as it is built (`search`); this
module answers the route question (range, fuel stops, Markdown).
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

from tailwatch.airspace.obstacles import Obstacles, arc_points, obstacles_for  # noqa: F401 - re-exported: routing is the entry
from tailwatch.airspace.search import MAX_STOP_CANDIDATES, NoRoute, Path, plan_route, shortest_path  # noqa: F401
from tailwatch.geo.geodesy import haversine_km


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


def legal_path(origin: str | dict, destination: str | dict, banned) -> Path:
    """The shortest legal path between two airports (codes or airport dicts) with no range limit:
    the one path `tailwatch route` flies when no fuel stop is needed and an itinerary's leg is
    compared with (`legal_shortest_km`), so the two agree for the same pair and bans. NoRoute
    when there is none (an end lies in barred airspace)."""
    from tailwatch.airspace.search import _legal_hop

    a = origin if isinstance(origin, dict) else _airport_or_raise(origin)
    b = destination if isinstance(destination, dict) else _airport_or_raise(destination)
    obst = obstacles_for(tuple(sorted(set(banned))))
    path = _legal_hop(obst, a, b, obst._hop_cache)
    if path is None:
        raise NoRoute(f"no legal route from {a.get('icao') or 'the origin'} to {b.get('icao') or 'the destination'}")
    return path


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
