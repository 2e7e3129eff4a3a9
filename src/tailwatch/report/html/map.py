"""The itinerary map as inline SVG: countries, barred airspace, legal paths, legs coloured by leg, stops
with their evidence, and a legend listing only what the map draws.

Barred airspace is shaded for every jurisdiction a leg's direct line or track crosses
(`direct_barred`, `crossed_barred`): what the aircraft went around is as much the story as what
it crossed. A leg's legal shortest path (`legal_path`) is drawn where its direct line is barred
(elsewhere it is the great circle, already under the track); the route's end-to-end legal route
only when no leg has its own."""

from __future__ import annotations

import numpy as np

from tailwatch.report.html.projection import geometry_path, graticule, pts, runs, fit_view
from tailwatch.report.html.text import esc
from tailwatch.report.tracks import Segment, country_layer, country_names, iso, legal_paths, place


PALETTE = ["#1f6fd0", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#1e3a8a"]


def _stops(itin: dict) -> list[dict]:
    """Each airport visited, with the evidence of arriving and leaving and the ground time."""
    legs = itin.get("legs") or []
    out = []
    for i, leg in enumerate(legs):
        if i == 0:
            out.append({"ref": leg.get("origin"), "arrive": None, "arrive_evidence": None, "leg_in": None,
                        "depart": leg.get("takeoff"), "depart_evidence": leg.get("origin_evidence"), "leg_out": i})
        nxt = legs[i + 1] if i + 1 < len(legs) else None
        # the next leg leaves from where this one arrived (not across a silence between trips)
        same = (nxt is not None and (nxt.get("origin") or {}).get("icao") == (leg.get("destination") or {}).get("icao")
                and nxt.get("trip", 0) == leg.get("trip", 0))
        out.append({"ref": leg.get("destination"), "arrive": leg.get("landing"),
                    "arrive_evidence": leg.get("destination_evidence"), "leg_in": i,
                    "depart": nxt.get("takeoff") if same else None,
                    "depart_evidence": nxt.get("origin_evidence") if same else None, "leg_out": i + 1 if same else None})
        if nxt is not None and not same:
            out.append({"ref": nxt.get("origin"), "arrive": None, "arrive_evidence": None, "leg_in": None,
                        "depart": nxt.get("takeoff"), "depart_evidence": nxt.get("origin_evidence"), "leg_out": i + 1})
    for s in out:
        ev = [e for e in (s["arrive_evidence"], s["depart_evidence"]) if e]
        s["evidence"] = "observed" if ev and all(e == "observed" for e in ev) else ("inferred" if ev else "unknown")
    return out


def render_map(itin: dict, segments: list[Segment], key: str) -> tuple[str, list[str]]:
    """The SVG map and the list of notes on what could not be drawn."""
    notes: list[str] = []
    stops = _stops(itin)
    legs = itin.get("legs") or []
    legal = legal_paths(itin)
    if any(leg is not None for leg, _, _ in legal):  # the legs' own paths, where their direct line is barred
        legal = [(leg, lo, la) for leg, lo, la in legal if leg is not None and leg < len(legs)
                 and (legs[leg].get("direct_barred") or legs[leg].get("crossed_barred"))]
    lons = [s.lon for s in segments] + [np.array([p[1]]) for p in (place(s["ref"]) for s in stops) if p]
    lats = [s.lat for s in segments] + [np.array([p[0]]) for p in (place(s["ref"]) for s in stops) if p]
    view = fit_view(np.concatenate(lons) if lons else np.array([]), np.concatenate(lats) if lats else np.array([]))
    w, h = view.width, view.height
    svg = [f'<svg class="map" id="map-{key}" viewBox="0 0 {w:.1f} {h:.1f}" xmlns="http://www.w3.org/2000/svg" '
           f'role="img" aria-label="map of the legs">',
           '<defs><pattern id="hatch-{0}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#c0392b" stroke-width="2" stroke-opacity="0.55"/></pattern></defs>'.format(key),
           f'<rect class="sea" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>', '<g class="zoom">']
    shapes = country_layer("land")
    banned = list(dict.fromkeys(c for leg in legs for key in ("direct_barred", "crossed_barred", "banned_countries")
                                for c in (leg.get(key) or [])))
    drawn: set[str] = set()
    if shapes is None:
        notes.append("Coastlines and borders are not drawn: the country shapes are not installed.")
    else:
        names = country_names()
        land = [f'<path class="land" d="{d}"><title>{esc(code)} {esc(names.get(code, ""))}</title></path>'
                for code, geom in shapes.items() if (d := geometry_path(view, geom))]
        svg.append('<g class="lands">' + "".join(land) + "</g>")
        shade = []
        airspace = (country_layer("airspace") or shapes) if banned else shapes
        for code in banned:
            geom = airspace.get(code, shapes.get(code))
            d = geometry_path(view, geom) if geom is not None else ""
            if d:
                drawn.add("banned")
                shade.append(f'<path class="banned" data-country="{esc(code)}" fill="url(#hatch-{key})" d="{d}">'
                             f'<title>{esc(code)} {esc(names.get(code, ""))}: {esc(_barred_title(legs, code))}</title></path>')
            else:
                notes.append(f"Banned airspace {code} is not drawn (no shape for it, or outside the map).")
        svg.append('<g class="bans">' + "".join(shade) + "</g>")
    if banned and shapes is None:
        notes.append("Banned airspace (" + ", ".join(banned) + ") is listed in the table but not shaded.")
    svg.append(f'<g class="graticule">{graticule(view)}</g>')
    if legal:
        parts = []
        for leg, lo, la in legal:
            for x, y in runs(view, lo, la):
                drawn.add("legal")
                parts.append(f'<polyline class="legal"{"" if leg is None else f" data-leg={chr(34)}{leg}{chr(34)}"} '
                             f'points="{pts(x, y)}"><title>legal shortest route'
                             f'{"" if leg is None else f" for leg {leg + 1}"}</title></polyline>')
        svg.append('<g class="legal-route">' + "".join(parts) + "</g>")
    elif (itin.get("route") or {}).get("legal_shortest_km") is not None:
        notes.append("The legal shortest route has a length but no geometry in the itinerary; it is not drawn.")
    tracks = []
    for seg in segments:
        colour = PALETTE[seg.leg % len(PALETTE)]
        title = esc(f"leg {seg.leg + 1}: {seg.evidence} — {seg.reason}, {iso(seg.time[0]) or '?'} to {iso(seg.time[-1]) or '?'}")
        for x, y in runs(view, seg.lon, seg.lat):
            if x.size < 2:
                continue
            drawn.add(seg.evidence)
            tracks.append(f'<polyline class="seg {seg.evidence}" data-leg="{seg.leg}" stroke="{colour}" '
                          f'points="{pts(x, y)}"><title>{title}</title></polyline>')
    svg.append('<g class="tracks">' + "".join(tracks) + "</g>")
    unknown = _unknown_stops(view, legs, segments, {(s["ref"] or {}).get("icao") for s in stops})
    if unknown:
        drawn.add("unknown")
        svg.append('<g class="unknown-stops">' + "".join(unknown) + "</g>")
    arrows = _arrows(view, segments)
    if arrows:
        drawn.add("arrow")
        svg.append('<g class="arrows">' + "".join(arrows) + "</g>")
    marks = []
    for s in stops:
        where = place(s["ref"])
        if where is None:
            continue
        x, y = view.xy([where[1]], [where[0]])
        code = (s["ref"] or {}).get("icao") or "?"
        legs_attr = " ".join(str(v) for v in (s["leg_in"], s["leg_out"]) if v is not None)
        title = esc(f"{code} {(s['ref'] or {}).get('name') or ''} ({(s['ref'] or {}).get('country') or '?'}): "
                    f"arrival {s['arrive'] or '—'} ({s['arrive_evidence'] or 'n/a'}), "
                    f"departure {s['depart'] or '—'} ({s['depart_evidence'] or 'n/a'})")
        drawn.add(f"stop {s['evidence']}")
        marks.append(f'<g class="stop {s["evidence"]}" data-legs="{legs_attr}"><circle cx="{x[0]:.1f}" cy="{y[0]:.1f}" r="5"/>'
                      f'<text x="{x[0] + 7:.1f}" y="{y[0] - 6:.1f}">{esc(code)}</text>{_city_label(s["ref"], x[0], y[0])}'
                      f'<title>{title}</title></g>')
    svg.append('<g class="stops">' + "".join(marks) + "</g></g></svg>")
    return "".join(svg) + legend(drawn), notes


MAX_CANDIDATES_DRAWN = 3


def _unknown_stops(view, legs: list[dict], segments: list[Segment], labelled: set | None = None) -> list[str]:
    """An unknown stop has no place to draw: its candidates are drawn instead, as grey hollow marks
    labelled "CODE?", each joined by a dotted line to the last position before the stop and the
    first after it, so the observed pieces either side are tied to what they could have met."""
    from tailwatch.report.tracks import candidates

    ends: dict[int, tuple[tuple[float, float] | None, tuple[float, float] | None]] = {}
    for seg in segments:
        first, last = (float(seg.lon[0]), float(seg.lat[0])), (float(seg.lon[-1]), float(seg.lat[-1]))
        was = ends.get(seg.leg, (None, None))
        ends[seg.leg] = (was[0] or first, last)
    out = []
    for i, leg in enumerate(legs):
        if (leg.get("destination") or {}).get("icao"):
            continue
        codes = candidates(leg, "destination")[:MAX_CANDIDATES_DRAWN]
        before = ends.get(i, (None, None))[1]
        nxt = legs[i + 1] if i + 1 < len(legs) and not (legs[i + 1].get("origin") or {}).get("icao") else None
        after = ends.get(i + 1, (None, None))[0] if nxt is not None else None
        for code in codes:
            where = place({"icao": code})
            if where is None:
                continue
            lat, lon = where
            title = esc(f"{code}? one of the candidates for the unknown stop after leg {i + 1} "
                        f"({'/'.join(codes)}): the data cannot tell which, if any")
            for n, a, b in ((i, before, (lon, lat)), (i + 1, (lon, lat), after)):
                if a is None or b is None:
                    continue
                from tailwatch.report.tracks import densify

                lo, la = densify(np.array([a[0], b[0]]), np.array([a[1], b[1]]))
                for x, y in runs(view, lo, la):
                    if x.size >= 2:
                        out.append(f'<polyline class="unknown-link" data-leg="{n}" points="{pts(x, y)}"><title>{title}</title></polyline>')
            x, y = view.xy([lon], [lat])
            label = ("" if code in (labelled or set())  # a stop of the route already names it
                     else f'<text x="{x[0] + 7:.1f}" y="{y[0] - 6:.1f}">{esc(code)}?</text>')
            out.append(f'<g class="candidate" data-legs="{i}"><circle cx="{x[0]:.1f}" cy="{y[0]:.1f}" r="4"/>'
                       f'{label}<title>{title}</title></g>')
    return out


def _city_label(ref: dict | None, x: float, y: float) -> str:
    """The airport's city under its code (the packaged airport table's), or nothing."""
    code = (ref or {}).get("icao")
    if not code:
        return ""
    from tailwatch.geo.airports import airport

    found = airport(code)
    city = (found or {}).get("city")
    return f'<text class="city" x="{x + 7:.1f}" y="{y + 6:.1f}">{esc(city)}</text>' if city else ""


def _arrows(view, segments: list[Segment]) -> list[str]:
    """One arrow per leg, halfway along its drawn line, pointing the way it was flown."""
    by_leg: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for seg in segments:
        by_leg.setdefault(seg.leg, []).extend((x, y) for x, y in runs(view, seg.lon, seg.lat) if x.size >= 2)
    out = []
    for leg, pieces in sorted(by_leg.items()):
        if not pieces:
            continue
        steps = [(x, y, np.hypot(np.diff(x), np.diff(y))) for x, y in pieces]
        total = sum(float(d.sum()) for _, _, d in steps)
        if total < 30.0:  # too short on the map to carry an arrow
            continue
        half = total / 2.0
        for x, y, d in steps:
            if half <= float(d.sum()):
                k = int(np.searchsorted(np.cumsum(d), half))
                k = min(k, d.size - 1)
                frac = (half - (float(np.cumsum(d)[k] - d[k]))) / max(float(d[k]), 1e-9)
                px, py = x[k] + frac * (x[k + 1] - x[k]), y[k] + frac * (y[k + 1] - y[k])
                angle = float(np.degrees(np.arctan2(y[k + 1] - y[k], x[k + 1] - x[k])))
                colour = PALETTE[leg % len(PALETTE)]
                out.append(f'<path class="arrow" data-leg="{leg}" fill="{colour}" d="M6,0 L-5,-4.5 L-5,4.5 Z" '
                           f'transform="translate({px:.1f} {py:.1f}) rotate({angle:.0f})"><title>leg {leg + 1}: '
                           f"direction of flight</title></path>")
                break
            half -= float(d.sum())
    return out


def _barred_title(legs: list[dict], code: str) -> str:
    """The tooltip of a shaded jurisdiction: whom it bars since when (instrument), which legs went around it."""
    info = next(((leg.get("barred_details") or {}).get(code) for leg in legs
                 if (leg.get("barred_details") or {}).get(code)), None)
    text = (f"closed to {info.get('bars')} since {info.get('since')} ({info.get('instrument')})" if info
            else "airspace barred to this aircraft")
    around = [str(i) for i, leg in enumerate(legs, 1) if code in (leg.get("avoided") or [])]
    crossed = [str(i) for i, leg in enumerate(legs, 1)
               if code in (leg.get("crossed_barred", leg.get("banned_countries")) or [])]
    if around:
        text += f"; leg{'s' if len(around) > 1 else ''} {', '.join(around)} went around it"
    if crossed:
        text += f"; leg{'s' if len(crossed) > 1 else ''} {', '.join(crossed)} crossed it"
    return text


_LEGEND_ITEMS = [
    ("observed", '<svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#1f6fd0" stroke-width="3"/></svg> observed track (points)'),
    ("inferred", '<svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#1f6fd0" stroke-width="2" stroke-dasharray="7 5"/></svg> inferred (no points)'),
    ("stop observed", '<svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#111"/></svg> stop, observed'),
    ("stop inferred", '<svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#fff" stroke="#111" stroke-dasharray="2 2"/></svg> stop, inferred'),
    ("stop unknown", '<svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#fff" stroke="#111" stroke-dasharray="2 2"/></svg> stop, unknown'),
    ("arrow", '<svg width="14" height="12"><path d="M13,6 L2,1.5 L2,10.5 Z" fill="#1f6fd0"/></svg> direction of flight'),
    ("unknown", '<svg width="40" height="12"><line x1="0" y1="6" x2="28" y2="6" stroke="#777" stroke-width="1.5" stroke-dasharray="2 3"/><circle cx="34" cy="6" r="4" fill="#fff" stroke="#777"/></svg> unknown stop: its candidates (CODE?), joined to the positions either side'),
    ("banned", '<svg width="18" height="12"><rect width="18" height="12" fill="#f7d9d5" stroke="#c0392b"/></svg> airspace barred to this aircraft'),
    ("legal", '<svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#111" stroke-width="1"/></svg> legal shortest path'),
]


def legend(drawn: set[str]) -> str:
    """The map's legend, listing only what the map draws."""
    items = "".join(f"<span>{html}</span>\n" for what, html in _LEGEND_ITEMS if what in drawn)
    return (f'<div class="legend">\n{items}<span>colour = leg (see table) · scroll to zoom, drag to pan, '
            f"double-click to reset</span>\n</div>")


LEGEND = legend({what for what, _ in _LEGEND_ITEMS})  # every item: what a page with everything shows
