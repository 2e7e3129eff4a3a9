"""Fill an itinerary's airspace fields: per-leg countries crossed and banned ones, and the
route's detour against the direct and the shortest legal path.

Pure function on the itinerary JSON (`tailwatch.itinerary/1`) and its points frame (with a
`leg` column). Each leg's track runs from its origin airport through its points to its
destination airport; stretches between fixes that are far apart in space or time, and the
airport ends when take-off/landing were not observed, are great-circle fills marked inferred.
`countries` lists jurisdiction codes of `geo.countries` (Curaçao is `CW`, not `NL`); each
crossing also carries `state`, the controlling state, for display and ATC attribution. A
crossing is banned when the jurisdiction's own rules (`airspace.bans`) bar the aircraft.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from tailwatch.airspace.bans import banned_jurisdictions, banning_rules
from tailwatch.airspace.crossing import countries_on_arc, country_runs, densify, _iso

EU_MEMBERS = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())


def _epoch(iso: str | None) -> float:
    if not iso:
        return float("nan")
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _airport_pos(end: dict | None) -> tuple[float, float] | None:
    if not end:
        return None
    if end.get("latitude") is not None and end.get("longitude") is not None:
        return float(end["latitude"]), float(end["longitude"])
    if end.get("icao"):
        from tailwatch.geo.airports import airport

        a = airport(end["icao"])
        if a is not None:
            return float(a["latitude"]), float(a["longitude"])
    return None


def _leg_track(leg: dict, pts: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pts = pts.sort("timestamp")
    lat = pts["latitude"].to_numpy().astype(float)
    lon = pts["longitude"].to_numpy().astype(float)
    t = pts["timestamp"].dt.epoch("us").to_numpy().astype(float) / 1e6 if pts.height else np.empty(0)
    inferred = np.zeros(lat.size, bool)
    o, d = _airport_pos(leg.get("origin")), _airport_pos(leg.get("destination"))
    if o is not None:
        lat, lon = np.r_[o[0], lat], np.r_[o[1], lon]
        t = np.r_[_epoch(leg.get("takeoff")), t]
        inferred = np.r_[leg.get("origin_evidence") != "observed" or not leg.get("takeoff"), inferred]
    if d is not None:
        lat, lon = np.r_[lat, d[0]], np.r_[lon, d[1]]
        t = np.r_[t, _epoch(leg.get("landing"))]
        inferred = np.r_[inferred, leg.get("destination_evidence") != "observed" or not leg.get("landing")]
    return lat, lon, t, inferred


def _eu_codes() -> frozenset[str]:
    """Jurisdictions that are Union territory (member states, Saint-Martin, Åland)."""
    from tailwatch.geo.countries import eu_territories

    return EU_MEMBERS | eu_territories()


def _names(codes: list[str]) -> str:
    from tailwatch.geo.countries import country_names

    names = country_names()
    union = _eu_codes()
    eu = [c for c in codes if c in union]
    parts = ([f"EU ({', '.join(eu)})"] if eu else []) + [names.get(c, c) for c in codes if c not in union]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def add_airspace(itin: dict, points: pl.DataFrame, operator_country: str | None) -> dict:
    """Return a copy of `itin` with per-leg `countries`, `crossings`, `banned_countries`,
    `banned_crossings`, and `route.direct_km/flown_km` (summed over the legs with both ends known,
    itinerary.detour), `end_to_end_km`, `legal_shortest_km` and `detour` (the sentence)."""
    out = dict(itin)
    aircraft = itin.get("aircraft") or {}
    reg_country = aircraft.get("country")
    legs = []
    for i, leg in enumerate(itin.get("legs", [])):
        leg = dict(leg)
        pts = points.filter(pl.col("leg") == i) if "leg" in points.columns else (
            points if len(itin.get("legs", [])) == 1 else points.head(0))
        lat, lon, t, inferred = _leg_track(leg, pts)
        runs = country_runs(densify(lat, lon, t, inferred))
        from tailwatch.geo.countries import states

        state_of = states()
        crossings = [{"country": r["country"], "state": state_of.get(r["country"], r["country"]),
                      "entry": _iso(r["entry_t"]), "exit": _iso(r["exit_t"]),
                      "entry_evidence": r["entry_evidence"], "exit_evidence": r["exit_evidence"],
                      "evidence": r["evidence"], "observed_points": int(r["observed_points"])}
                     for r in runs.iter_rows(named=True)]
        countries: list[str] = []
        for c in crossings:
            if c["country"] not in countries:
                countries.append(c["country"])
        when = leg.get("takeoff") or leg.get("first_point") or leg.get("landing")
        rules = banning_rules(operator_country=operator_country, registration_country=reg_country, when=when)
        banned = set(rules["jurisdiction"].to_list())
        leg["countries"] = countries
        leg["crossings"] = crossings
        leg["banned_countries"] = [c for c in countries if c in banned]
        leg["banned_crossings"] = [dict(c, rule=_rule_text(rules, c["country"])) for c in crossings
                                   if c["country"] in banned]
        leg["legal_shortest_km"] = _leg_legal_km(leg, banned)
        legs.append(leg)
    out["legs"] = legs
    out["route"] = _route(itin, legs, operator_country, reg_country)
    return out


def _leg_legal_km(leg: dict, banned: set[str]) -> float | None:
    """Shortest legal path between the leg's airports (no range limit: the leg was flown
    non-stop); None when an end is unknown or lies in banned airspace."""
    from tailwatch.airspace.routing import NoRoute, obstacles_for, shortest_path

    o, d = _airport_pos(leg.get("origin")), _airport_pos(leg.get("destination"))
    if o is None or d is None or o == d:
        return None
    try:
        return round(shortest_path(obstacles_for(tuple(sorted(banned))), *o, *d).km, 1)
    except NoRoute:
        return None


def _rule_text(rules: pl.DataFrame, country: str) -> str:
    rows = rules.filter(pl.col("jurisdiction") == country)
    return "; ".join(sorted({f"{r['applies_to']}={r['match']} from {r['from']}: {r['source']}"
                             for r in rows.iter_rows(named=True)}))


def _route(itin: dict, legs: list[dict], operator_country: str | None, reg_country: str | None) -> dict:
    from tailwatch.airspace.routing import NoRoute, legal_route

    from tailwatch.itinerary.detour import detour_sentence, route_distances

    route = dict(itin.get("route") or {})
    # direct_km / flown_km: the legs with both ends known, summed (itinerary.detour); the end-to-end
    # comparison below only when the route's first origin and last destination are both known
    route.update(route_distances(legs))
    ends = list(route.get("airports") or [])
    one_trip = len({leg.get("trip", 0) for leg in legs}) <= 1
    closed = bool(ends) and ends[0] is not None and ends[-1] is not None and one_trip
    codes = [c for c in ends if c] if closed else []
    route.setdefault("legal_shortest_km", None)
    leg_gc = [leg.get("great_circle_km") for leg in legs]
    leg_legal = [leg.get("legal_shortest_km") for leg in legs]
    route["legs_great_circle_km"] = round(sum(x or 0.0 for x in leg_gc), 1)
    route["legs_legal_shortest_km"] = (round(sum(leg_legal), 1)
                                       if legs and all(x is not None for x in leg_legal) else None)
    banned_legs = [i for i, leg in enumerate(legs) if leg.get("banned_countries")]
    route["banned_legs"] = banned_legs
    if len(codes) < 2 or codes[0] == codes[-1]:  # a round trip, or an end unknown: compare leg by leg
        when = next((leg.get("takeoff") or leg.get("first_point") for leg in legs
                     if leg.get("takeoff") or leg.get("first_point")), None)
        any_ban = bool(banned_jurisdictions(operator_country=operator_country, registration_country=reg_country,
                                            when=when))
        route["detour"] = _round_trip_sentence(codes, route, legs, banned_legs, any_ban) if legs else None
        return route
    first, last = _airport_pos({"icao": codes[0]}), _airport_pos({"icao": codes[-1]})
    if first is None or last is None:
        route["detour"] = None
        return route
    from tailwatch.geo.geodesy import haversine_km

    direct = float(haversine_km(*first, *last))
    route["end_to_end_km"] = round(direct, 1)  # first origin to last destination, the great circle
    when = next((leg.get("takeoff") or leg.get("first_point") for leg in legs
                 if leg.get("takeoff") or leg.get("first_point")), None)
    banned = banned_jurisdictions(operator_country=operator_country, registration_country=reg_country, when=when)
    crossed = [c for c in countries_on_arc(*first, *last) if c in set(banned)]
    typecode = (itin.get("aircraft") or {}).get("typecode")
    note = None
    try:
        answer = legal_route(codes[0], codes[-1], typecode=typecode, banned=banned,
                             operator_country=operator_country)
        route["legal_shortest_km"] = answer["distance_km"]
        route["legal_route"] = {
            "airports": answer["airports"], "distance_km": answer["distance_km"],
            "range_km": answer["range_km"], "range_basis": answer["range_basis"],
            "legs": [{k: leg[k] for k in ("origin", "destination", "distance_km", "waypoints", "countries")}
                     for leg in answer["legs"]],  # waypoints are [lat, lon]
        }
    except (NoRoute, ValueError) as exc:
        note = str(exc)
        route["legal_shortest_km"] = None
    text = detour_sentence(route, len(legs)) + f"; {codes[0]} to {codes[-1]} is {direct:,.0f} km direct"
    if crossed:
        text += f"; the direct path crosses {_names(crossed)} airspace, barred to this aircraft"
    elif banned:
        text += "; the direct path crosses no airspace barred to this aircraft"
    if route.get("legal_shortest_km") is not None:
        with_range = " with the type's range" if route["legal_route"]["range_km"] is not None else ""
        text += f"; the shortest legal route{with_range} is {route['legal_shortest_km']:,.0f} km"
        stops = route["legal_route"]["airports"][1:-1]
        if stops:
            text += f" via {', '.join(stops)}"
    elif note:
        text += f"; no legal route computed ({note})"
    route["detour"] = text
    route["direct_banned_countries"] = crossed
    return route


def _round_trip_sentence(codes: list[str], route: dict, legs: list[dict], banned_legs: list[int],
                         any_ban: bool = False) -> str:
    from tailwatch.itinerary.detour import detour_sentence

    where = f"round trip {codes[0]} → … → {codes[-1]}: " if len(codes) >= 2 else ""
    text = where + detour_sentence(route, len(legs))
    if route.get("legs_legal_shortest_km") is not None:
        text += f"; {route['legs_legal_shortest_km']:,.0f} km with every leg on its shortest legal path"
    if banned_legs:
        crossed: list[str] = []
        for i in banned_legs:
            crossed += [c for c in legs[i]["banned_countries"] if c not in crossed]
        text += f"; {len(banned_legs)} leg(s) crossed airspace barred to this aircraft ({_names(crossed)})"
    # a leg whose shortest legal path is longer than its great circle: the great circle is barred
    blocked = [i + 1 for i, leg in enumerate(legs) if leg.get("legal_shortest_km") is not None
               and leg.get("great_circle_km") and leg["legal_shortest_km"] > leg["great_circle_km"] + 1.0]
    if blocked:
        nums = ", ".join(map(str, blocked[:-1])) + " and " + str(blocked[-1]) if len(blocked) > 1 else str(blocked[0])
        text += f"; the great circle{'s' if len(blocked) > 1 else ''} of leg{'s' if len(blocked) > 1 else ''} " \
                f"{nums} cross{'' if len(blocked) > 1 else 'es'} airspace barred to this aircraft"
        if not banned_legs:
            text += ", and no leg as flown did"
    elif any_ban and not banned_legs:
        text += "; no leg crossed airspace barred to this aircraft"
    return text
