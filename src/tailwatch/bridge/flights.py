"""The flights into the destination, each with the chain back to where its trip began.

An arrival is a leg whose destination is observed or inferred (as the itinerary says) and lies in the
destination; an unknown stop never counts, not even when the track crossed the country. The chain runs
back through the legs of the same trip while their origins lie outside the destination: Moscow →
Yerevan → … → Caracas counts as RU → VE, with each stop and its evidence. An inferred arrival has no
landing time: it keeps the window it fell in (last position before, first after) and is placed in the
asked window by the window's start.

Every aircraft that touched the question (landed in the destination, or is flagged; with a `population`,
only those that came near the place) and is not counted keeps a reason: "not flagged (…)", "landed elsewhere", "overflight, no landing in VE", "destination
unknown", "landed in VE outside the window".
"""

from __future__ import annotations

from datetime import datetime

from tailwatch.bridge.criteria import Criteria, operator_of
from tailwatch.bridge.place import Destination
from tailwatch.times import parse_time

LANDED = ("observed", "inferred")


def _t(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def arrival_window(legs: list[dict], i: int) -> tuple[str | None, str | None]:
    """When leg `i` landed: its landing time, else from its last position to the next leg's first."""
    leg = legs[i]
    if leg.get("landing"):
        return leg["landing"], leg["landing"]
    nxt = legs[i + 1] if i + 1 < len(legs) and legs[i + 1].get("trip") == leg.get("trip") else None
    hi = (nxt or {}).get("takeoff") or (nxt or {}).get("first_point")
    return leg.get("last_point"), hi


def _span(leg: dict) -> tuple[datetime | None, datetime | None]:
    lo = _t(leg.get("takeoff") or leg.get("first_point"))
    hi = _t(leg.get("landing") or leg.get("last_point"))
    return lo, hi


def _overlaps(leg: dict, start: datetime, end: datetime) -> bool:
    lo, hi = _span(leg)
    return (lo is None or lo <= end) and (hi is None or hi >= start)


def chain_of(legs: list[dict], i: int, into: Destination) -> list[dict]:
    """Stops from the trip's start (or the last stop in the destination) to the arrival of leg `i`."""
    trip = legs[i].get("trip")
    stops = [{**_place(legs[i].get("destination")), "evidence": legs[i].get("destination_evidence")}]
    j = i
    while j >= 0 and legs[j].get("trip") == trip:
        origin = legs[j].get("origin")
        evidence = legs[j].get("origin_evidence")
        stops.insert(0, {**_place(origin), "evidence": evidence if origin else "unknown"})
        if not origin or evidence not in LANDED or into.holds(origin):
            break
        j -= 1
    return stops


def _place(p: dict | None) -> dict:
    p = p or {}
    return {"icao": p.get("icao"), "name": p.get("name"), "country": p.get("country")}


def bridge_flights(docs: list[dict], into: Destination, criteria: Criteria, start: datetime, end: datetime,
                   population: set[str] | frozenset[str] | None = None,
                   not_flagged: dict[str, dict | None] | None = None) -> tuple[list[dict], list[dict]]:
    """(flights into `into` landing in [start, end] by flagged aircraft, excluded candidates with reasons).

    With a `population` (`bridge.candidates`: the flagged aircraft that came near the place) only those are
    listed from their documents, and the aircraft not flagged are listed from `not_flagged` (icao24 →
    identity, heard near the place) instead of from documents; a flight is counted from any document."""
    flights: list[dict] = []
    excluded: list[dict] = []
    label = into.label
    for doc in docs:
        ac = doc.get("aircraft") or {}
        legs = doc.get("legs") or []
        flagged, why, why_not = criteria.match(ac)
        arrivals, outside = [], []
        for i, leg in enumerate(legs):
            if leg.get("destination_evidence") not in LANDED or not into.holds(leg.get("destination")):
                continue
            lo, hi = arrival_window(legs, i)
            when = _t(lo) or _t(hi)
            (arrivals if when is not None and start <= when <= end else outside).append(i)
        base = {"icao24": ac.get("icao24"), "registration": ac.get("registration"), "typecode": ac.get("typecode")}
        listed = population is None or ac.get("icao24") in population
        if arrivals and not flagged:
            if population is not None:  # listed from the query (`not_flagged`) below
                continue
            excluded.append({**base, "reason": "not flagged", "detail": "; ".join(why_not) or "no criterion matched",
                             "arrivals": [legs[i]["destination"]["icao"] for i in arrivals]})
            continue
        if not flagged:
            continue
        operator, operator_from = operator_of(ac)
        for i in arrivals:
            leg = legs[i]
            chain = chain_of(legs, i, into)
            lo, hi = arrival_window(legs, i)
            first = chain[0]
            arrival = {"icao": leg["destination"]["icao"], "name": leg["destination"].get("name"),
                       "country": leg["destination"].get("country"), "time": leg.get("landing"),
                       "evidence": leg.get("destination_evidence")}
            if not leg.get("landing"):
                arrival["window"] = [lo, hi]
            flights.append({
                **base, "operator": operator, "operator_from": operator_from,
                "arrival": arrival, "chain": [s["icao"] for s in chain], "chain_stops": chain,
                "from_country": first["country"] if first["icao"] and first["evidence"] in LANDED else None,
                "max_payload_t": leg.get("max_payload_t"), "payload_band_t": leg.get("payload_band_t"),
                # what the legs of this chain went around: not legs flown after this arrival
                "avoided": sorted({c for k in range(i - len(chain) + 2, i + 1) for c in legs[k].get("avoided") or []}),
                "trip": leg.get("trip"), "leg": i, "flagged_by": why,
                "confidence": leg.get("confidence"),
            })
        if arrivals or not listed:
            continue
        in_window = [leg for leg in legs if _overlaps(leg, start, end)]
        if not in_window:
            continue
        crossed = [leg for leg in in_window if into.crossed_by(leg)]
        unknown_end = [leg for leg in crossed if leg.get("destination_evidence") not in LANDED]
        if unknown_end:
            reason, detail = "destination unknown", (f"a leg crossed {label} and its landing is unknown: "
                                                     "a landing there is not shown")
        elif crossed:
            reason, detail = f"overflight, no landing in {label}", "crossed " + label + " without landing"
        elif outside:
            reason, detail = f"landed in {label} outside the window", ", ".join(
                f"{legs[i]['destination']['icao']} {(legs[i].get('landing') or legs[i].get('last_point') or '?')}" for i in outside)
        else:
            places = [(leg.get("destination") or {}).get("icao") for leg in in_window
                      if leg.get("destination_evidence") in LANDED]
            reason, detail = "landed elsewhere", ", ".join(dict.fromkeys(p for p in places if p)) or "no landing shown"
        excluded.append({**base, "reason": reason, "detail": detail, "flagged_by": why})
    if population is not None:
        from tailwatch.bridge.candidates import not_flagged_entry

        excluded += [not_flagged_entry(h, ident, criteria, label) for h, ident in sorted((not_flagged or {}).items())]
    flights.sort(key=lambda f: (f["arrival"]["time"] or (f["arrival"].get("window") or [""])[0] or "", f["icao24"]))
    return flights, excluded
