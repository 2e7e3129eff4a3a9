"""Totals, the baseline, co-location and the cargo comparison of a bridge; the `tailwatch.bridge/1` document.

Why these: a campaign is judged by its size (flights, capacity flown in, per origin, operator and week),
by how unusual it is (the same counts over the preceding window of equal length, and the ratio; aircraft
never seen landing there before), and by who met whom (flagged aircraft on the ground at one airport at
once). Capacity is the sum of each arriving leg's maximum payload (an upper bound of what it could carry,
not what it carried); the band sums the legs' bands. Co-location uses observed ground stays only: an
inferred stop has a window of hours, not a time on the ground.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from tailwatch.bridge.criteria import Criteria
from tailwatch.bridge.flights import LANDED, arrival_window, bridge_flights
from tailwatch.bridge.place import Destination
from tailwatch.times import parse_time

SCHEMA = "tailwatch.bridge/1"


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def arrival_time(flight: dict) -> datetime | None:
    a = flight["arrival"]
    return parse_time(a.get("time") or (a.get("window") or [None])[0])


def totals(flights: list[dict], start: datetime, end: datetime) -> dict:
    """Counts per origin country, operator, ISO week and day; capacity flown in with its band."""
    days = Counter()
    weeks = Counter()
    for f in flights:
        t = arrival_time(f)
        if t is None:
            continue
        days[t.date().isoformat()] += 1
        y, w, _ = t.isocalendar()
        weeks[f"{y}-W{w:02d}"] += 1
    timeline, d = [], start.date()
    last = (end - timedelta(microseconds=1)).date() if end.time() == datetime.min.time() else end.date()
    while d <= last:
        timeline.append({"date": d.isoformat(), "flights": days.get(d.isoformat(), 0)})
        d += timedelta(days=1)
    known = [f for f in flights if f.get("max_payload_t") is not None]
    bands = [f.get("payload_band_t") or [None, None] for f in known]
    lo = None if any(b[0] is None for b in bands) else round(sum(b[0] for b in bands), 1)
    hi = None if any(b[1] is None for b in bands) else round(sum(b[1] for b in bands), 1)
    return {
        "flights": len(flights),
        "aircraft": len({f["icao24"] for f in flights}),
        "observed_arrivals": sum(1 for f in flights if f["arrival"]["evidence"] == "observed"),
        "inferred_arrivals": sum(1 for f in flights if f["arrival"]["evidence"] == "inferred"),
        "by_origin_country": dict(Counter(f.get("from_country") or "unknown" for f in flights).most_common()),
        "by_operator": dict(Counter(f.get("operator") or "unknown" for f in flights).most_common()),
        "by_type": dict(Counter(f.get("typecode") or "unknown" for f in flights).most_common()),
        "by_week": dict(sorted(weeks.items())),
        "timeline": timeline,
        "capacity_t": round(sum(f["max_payload_t"] for f in known), 1),
        "capacity_band_t": [lo, hi],
        "flights_with_payload_unknown": len(flights) - len(known),
        "capacity_note": "sum of each arriving leg's maximum payload: what the flights could have carried, "
                         "not what they carried; flights whose payload is unknown add nothing",
    }


def baseline(docs: list[dict], into: Destination, criteria: Criteria, start: datetime, end: datetime,
             flights: list[dict], data_from: datetime | None) -> dict:
    """The same counts over the preceding window of equal length (clipped to what the data holds), the
    ratio, and the aircraft first seen landing in the destination within the window."""
    length = end - start
    b_start, b_end = start - length, start
    held_from = max(b_start, data_from) if data_from is not None else b_start
    out: dict = {"start": _z(b_start), "end": _z(b_end)}
    if held_from >= b_end:
        out.update({"held": False, "flights": None, "ratio": None,
                    "note": "The data holds nothing before the window: no baseline"})
    else:
        before, _ = bridge_flights(docs, into, criteria, b_start, b_end - timedelta(microseconds=1))
        t = totals(before, held_from, b_end)
        n = t["flights"]
        scale = length / (b_end - held_from)
        out.update({"held": True, "data_from": _z(held_from), "flights": n, "aircraft": t["aircraft"],
                    "capacity_t": t["capacity_t"], "by_origin_country": t["by_origin_country"],
                    "timeline": t["timeline"],  # flights per day over the part held (the views chart it)
                    "ratio": None if n == 0 else round(len(flights) / (n * scale), 2)})
        if held_from > b_start:
            out["note"] = (f"The data begins {_z(held_from)}: the baseline covers "
                           f"{(b_end - held_from) / length:.0%} of its length and the ratio is scaled to it")
        elif n == 0:
            out["note"] = "No flight in the baseline: the ratio is undefined"
    seen_before = set()
    if out.get("held"):
        seen_before = _all_arrivals(docs, into, held_from, start)
    out["first_seen_in_window"] = sorted({f["icao24"] for f in flights} - seen_before)
    out["first_seen_note"] = ("aircraft of the flights with no landing in the destination in the baseline "
                              "the data holds" if out.get("held") else "no baseline: every aircraft is new to the data")
    return out


def _all_arrivals(docs: list[dict], into: Destination, start: datetime, end: datetime) -> set[str]:
    """Addresses that landed in the destination in [start, end), flagged or not."""
    out = set()
    for doc in docs:
        legs = doc.get("legs") or []
        for i, leg in enumerate(legs):
            if leg.get("destination_evidence") in LANDED and into.holds(leg.get("destination")):
                lo, hi = arrival_window(legs, i)
                t = parse_time(lo or hi)
                if t is not None and start <= t < end:
                    out.add((doc.get("aircraft") or {}).get("icao24"))
    return out


def colocations(docs: list[dict], criteria: Criteria, start: datetime, end: datetime,
                population: set[str] | frozenset[str] | None = None) -> list[dict]:
    """Flagged aircraft (of `population`, when given) on the ground at the same airport at the same time
    (observed stays), with the overlap."""
    stays: dict[str, list[tuple[datetime, datetime, dict, dict]]] = {}
    for doc in docs:
        ac = doc.get("aircraft") or {}
        if population is not None and ac.get("icao24") not in population:
            continue
        if not criteria.match(ac)[0]:
            continue
        for s in doc.get("stops") or []:
            ap = s.get("airport") or {}
            if s.get("evidence") != "observed" or not ap.get("icao"):
                continue
            lo = parse_time(s.get("arrival") or s.get("window_start"))
            hi = parse_time(s.get("departure") or s.get("window_end"))
            if lo is None or hi is None or hi < start or lo > end:
                continue
            stays.setdefault(ap["icao"], []).append((lo, hi, ac, ap))
    out = []
    for icao, rows in stays.items():
        rows.sort(key=lambda r: r[0])
        for i, (a0, a1, aca, ap) in enumerate(rows):
            for b0, b1, acb, _ in rows[i + 1:]:
                if b0 >= a1:
                    break
                if acb.get("icao24") == aca.get("icao24"):
                    continue
                lo, hi = max(a0, b0), min(a1, b1)
                if hi <= lo:
                    continue
                out.append({"airport": icao, "name": ap.get("name"), "country": ap.get("country"),
                            "aircraft": [{"icao24": x.get("icao24"), "registration": x.get("registration"),
                                          "typecode": x.get("typecode")} for x in (aca, acb)],
                            "from": _z(lo), "to": _z(hi), "overlap_h": round((hi - lo).total_seconds() / 3600, 2),
                            "evidence": "observed"})
    out.sort(key=lambda c: (c["from"], c["airport"]))
    return out


def cargo_comparison(cargo, flights: list[dict]) -> dict:
    """A named cargo against the flights: sorties it needs per arriving type (at the median arriving
    capacity of that type) and what the flights flown could lift; reported sortie counts beside."""
    from statistics import median

    from tailwatch.airlift.sorties import Hold, plan_sorties
    from tailwatch.airlift.types import aircraft_type

    per_type = []
    for code in sorted({f.get("typecode") for f in flights if f.get("typecode")}):
        caps = [f["max_payload_t"] for f in flights if f.get("typecode") == code and f.get("max_payload_t") is not None]
        spec = aircraft_type(code)
        row = {"type": code, "flights": sum(1 for f in flights if f.get("typecode") == code),
               "median_capacity_t": round(median(caps), 1) if caps else None, "sorties_needed": None}
        if spec is not None and caps:
            try:
                plan = plan_sorties(cargo, median(caps), Hold.of(spec))
                row["sorties_needed"] = plan.count
                row["status"] = plan.to_json()["status"]
                if plan.too_heavy:
                    row["too_heavy"] = plan.too_heavy
            except Exception as exc:  # an item that cannot enter the hold: say so
                row["status"] = str(exc)
        per_type.append(row)
    capacity = round(sum(f["max_payload_t"] for f in flights if f.get("max_payload_t") is not None), 1)
    return {"cargo": cargo.name, "known_mass_t": round(cargo.known_mass_t, 1),
            "items_unknown": [i.name for i in cargo.incomplete], "flights_flown": len(flights),
            "capacity_flown_t": capacity, "per_type": per_type,
            "reported": [{"description": r.description, "sorties": r.sorties, "source": r.source, "as_of": r.as_of}
                         for r in cargo.reported],
            "note": "sorties from the planner (mass and floor length; airlift/sorties.py) at each type's median "
                    "arriving capacity; the capacity flown is an upper bound of what the flights could carry"}


def bridge_document(docs: list[dict], into: Destination, criteria: Criteria, start: datetime, end: datetime,
                    *, data_from: datetime | None = None, cargo=None, notes: list[str] | None = None,
                    population: set[str] | frozenset[str] | None = None,
                    not_flagged: dict[str, dict | None] | None = None) -> dict:
    """The `tailwatch.bridge/1` document; `population` (None: every document) is who may be listed as
    excluded or co-located (the flagged aircraft that came near the place, `bridge.candidates`), and
    `not_flagged` the aircraft not flagged heard near it (listed from the query)."""
    flights, excluded = bridge_flights(docs, into, criteria, start, end, population, not_flagged)
    doc = {"schema": SCHEMA, "into": into.label, "start": _z(start), "end": _z(end),
           "criteria": criteria.describe(), "flights": flights, "totals": totals(flights, start, end),
           "baseline": baseline(docs, into, criteria, start, end, flights, data_from),
           "colocations": colocations(docs, criteria, start, end, population), "excluded": excluded,
           "notes": list(notes or [])}
    if cargo is not None:
        doc["cargo"] = cargo_comparison(cargo, flights)
    return doc
