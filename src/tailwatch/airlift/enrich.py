"""Fill an itinerary's legs with what the aircraft type could have carried.

`add_payload` is a pure function on the `tailwatch.itinerary/1` dict: per leg
`max_payload_t` and `payload_band_t` (from `flown_km`, falling back to
`great_circle_km`), plus an `airlift` summary (limiting leg, most end to end).
"""

from __future__ import annotations

import json
from pathlib import Path

from tailwatch.airlift.payload import leg_payload
from tailwatch.airlift.report import end_to_end, reserve_policy
from tailwatch.airlift.types import aircraft_type
from tailwatch.errors import BadInput

ITINERARY_SCHEMA = "tailwatch.itinerary/1"


def leg_distance_km(leg: dict) -> float | None:
    """The distance a leg was flown: `flown_km`, else `great_circle_km`."""
    for key in ("flown_km", "great_circle_km"):
        v = leg.get(key)
        if isinstance(v, (int, float)) and v == v and v >= 0:
            return float(v)
    return None


def add_payload(itin: dict, typecode: str | None = None) -> dict:
    """A copy of `itin` with per-leg payload figures and an `airlift` summary (inferred).

    Only what this step writes is copied: the document and each leg are new dicts, and `notes` a
    new list (the steps after this one append to it); every value it leaves alone (aircraft,
    stops, a leg's gaps...) is shared with `itin`, which is never changed. A deep copy of a whole
    batch's documents cost more than the payload model itself."""
    out = _copied(itin)
    code = typecode or (out.get("aircraft") or {}).get("typecode")
    spec = aircraft_type(code)
    legs = out.get("legs") or []
    if spec is None:
        for leg in legs:
            leg.setdefault("max_payload_t", None)
            leg.setdefault("payload_band_t", None)
        out["airlift"] = {"type": code, "known": False,
                          "note": f"no payload data for type {code!r}" if code else "aircraft type unknown"}
        return out
    payloads = []
    for leg in legs:
        d = leg_distance_km(leg)
        if d is None:
            leg["max_payload_t"], leg["payload_band_t"] = None, None
            continue
        p = leg_payload(spec.code, d)
        payloads.append(p)
        j = p.to_json()
        leg["max_payload_t"], leg["payload_band_t"] = j["max_payload_t"], j["band_t"]
        leg["payload_limited_by"] = p.limited_by
    summary = end_to_end(payloads) if len(payloads) == len(legs) else {
        "limiting_leg": None, "end_to_end_max_t": None, "end_to_end_band_t": [None, None],
        "note": "a leg has no distance: end-to-end figure not given"}
    out["airlift"] = {"type": spec.code, "type_name": spec.name, "known": True, "evidence": "inferred",
                      **summary, "reserve_policy": reserve_policy()["text"],
                      "max_payload_source": spec.source_of("max_payload_t")}
    return out


def _copied(itin: dict) -> dict:
    """`itin` and its legs as new dicts (the containers `add_payload` writes into) and its notes
    as a new list (a failing enrichment after it appends one there: not to `itin`'s)."""
    out = dict(itin)
    if isinstance(out.get("legs"), list):
        out["legs"] = [dict(leg) if isinstance(leg, dict) else leg for leg in out["legs"]]
    if isinstance(out.get("notes"), list):
        out["notes"] = list(out["notes"])
    return out


def read_itineraries(path: Path) -> list[dict]:
    """`tailwatch.itinerary/1` JSON file: one object or an array of them."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}@{exc.start}: not UTF-8 text") from None
    items = data if isinstance(data, list) else [data]
    for n, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("legs"), list):
            raise BadInput(f"{path}: itinerary #{n} has no 'legs' list (expected schema {ITINERARY_SCHEMA})")
        for k, leg in enumerate(it["legs"]):
            if not isinstance(leg, dict) or leg_distance_km(leg) is None:
                raise BadInput(f"{path}: itinerary #{n} leg {k} has no flown_km or great_circle_km")
    return items


def leg_label(leg: dict) -> dict:
    """Origin/destination ICAO codes and times of a leg, for display next to its payload."""
    def code(end):
        return (end or {}).get("icao") if isinstance(end, dict) else None
    return {"origin": code(leg.get("origin")), "destination": code(leg.get("destination")),
            "takeoff": leg.get("takeoff"), "landing": leg.get("landing")}
