"""Fill an itinerary's airspace fields: per-leg countries crossed, the barred airspace the direct
line would have crossed and the track went around, the shortest legal path, and the route's sums.

Pure function on the itinerary JSON (`tailwatch.itinerary/1`) and its points frame (with a
`leg` column). Each leg's track runs from its origin airport through its points to its
destination airport; stretches between fixes that are far apart in space or time, and the
airport ends when take-off/landing were not observed, are great-circle fills marked inferred.
`countries` lists jurisdiction codes of `geo.countries` (Curaçao is `CW`, not `NL`); each
crossing also carries `state`, the controlling state, for display and ATC attribution. A
crossing is banned when the jurisdiction's own rules (`airspace.bans`) bar the aircraft.

Per leg (docs/airspace.md): `direct_barred` (barred jurisdictions on the great circle between the
leg's airports; null when an end is unknown), `crossed_barred` (those the track crossed, observed
or across an inferred stretch: `banned_crossings` says which), `avoided` (direct minus crossed),
`barred_details` (per code: name, instrument, date, whom it bars, source), `legal_shortest_km`
and `legal_path` (GeoJSON LineString, the one path `tailwatch route` also gives:
`routing.legal_path`), `legal_detour_km`/`legal_detour_pct` (flown against it, beside
`detour_km`/`detour_pct` against the great circle) and `airspace_sentence` (`airspace.story`).
The route sums them over the legs with both ends known, a round trip included.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from tailwatch.airspace.bans import ban_details, banned_jurisdictions, banning_rules
from tailwatch.airspace.crossing import (RUN_SCHEMA, countries_on_arc, countries_on_arcs, densified_runs, densify_many,
                                        iso_times)
from tailwatch.geo.airports import airport
from tailwatch.schema import epoch_us

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
        a = airport(end["icao"])
        if a is not None:
            return float(a["latitude"]), float(a["longitude"])
    return None


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


def _leg_ends(leg: dict) -> tuple[tuple[float, float] | None, float, bool, tuple[float, float] | None, float, bool]:
    """A leg's airport ends as its track has them: (origin position, take-off time, inferred?,
    destination position, landing time, inferred?); a position is None when the airport is unknown."""
    o, d = _airport_pos(leg.get("origin")), _airport_pos(leg.get("destination"))
    return (o, _epoch(leg.get("takeoff")), leg.get("origin_evidence") != "observed" or not leg.get("takeoff"),
            d, _epoch(leg.get("landing")), leg.get("destination_evidence") != "observed" or not leg.get("landing"))


def _tracks(itineraries: list[tuple[dict, pl.DataFrame]]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every leg of many itineraries as one track each, laid end to end: (columns latitude,
    longitude, t, inferred; points per leg; legs per itinerary). A leg's track is its origin
    airport, its points (by the `leg` column; all of them for a single leg without one) in time
    order, and its destination airport; an airport standing for a take-off or landing not
    observed is marked inferred. Built from one set of arrays of all the itineraries' points: the
    legs are offsets into them, not frames of their own."""
    legs = [itin.get("legs", []) for itin, _ in itineraries]
    n_legs = np.array([len(x) for x in legs], np.int64)
    first_leg = np.cumsum(n_legs) - n_legs
    # each itinerary's columns as arrays, laid end to end (an eager `select` per itinerary was a
    # query plan each): positions as floats, times in microseconds, the leg number (-1 for none)
    parts = [_track_columns(points, int(n_legs[k])) for k, (_, points) in enumerate(itineraries) if points.height]
    if parts:
        lat, lon, t, leg = (np.concatenate([part[c] for part in parts]) for c in range(4))
        itin = np.repeat([k for k, (_, points) in enumerate(itineraries) if points.height],
                         [points.height for _, points in itineraries if points.height])
        keep = (leg >= 0) & (leg < n_legs[itin])
        if not keep.all():
            lat, lon, t, leg, itin = lat[keep], lon[keep], t[keep], leg[keep], itin[keep]
        which = first_leg[itin] + leg  # the leg's number among all legs
        t = t.astype(float) / 1e6
        # each leg's points together, in the order given (a stable sort; none needed when an
        # itinerary's legs come one after another, as they do), then in time order within the leg
        order = None if bool((np.diff(which) >= 0).all()) else np.argsort(which, kind="stable")
        if not _sorted_within(which if order is None else which[order], t if order is None else t[order]):
            order = np.lexsort((t, which))
        if order is not None:
            lat, lon, t, which = lat[order], lon[order], t[order], which[order]
    else:
        lat = lon = t = np.empty(0)
        which = np.empty(0, np.int64)
    all_legs = [leg for x in legs for leg in x]
    ends = [_leg_ends(leg) for leg in all_legs]
    has_o = np.array([e[0] is not None for e in ends], bool)
    has_d = np.array([e[3] is not None for e in ends], bool)
    observed = np.bincount(which, minlength=len(all_legs)).astype(np.int64)
    sizes = observed + has_o + has_d
    start = np.cumsum(sizes) - sizes
    out = {"latitude": np.empty(sizes.sum()), "longitude": np.empty(sizes.sum()),
           "t": np.empty(sizes.sum()), "inferred": np.zeros(sizes.sum(), bool)}
    at = start[which] + has_o[which] + (np.arange(which.size) - (np.cumsum(observed) - observed)[which])
    out["latitude"][at], out["longitude"][at], out["t"][at] = lat, lon, t
    for flag, where, pos, when, inferred in ((has_o, start, 0, 1, 2), (has_d, start + sizes - 1, 3, 4, 5)):
        sel = np.flatnonzero(flag)
        out["latitude"][where[sel]] = [ends[j][pos][0] for j in sel]
        out["longitude"][where[sel]] = [ends[j][pos][1] for j in sel]
        out["t"][where[sel]] = [ends[j][when] for j in sel]
        out["inferred"][where[sel]] = [ends[j][inferred] for j in sel]
    return out, sizes, n_legs


def _track_columns(points: pl.DataFrame, n_legs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(latitude, longitude, epoch microseconds, leg) of an itinerary's points as arrays: positions as
    Float64 (NaN where null), times as the `timestamp` column's microseconds (NaN where null), the
    `leg` column as Int64 with -1 where null; without a `leg` column every point is leg 0 when the
    itinerary has one leg and no leg's (-1) otherwise."""
    lat, lon = (points.get_column(c) for c in ("latitude", "longitude"))
    lat, lon = (c if c.dtype == pl.Float64 else c.cast(pl.Float64) for c in (lat, lon))
    t = epoch_us(points.get_column("timestamp"))  # a datetime's microseconds since the epoch, UTC whatever the zone
    leg = points.get_column("leg", default=None)
    if leg is not None:
        leg = leg.cast(pl.Int64).to_numpy()  # floats, NaN where null, when there is a null
        if leg.dtype.kind == "f":
            leg = np.where(np.isnan(leg), -1, leg).astype(np.int64)
    else:  # all the points are the one leg's, or no leg's
        leg = np.full(points.height, 0 if n_legs == 1 else -1, np.int64)
    return lat.to_numpy(), lon.to_numpy(), t, leg


def _sorted_within(which: np.ndarray, t: np.ndarray) -> bool:
    """Whether `t` never decreases inside a run of equal `which`."""
    return bool(np.all((np.diff(t) >= 0) | (which[1:] != which[:-1])))


def leg_tracks(itin: dict, points: pl.DataFrame) -> list[pl.DataFrame]:
    """Each leg's track as located: its points joined to its airports, with great-circle fill
    (`crossing.densify`)."""
    columns, sizes, _ = _tracks([(itin, points)])
    filled, filled_sizes = densify_many(columns["latitude"], columns["longitude"], columns["t"],
                                        columns["inferred"], sizes)
    frame = pl.DataFrame(filled)
    at = np.r_[0, np.cumsum(filled_sizes)]
    return [frame.slice(int(at[k]), int(filled_sizes[k])) for k in range(sizes.size)]


def leg_runs_many(itineraries: list[tuple[dict, pl.DataFrame]]) -> list[list[list[dict]]]:
    """The jurisdiction runs (`crossing.RUN_SCHEMA` rows, in order, with `entry` and `exit` as ISO
    times) of every leg of many
    itineraries (each with its points frame), a list per leg, a list of legs per itinerary: all
    their legs' tracks built (`_tracks`), filled, located and cut into runs in one pass each
    (`crossing.densified_runs`: the runs `crossing.track_runs` finds on `crossing.densify_many`'s
    tracks)."""
    columns, sizes, n_legs = _tracks(itineraries)
    runs, per_leg = densified_runs(columns["latitude"], columns["longitude"], columns["t"], columns["inferred"], sizes)
    countries_on_arcs(_direct_lines([itin for itin, _ in itineraries]))  # worked out once, asked per leg below
    runs["entry"], runs["exit"] = iso_times(runs["entry_t"]), iso_times(runs["exit_t"])
    names = [*RUN_SCHEMA, "entry", "exit"]
    rows = [dict(zip(names, row)) for row in zip(*(
        runs[c] if isinstance(runs[c], list) else runs[c].tolist() for c in names))]
    out, at, leg = [], 0, 0
    for count in n_legs.tolist():
        legs = []
        for k in per_leg[leg:leg + count].tolist():
            legs.append(rows[at:at + k])
            at += k
        leg += count
        out.append(legs)
    return out


def _direct_lines(itineraries: list[dict]) -> list[tuple[float, float, float, float]]:
    """The great circles the airspace step will ask about: each leg's between its two airports
    and each route's from its first airport to its last."""
    from tailwatch.itinerary.detour import both_ends_known

    arcs = []
    for itin in itineraries:
        for leg in itin.get("legs", []):
            o, d = _ends_of(leg)
            if both_ends_known(leg) and o is not None and d is not None:
                arcs.append((o["latitude"], o["longitude"], d["latitude"], d["longitude"]))
        codes = [c for c in (itin.get("route") or {}).get("airports") or [] if c]
        first, last = (_airport_pos({"icao": codes[0]}), _airport_pos({"icao": codes[-1]})) if codes else (None, None)
        if first is not None and last is not None and codes[0] != codes[-1]:
            arcs.append((*first, *last))
    return arcs


def add_airspace(itin: dict, points: pl.DataFrame, operator_country: str | None,
                 runs: list[list[dict]] | None = None) -> dict:
    """Return a copy of `itin` with per-leg `countries`, `crossings`, `banned_countries`,
    `banned_crossings`, and `route.direct_km/flown_km` (summed over the legs with both ends known,
    itinerary.detour), `end_to_end_km`, `legal_shortest_km` and `detour` (the sentence). `runs`:
    each leg's jurisdiction runs when a batch located them already (`leg_runs_many`)."""
    from tailwatch.geo.countries import states

    out = dict(itin)
    aircraft = itin.get("aircraft") or {}
    reg_country = aircraft.get("country")
    if runs is None:
        runs = leg_runs_many([(itin, points)])[0]
    state_of = states()
    legs = []
    for leg, leg_runs in zip(itin.get("legs", []), runs):
        leg = dict(leg)
        crossings = [{"country": r["country"], "state": state_of.get(r["country"], r["country"]),
                      "entry": r["entry"], "exit": r["exit"],
                      "entry_evidence": r["entry_evidence"], "exit_evidence": r["exit_evidence"],
                      "evidence": r["evidence"], "observed_points": int(r["observed_points"])}
                     for r in leg_runs]
        countries: list[str] = []
        for c in crossings:
            if c["country"] not in countries:
                countries.append(c["country"])
        when = leg.get("takeoff") or leg.get("first_point") or leg.get("landing")
        bars = _barring(banning_rules(operator_country=operator_country, registration_country=reg_country, when=when))
        banned = bars.banned
        leg["countries"] = countries
        leg["crossings"] = crossings
        leg["banned_countries"] = [c for c in countries if c in banned]
        leg["banned_crossings"] = [dict(c, rule=bars.rule_text(c["country"])) for c in crossings
                                   if c["country"] in banned]
        _barred(leg, bars)
        legs.append(leg)
    out["legs"] = legs
    out["route"] = _route(itin, legs, operator_country, reg_country)
    return out


def _ends_of(leg: dict) -> tuple[dict | None, dict | None]:
    """The leg's two airports as airport dicts (the packaged table's position when the code is
    known, so the itinerary and `tailwatch route` compare the same points), None if unknown."""
    found = []
    for end in (leg.get("origin"), leg.get("destination")):
        spot = None
        if end and end.get("icao"):
            spot = airport(end["icao"])  # a copy of the packaged row: this leg's own
        if spot is None:
            pos = _airport_pos(end)
            spot = None if pos is None else {"icao": (end or {}).get("icao"), "latitude": pos[0], "longitude": pos[1]}
        found.append(spot)
    return found[0], found[1]


class _Barring:
    """What the bans table says of one aircraft on one day (rows of `bans.banning_rules`): the
    barred jurisdictions, and per jurisdiction the rule text and `bans.ban_details`, each worked
    out the first time a leg asks (every leg of a fleet's day asks the same)."""

    def __init__(self, rules: pl.DataFrame) -> None:
        self.rules = rules
        self.banned = frozenset(rules["jurisdiction"].to_list())
        self._texts: dict[str, str] = {}
        self._details: dict[str, dict | None] = {}

    def rule_text(self, code: str) -> str:
        if code not in self._texts:
            self._texts[code] = _rule_text(self.rules, code)
        return self._texts[code]

    def details(self, codes: list[str]) -> dict[str, dict]:
        """`ban_details(rules, codes)`, each entry a copy of the one worked out first."""
        out = {}
        for code in dict.fromkeys(codes):
            if code not in self._details:
                self._details[code] = ban_details(self.rules, [code]).get(code)
            if self._details[code] is not None:
                out[code] = dict(self._details[code])
        return out


_BARRING: dict[int, tuple[pl.DataFrame, _Barring]] = {}  # by the rules frame (`banning_rules` keeps one per day)
_BY_RULES: dict[tuple, _Barring] = {}  # by the rules themselves: most days of a batch bar the same way
_BARRING_KEPT = 4096


def _barring(rules: pl.DataFrame) -> _Barring:
    """The `_Barring` of a `banning_rules` answer: one per distinct set of rules, found by the
    frame (held with it, so its id stays its own) or, for a frame not seen yet, by its rows."""
    got = _BARRING.get(id(rules))
    if got is None or got[0] is not rules:
        if len(_BARRING) >= _BARRING_KEPT:
            _BARRING.clear()
        if len(_BY_RULES) >= _BARRING_KEPT:
            _BY_RULES.clear()
        key = (tuple(rules.columns), tuple(rules.rows()))
        got = (rules, _BY_RULES.setdefault(key, _Barring(rules)))
        _BARRING[id(rules)] = got
    return got[1]


def _barred(leg: dict, bars: _Barring) -> None:
    """Set the leg's direct/crossed/avoided barred airspace, its legal path and the sentence."""
    from tailwatch.airspace.routing import NoRoute, legal_path
    from tailwatch.airspace.story import leg_sentence
    from tailwatch.itinerary.detour import both_ends_known, leg_detour

    banned = bars.banned
    o, d = _ends_of(leg)
    closed = both_ends_known(leg) and o is not None and d is not None
    direct = ([c for c in countries_on_arc(o["latitude"], o["longitude"], d["latitude"], d["longitude"])
               if c in banned] if closed else None)
    crossed = list(leg["banned_countries"])
    leg["direct_barred"] = direct
    leg["crossed_barred"] = crossed
    leg["avoided"] = None if direct is None else [c for c in direct if c not in crossed]
    leg["barred_details"] = bars.details((direct or []) + crossed)
    leg["legal_shortest_km"], leg["legal_path"] = None, None
    if closed and (o["latitude"], o["longitude"]) != (d["latitude"], d["longitude"]):
        try:
            path = legal_path(o, d, banned)
            leg["legal_shortest_km"] = round(path.km, 1)
            leg["legal_path"] = {"type": "LineString", "coordinates": [
                [round(float(lo), 4), round(float(la), 4)] for la, lo in zip(path.lat, path.lon)]}
        except NoRoute:
            pass
    leg["legal_detour_km"], leg["legal_detour_pct"] = leg_detour(leg["legal_shortest_km"], leg.get("flown_km"))
    leg["airspace_sentence"] = leg_sentence(leg)


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
    leg_gc = [leg.get("great_circle_km") for leg in legs]
    leg_legal = [leg.get("legal_shortest_km") for leg in legs]
    route["legs_great_circle_km"] = round(sum(x or 0.0 for x in leg_gc), 1)
    route["legs_legal_shortest_km"] = (round(sum(leg_legal), 1)
                                       if legs and all(x is not None for x in leg_legal) else None)
    banned_legs = [i for i, leg in enumerate(legs) if leg.get("banned_countries")]
    route["banned_legs"] = banned_legs  # indices into legs (leg number - 1)
    route.update(_route_sums(legs, route))
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
        route["end_to_end_legal_km"] = answer["distance_km"]
        route["legal_route"] = {
            "airports": answer["airports"], "distance_km": answer["distance_km"],
            "range_km": answer["range_km"], "range_basis": answer["range_basis"],
            "legs": [{k: leg[k] for k in ("origin", "destination", "distance_km", "waypoints", "countries")}
                     for leg in answer["legs"]],  # waypoints are [lat, lon]
        }
    except (NoRoute, ValueError) as exc:
        note = str(exc)
        route["end_to_end_legal_km"] = None
    text = (detour_sentence(route, len(legs)) + _legal_clause(route)
            + f"; {codes[0]} to {codes[-1]} is {direct:,.0f} km direct")
    if crossed:
        text += f"; the direct path crosses {_names(crossed)} airspace, barred to this aircraft"
    elif banned:
        text += "; the direct path crosses no airspace barred to this aircraft"
    if route.get("end_to_end_legal_km") is not None:
        with_range = " with the type's range" if route["legal_route"]["range_km"] is not None else ""
        text += f"; the shortest legal route{with_range} is {route['end_to_end_legal_km']:,.0f} km"
        stops = route["legal_route"]["airports"][1:-1]
        if stops:
            text += f" via {', '.join(stops)}"
    elif note:
        text += f"; no legal route computed ({note})"
    if banned_legs:
        text += (f"; {len(banned_legs)} leg(s) crossed airspace barred to this aircraft "
                 f"({_names(_union([legs[i] for i in banned_legs], 'banned_countries'))})")
    route["detour"] = text
    route["direct_banned_countries"] = crossed
    return route


def _union(legs: list[dict], key: str) -> list[str]:
    found: list[str] = []
    for leg in legs:
        found += [c for c in (leg.get(key) or []) if c not in found]
    return found


def _route_sums(legs: list[dict], route: dict) -> dict:
    """The route's airspace figures over the legs with both ends known (a round trip too: its
    first and last airport being the same changes nothing): barred airspace on the direct lines,
    on the tracks (every leg: a crossing is one whatever the ends), avoided, the detour against the
    direct lines and against the legal paths (over the legs that have one, `legs_legal_compared`),
    and the story (`airspace.story`)."""
    from tailwatch.airspace.story import route_story
    from tailwatch.itinerary.detour import both_ends_known, leg_detour

    closed = [leg for leg in legs if both_ends_known(leg)]
    legal = [leg for leg in closed if leg.get("legal_shortest_km") is not None and leg.get("flown_km") is not None]
    legal_km = round(sum(leg["legal_shortest_km"] for leg in legal), 1) if legal else None
    legal_flown = round(sum(leg["flown_km"] for leg in legal), 1) if legal else None
    detour_km, detour_pct = leg_detour(route.get("direct_km"), route.get("flown_km")) if closed else (None, None)
    legal_detour_km, legal_detour_pct = leg_detour(legal_km, legal_flown)
    details: dict[str, dict] = {}
    for leg in legs:
        details.update(leg.get("barred_details") or {})
    return {
        "direct_barred": _union(closed, "direct_barred"),
        "crossed_barred": _union(legs, "crossed_barred"),
        "avoided": _union(closed, "avoided"),
        "barred_details": details,
        "detour_km": detour_km, "detour_pct": detour_pct,
        "legal_shortest_km": legal_km,
        "legs_legal_compared": len(legal),
        "legal_detour_km": legal_detour_km, "legal_detour_pct": legal_detour_pct,
        "airspace_story": route_story(legs),
    }


def _legal_clause(route: dict) -> str:
    """"; 25,553 km on the same legs' shortest legal paths (flown 0 km more)": like with like, over
    the legs with both ends known that have a legal path."""
    legal, extra = route.get("legal_shortest_km"), route.get("legal_detour_km")
    if legal is None or extra is None:
        return ""
    which = ("the same legs'" if route.get("legs_legal_compared") == route.get("legs_compared")
             else f"{route.get('legs_legal_compared')} of those legs'")
    if abs(extra) < 1.0:
        return f"; {which} shortest legal paths total {legal:,.0f} km, as flown"
    return (f"; {which} shortest legal paths total {legal:,.0f} km (flown {abs(extra):,.0f} km "
            f"{'more' if extra > 0 else 'less'})")


def _round_trip_sentence(codes: list[str], route: dict, legs: list[dict], banned_legs: list[int],
                         any_ban: bool = False) -> str:
    from tailwatch.itinerary.detour import detour_sentence

    where = f"round trip {codes[0]} → … → {codes[-1]}: " if len(codes) >= 2 else ""
    text = where + detour_sentence(route, len(legs))
    text += _legal_clause(route)
    if banned_legs:
        crossed: list[str] = []
        for i in banned_legs:
            crossed += [c for c in legs[i]["banned_countries"] if c not in crossed]
        text += f"; {len(banned_legs)} leg(s) crossed airspace barred to this aircraft ({_names(crossed)})"
    # a leg whose direct line crosses barred airspace its track kept out of: it went around
    blocked = [i + 1 for i, leg in enumerate(legs) if leg.get("avoided")]
    if blocked:
        nums = ", ".join(map(str, blocked[:-1])) + " and " + str(blocked[-1]) if len(blocked) > 1 else str(blocked[0])
        around: list[str] = []
        for i in blocked:
            around += [c for c in legs[i - 1]["avoided"] if c not in around]
        text += (f"; leg{'s' if len(blocked) > 1 else ''} {nums} went around airspace barred to this aircraft "
                 f"that the direct line crosses ({_names(around)})")
        if not banned_legs:
            text += ", and no leg as flown crossed any"
    elif any_ban and not banned_legs:
        text += "; no leg crossed airspace barred to this aircraft"
    return text
