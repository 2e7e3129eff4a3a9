"""The lede: what a reader must know first, in 4–6 sentences, at the top of the HTML and Markdown report.

Why: the identity, the list entries and the airspace story used to sit far down a report, under
raw field names, after the map and the tables; a reader skimming the first screen learned the
route's airports and nothing of who flies the aircraft, why it is watched, whose airspace it went
around or what it could carry. Each sentence is built from the itinerary JSON alone: the aircraft
(registration, type, operator, country of registration), each list entry (list, programme, date,
source, with its address where the source has one), the route in city names with observed, inferred and
unknown stops counted, the airspace avoided with the largest detour, and the most every leg could
carry. A sentence whose facts are missing is left out, never filled with a guess.

`lede(itin)` returns the sentences as (text, link) pairs: `link` is the URL of a list entry's
source, or None; the writers escape and format them.
"""

from __future__ import annotations

import re

from tailwatch.airspace.story import place

MAX_ENTRIES = 3  # list entries told in the lede; the rest are counted (all are in the identity table)
URL = re.compile(r"https?://[^\s)\]]+")


def _count(n: int) -> str:
    words = "zero one two three four five six seven eight nine ten".split()
    return words[n] if 0 <= n < len(words) else f"{n:,}"


def _when(iso: str | None) -> str | None:
    if not iso:
        return None
    from datetime import date

    d = date.fromisoformat(iso[:10])
    return f"{d.day} {d.strftime('%b')} {d.year}"


def _identity(itin: dict) -> str:
    a = itin.get("aircraft") or {}
    name = a.get("registration") or f"The aircraft with address {a.get('icao24') or '?'}"
    kind = (itin.get("airlift") or {}).get("type_name") or a.get("model") or a.get("typecode")
    text = f"{name} is {'an' if kind and kind[0].upper() in 'AEIOU' else 'a'} {kind}" if kind else f"{name} is of unknown type"
    if kind and a.get("typecode") and a["typecode"] not in kind:
        text += f" ({a['typecode']})"
    text += f" operated by {a['operator']}" if a.get("operator") else ", operator unknown"
    from tailwatch.geo.countries import country_names

    country = a.get("country_name") or country_names().get(a.get("country") or "", a.get("country"))
    text += f", registered in {country}" if country else ", country of registration unknown"
    if a.get("registration"):
        text += f" (address {a.get('icao24')})"
    return text + "."


def _entries(itin: dict) -> list[tuple[str, str | None]]:
    out = []
    for w in (itin.get("aircraft") or {}).get("watchlists") or []:
        what = f"It is on the {w.get('list') or 'unnamed'} list"
        details = [d for d in (w.get("program") and f"programme {w['program']}",
                               w.get("listing_date") and f"listed {w['listing_date']}",
                               w.get("id") and f"entry {w['id']}") if d]
        if details:
            what += f" ({', '.join(details)})"
        source = w.get("source") or w.get("url")
        link = w.get("url") or (URL.search(source).group(0) if source and URL.search(source) else None)
        what += f": {source}" if source else ": source not given"
        out.append((what.rstrip(".") + ".", link))
    return out


def _route(itin: dict) -> str | None:
    legs = itin.get("legs") or []
    if not legs:
        return None
    stops = itin.get("stops") or []
    names = [place(s.get("airport")) if s.get("airport") else "an unknown stop" for s in stops]
    marked = [n + (" (inferred)" if s.get("evidence") == "inferred" else "") for n, s in zip(names, stops)]
    start = _when(legs[0].get("takeoff") or legs[0].get("first_point"))
    end = _when(legs[-1].get("landing") or legs[-1].get("last_point"))
    counts = {k: sum(1 for s in stops if s.get("evidence") == k) for k in ("observed", "inferred", "unknown")}
    span = (f"On {start}" if start and start == end else f"Between {start} and {end}" if start and end
            else "In the data")
    text = f"{span} it flew {len(legs)} leg{'s' if len(legs) != 1 else ''}"
    if marked:
        text += ": " + " → ".join(marked)
    if stops:
        text += (f"; {counts['observed']} place{'s' if counts['observed'] != 1 else ''} observed, "
                 f"{counts['inferred']} inferred from the track around a gap, {counts['unknown']} unknown")
    return text + "."


def _airspace(itin: dict) -> str | None:
    from tailwatch.airspace.story import barred_phrase

    legs = itin.get("legs") or []
    route = itin.get("route") or {}
    around = [(i, leg) for i, leg in enumerate(legs, 1) if leg.get("avoided")]
    crossed = route.get("crossed_barred") or []
    if not around and not crossed:
        return None
    details = route.get("barred_details") or {}
    parts = []
    if around:
        codes = route.get("avoided") or list(dict.fromkeys(c for _, leg in around for c in leg["avoided"]))
        names = [(details.get(c) or {}).get("name") or c for c in codes]
        parts.append(f"{_count(len(around))} leg{'s' if len(around) != 1 else ''} went around airspace barred to it "
                     f"({', '.join(names)})")
        i, widest = max(around, key=lambda item: item[1].get("detour_km") or 0.0)
        if widest.get("detour_km") is not None and widest.get("detour_pct") is not None:
            parts.append(f"the largest detour, leg {i} {place(widest.get('origin'))} → {place(widest.get('destination'))}, "
                         f"was {widest['detour_km']:,.0f} km ({widest['detour_pct']:+.0f} %) against the direct line")
    if crossed:  # seen in positions, or only where the track is filled in across a gap
        seen = {c["country"] for leg in legs for c in leg.get("banned_crossings") or [] if c.get("evidence") == "observed"}
        observed = [c for c in crossed if c in seen]
        inferred = [c for c in crossed if c not in seen]
        if observed:
            parts.append(f"its positions show it crossing {barred_phrase(observed, details)}")
        if inferred:
            parts.append(f"its track as inferred across coverage gaps crosses {barred_phrase(inferred, details)}, "
                         "which no position shows")
    return "; ".join(parts)[0].upper() + "; ".join(parts)[1:] + "."


def _payload(itin: dict) -> str | None:
    airlift = itin.get("airlift") or {}
    legs = itin.get("legs") or []
    top = airlift.get("end_to_end_max_t")
    if top is None:
        return None
    text = f"On every leg it could have carried at most {top:,.1f} t"
    limiting = airlift.get("limiting_leg")
    if isinstance(limiting, int) and 0 <= limiting < len(legs):
        leg = legs[limiting]
        text += (f", the limit set by leg {limiting + 1}, {place(leg.get('origin'))} → {place(leg.get('destination'))}"
                 f" ({airlift.get('evidence') or 'inferred'} from the type's payload–range data, not a measured load)")
    return text + "."


def lede(itin: dict) -> list[tuple[str, str | None]]:
    """The lede's sentences, each with the URL of its source when it has one."""
    found: list[tuple[str, str | None]] = [(_identity(itin), None)]
    entries = _entries(itin)
    found += entries[:MAX_ENTRIES]
    if len(entries) > MAX_ENTRIES:
        found.append((f"It is on {len(entries) - MAX_ENTRIES} more list entries (see the list entries below).", None))
    for sentence in (_route(itin), _airspace(itin), _payload(itin)):
        if sentence:
            found.append((sentence, None))
    return found


__all__ = ["lede"]
