"""Whose airspace a leg went around, in one sentence a reporter can quote.

Why: the figures (`direct_barred`, `crossed_barred`, `avoided`, `detour_*`, `legal_*`) answer the
question only for a reader who knows what they mean; the question a story asks is "whose airspace
did it avoid, and what did that cost?". A leg that avoided something gets one sentence:

  Yerevan → Algiers: the direct line crosses Greece and Italy (EU airspace, closed to carriers and
  aircraft of Russia since 28 Feb 2022, Regulation (EU) 2022/334); it flew via Turkey and Tunisia
  instead: 3,840 km against 3,576 km direct (+7 %), the length of the shortest legal path.

Every part comes from the leg's JSON (`airspace.enrich`): the barred jurisdictions grouped by the
instrument that bars them (Union territory is "EU airspace"), the countries the track crossed
between its end countries, the flown distance against the great circle and the shortest legal
path. An inferred end or a track stretch across a coverage gap is said to be inferred. A leg that
avoided nothing gets no sentence: silence is not a finding. Pure text, no I/O besides the packaged
airport and country names.
"""

from __future__ import annotations

from datetime import date


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def place(end: dict | None) -> str:
    """An airport as a reader knows it: its city (or its name, or its code); "unknown" if none."""
    if not end or not end.get("icao"):
        return "unknown"
    if end.get("city"):
        return str(end["city"])
    from tailwatch.geo.airports import airport

    found = airport(end["icao"])
    if found is not None and found.get("city"):
        return str(found["city"])
    return str(end.get("name") or end["icao"])


def _day(iso: str | None) -> str:
    if not iso:
        return "an unknown date"
    d = date.fromisoformat(iso[:10])
    return f"{d.day} {d.strftime('%b')} {d.year}"


def barred_phrase(codes: list[str], details: dict[str, dict]) -> str:
    """"Greece and Italy (EU airspace, closed to … since 28 Feb 2022, Regulation (EU) 2022/334)":
    the jurisdictions grouped by the instrument and date that bar the aircraft, in order; when
    several groups bar the same aircraft, whom they bar is said once at the end."""
    groups: dict[tuple, list[str]] = {}
    for code in codes:
        info = details.get(code) or {"name": code}
        key = (info.get("union"), info.get("instrument"), info.get("since"), info.get("bars"))
        groups.setdefault(key, []).append(info.get("name") or code)
    whom = {key[3] for key in groups}
    shared = next(iter(whom)) if len(groups) > 1 and len(whom) == 1 else None
    parts = []
    for (union, instrument, since, bars), names in groups.items():
        why = [f"{union} airspace"] if union else []
        if bars and not shared:
            why.append(f"closed to {bars} since {_day(since)}")
        elif since:
            why.append(f"since {_day(since)}")
        if instrument:
            why.append(str(instrument))
        parts.append(_join(names) + (f" ({', '.join(why)})" if why else ""))
    text = _join(parts)
    return text + (f", all closed to {shared}" if shared else "")


def _via(leg: dict) -> tuple[list[str], bool]:
    """Countries the track crossed between its end countries (barred ones left out: they are said
    apart), and whether any of them was crossed only where the track is inferred."""
    from tailwatch.geo.countries import country_names

    names = country_names()
    ends = {(leg.get("origin") or {}).get("country"), (leg.get("destination") or {}).get("country")}
    barred = set(leg.get("crossed_barred") or [])
    via: dict[str, bool] = {}
    for c in leg.get("crossings") or []:
        code = c.get("country")
        if code in ends or code in barred or code is None:
            continue
        via[code] = via.get(code, False) or c.get("evidence") == "observed"
    return [names.get(c, c) for c in via], not all(via.values())


def leg_sentence(leg: dict) -> str | None:
    """The sentence for one enriched leg, or None when it avoided nothing (or an end is unknown)."""
    avoided = leg.get("avoided") or []
    if not avoided:
        return None
    details = leg.get("barred_details") or {}
    o, d = leg.get("origin"), leg.get("destination")
    ends = f"{place(o)} → {place(d)}"
    inferred_ends = [name for name, ev in (("origin", leg.get("origin_evidence")),
                                           ("destination", leg.get("destination_evidence"))) if ev == "inferred"]
    if inferred_ends:
        ends += f" ({' and '.join(inferred_ends)} inferred)"
    text = f"{ends}: the direct line crosses {barred_phrase(leg.get('direct_barred') or avoided, details)}"
    via, inferred = _via(leg)
    still = leg.get("crossed_barred") or []
    flew = "it flew" if not inferred else "its track (partly inferred across a coverage gap) ran"
    text += f"; {flew} via {_join(via)} instead" if via else f"; {flew} around {'it' if len(avoided) == 1 else 'them'} instead"
    flown, direct = leg.get("flown_km"), leg.get("great_circle_km")
    if flown is not None and direct:
        pct = leg.get("detour_pct")
        text += f": {flown:,.0f} km against {direct:,.0f} km direct"
        if pct is not None:
            text += f" ({pct:+.0f} %)"
        legal, extra = leg.get("legal_shortest_km"), leg.get("legal_detour_km")
        if legal is not None and extra is not None:
            if extra >= 1.0:
                text += f", {extra:,.0f} km more than the shortest legal path ({legal:,.0f} km)"
            elif extra > -1.0:
                text += ", the length of the shortest legal path"
            else:
                text += f", {-extra:,.0f} km less than the shortest legal path ({legal:,.0f} km)"
    if still:
        text += f"; it still crossed {barred_phrase(still, details)}"
    return text + "."


def route_story(legs: list[dict]) -> str | None:
    """The legs' sentences in order, each led by its number (legs count from 1); None if none."""
    found = [f"Leg {i}, {leg['airspace_sentence']}" for i, leg in enumerate(legs, 1) if leg.get("airspace_sentence")]
    return " ".join(found) if found else None


__all__ = ["place", "barred_phrase", "leg_sentence", "route_story"]
