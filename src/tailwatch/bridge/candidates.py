"""Which aircraft a bridge builds itineraries of and lists, decided before any itinerary is built.

Why: an itinerary costs tens of microseconds per point, and a month of a region's traffic is millions
of points, most of them aircraft that never touch the question: with `--from RU,IR,CN` every Aeroflot
airliner flying inside Russia is flagged, and listing each as "landed elsewhere", or each pair of them
parked at Moscow as a co-location, buries the bridge. So the population of a bridge is the aircraft
heard near the place: on the ground or below `NEAR_BELOW_FT` within `NEAR_KM` of it,
- flagged aircraft heard there in the window or the baseline: their itineraries are built (their flights,
  their exclusion — landed elsewhere nearby, overflight, destination unknown, landed outside the
  window —, their co-locations and the baseline come from them), and
- aircraft not flagged heard there in the window: listed "not flagged" from the query itself, with the
  test they failed; no itinerary is built for them (most of the traffic near a country is its own
  airliners), so the row says it was heard near, not that it landed.
One query over the positions and the identities of the aircraft heard near decide it. What falls out is
said in docs/bridge.md: an aircraft never heard near the place, whose landing there would only be
inferred across a silence that never came near it, is neither counted nor listed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tailwatch.bridge.criteria import Criteria
from tailwatch.bridge.place import Destination

NEAR_KM = 150.0  # how far from the place a landing's approach or a take-off's climb is looked for
NEAR_BELOW_FT = 20_000.0  # approach and climb, not cruise over the place
MAX_BOXES = 64  # boxes tested per position in the query

Box = tuple[float, float, float, float]  # south, west, north, east (degrees)


def _grow(box: Box, km: float) -> Box:
    south, west, north, east = box
    dlat = km / 111.2
    widest = max(abs(south), abs(north))
    dlon = min(180.0, km / (111.2 * max(math.cos(math.radians(min(widest + dlat, 89.0))), 0.01)))
    return (max(-90.0, south - dlat), max(-180.0, west - dlon), min(90.0, north + dlat), min(180.0, east + dlon))


def near_boxes(place: Destination, km: float = NEAR_KM) -> list[Box]:
    """Boxes that hold every position within `km` of the place: each part of each country's outline,
    each airport, each part of the polygon, grown by `km`."""
    parts: list[Box] = []
    geoms = []
    if place.countries:
        from tailwatch.geo.countries import country_shapes

        shapes = country_shapes()
        geoms += [shapes[c] for c in sorted(place.countries) if c in shapes]
    if place.polygon is not None:
        geoms.append(place.polygon)
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            west, south, east, north = part.bounds
            parts.append((south, west, north, east))
    if place.airports:
        from tailwatch.geo.airports import airport

        for code in sorted(place.airports):
            row = airport(code) or {}
            if row.get("latitude") is not None:
                parts.append((row["latitude"], row["longitude"], row["latitude"], row["longitude"]))
    if len(parts) > MAX_BOXES:  # a country of many islands: one box around all (more rows read, none missed)
        parts = [(min(p[0] for p in parts), min(p[1] for p in parts), max(p[2] for p in parts), max(p[3] for p in parts))]
    return [_grow(b, km) for b in parts]


def identity_as_documented(icao24: str, identity: dict | None) -> dict:
    """The `aircraft` object an itinerary document carries for this identity (the fields
    `Criteria.match` reads are the identity's own; the rest default as the itinerary does)."""
    out = {"icao24": icao24, "registration": None, "typecode": None, "country": None, "watchlists": []}
    out.update(identity or {})
    return out


class Population(NamedTuple):
    """Who a bridge looks at: `built` (flagged aircraft heard near the place in the window or the baseline,
    in address order: their itineraries are built), `not_flagged` (icao24 → identity of the aircraft not
    flagged heard near the place in the window: listed from the query, no itinerary), and counts."""

    built: list[str]
    not_flagged: dict[str, dict | None]
    counts: dict[str, int]


def select_candidates(seen: list[str], near_window: set[str], near_any: set[str], identities: dict[str, dict | None],
                      criteria: Criteria) -> Population:
    """The population from every address seen in the window and the baseline, those heard low near the
    place in the window (`near_window`) and in the window or the baseline (`near_any`), and the identities
    of those near (no other identity is needed: the population is inside `near_any`)."""
    near = near_any & set(seen)
    flagged = {h for h in near if criteria.match(identity_as_documented(h, identities.get(h)))[0]}
    others = sorted((near_window & near) - flagged)
    return Population(sorted(flagged), {h: identities.get(h) for h in others},
                      {"seen": len(seen), "near": len(near), "flagged_near": len(flagged), "near_not_flagged": len(others),
                       "built": len(flagged)})


def not_flagged_entry(icao24: str, identity: dict | None, criteria: Criteria, label: str) -> dict:
    """The `excluded` row of an aircraft not flagged heard near the place (from the query, no itinerary)."""
    ac = identity_as_documented(icao24, identity)
    why_not = criteria.match(ac)[2]
    return {"icao24": icao24, "registration": ac.get("registration"), "typecode": ac.get("typecode"),
            "reason": "not flagged",
            "detail": ("; ".join(why_not) or "no criterion matched") + f"; heard below {NEAR_BELOW_FT:,.0f} ft within "
                      f"{NEAR_KM:.0f} km of {label} in the window (no itinerary built: a landing there is not checked)"}


__all__ = ["NEAR_BELOW_FT", "NEAR_KM", "Population", "identity_as_documented", "near_boxes", "not_flagged_entry",
           "select_candidates"]
