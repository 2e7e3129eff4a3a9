"""One map of every inbound flight: each flight's chain as a group of lines (observed solid, inferred
dashed), coloured by the country the chain began in, stops marked with their evidence and labelled with
the airport's code and city, the destination outlined.

Drawn as inline SVG with the itinerary report's projection and country layer (`report.html.projection`,
`report.tracks.country_layer`), so the page needs no map library and no tile: it opens offline and
prints. Lines come from each flight's optional `track` (added by the application from the aircraft's own
points); a flight without one is drawn as great circles between its chain's known airports, inferred.
"""

from __future__ import annotations

import numpy as np

from tailwatch.report.html.projection import fit_view, geometry_path, graticule, pts, runs
from tailwatch.report.html.text import esc
from tailwatch.report.tracks import country_layer, country_names, densify, place

PALETTE = ["#1f6fd0", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"]
UNKNOWN_COLOUR = "#6b7280"


def colours(flights: list[dict]) -> dict[str, str]:
    """Origin country → colour (most flights first); `unknown` is grey."""
    from collections import Counter

    counts = Counter(f.get("from_country") or "unknown" for f in flights)
    known = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c != "unknown"]
    out = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(known)}
    out["unknown"] = UNKNOWN_COLOUR
    return out


def _fallback_track(flight: dict) -> list[dict]:
    """Without a gathered track: great circles between consecutive known stops of the chain, inferred."""
    stops = flight.get("chain_stops") or [{"icao": c} for c in flight.get("chain") or []]
    out = []
    for n, (a, b) in enumerate(zip(stops, stops[1:]), 1):
        pa, pb = place(a), place(b)
        if pa is None or pb is None:
            continue
        lon, lat = densify(np.array([pa[1], pb[1]]), np.array([pa[0], pb[0]]))
        out.append({"leg": n, "evidence": "inferred", "reason": "no track gathered; great circle between the airports",
                    "coordinates": np.column_stack([lon, lat]).tolist()})
    return out


def flight_lines(flight: dict) -> list[dict]:
    track = flight.get("track")
    return track if track else _fallback_track(flight)


def _stops(flights: list[dict]) -> dict[str, dict]:
    """ICAO → {ref, evidence per flight number}: every stop any chain names."""
    out: dict[str, dict] = {}
    for k, f in enumerate(flights, 1):
        for s in f.get("chain_stops") or []:
            if not s.get("icao"):
                continue
            item = out.setdefault(s["icao"], {"ref": s, "seen": []})
            item["seen"].append((k, s.get("evidence") or "unknown"))
    return out


def _destination_shapes(into: str) -> tuple[list[str], list[str]]:
    """(countries, airports) the destination label names: `VE`, `VE,CO`, `SVMI,SVVA`; a polygon file: neither."""
    parts = [p.strip().upper() for p in (into or "").split(",") if p.strip()]
    countries = [p for p in parts if len(p) == 2 and p.isalpha()]
    airports = [p for p in parts if len(p) == 4 and p.isalnum()]
    return countries, airports


def render_bridge_map(doc: dict) -> tuple[str, list[str]]:
    """The SVG map and the notes on what it could not draw."""
    flights = doc.get("flights") or []
    notes: list[str] = []
    lines = [flight_lines(f) for f in flights]
    stops = _stops(flights)
    # a polygon's label is its file name: only its outline says where it is
    countries, dest_airports = ([], []) if doc.get("into_outline") else _destination_shapes(doc.get("into") or "")
    lons, lats = [], []
    for segs in lines:
        for s in segs:
            c = np.asarray(s["coordinates"], dtype=float).reshape(-1, 2)
            lons.append(c[:, 0])
            lats.append(c[:, 1])
    for item in stops.values():
        p = place(item["ref"])
        if p:
            lats.append(np.array([p[0]]))
            lons.append(np.array([p[1]]))
    for code in dest_airports:
        p = place({"icao": code})
        if p:
            lats.append(np.array([p[0]]))
            lons.append(np.array([p[1]]))
    shapes = country_layer("land")
    outline_geom = None
    if doc.get("into_outline"):
        from shapely.geometry import shape

        outline_geom = shape(doc["into_outline"])
        x0, y0, x1, y1 = outline_geom.bounds
        lons.append(np.array([x0, x1]))
        lats.append(np.array([y0, y1]))
    if not lons and shapes is not None:  # no flight: the destination alone
        for code in countries:
            if code in shapes:
                x0, y0, x1, y1 = shapes[code].bounds
                lons.append(np.array([x0, x1]))
                lats.append(np.array([y0, y1]))
    view = fit_view(np.concatenate(lons) if lons else np.array([]), np.concatenate(lats) if lats else np.array([]))
    w, h = view.width, view.height
    svg = [f'<svg class="map bridge-map" id="map-bridge" viewBox="0 0 {w:.1f} {h:.1f}" xmlns="http://www.w3.org/2000/svg" '
           f'role="img" aria-label="map of every inbound flight">',
           f'<rect class="sea" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>', '<g class="zoom">']
    if shapes is None:
        notes.append("Coastlines and borders are not drawn: the country shapes are not installed.")
    else:
        names = country_names()
        svg.append('<g class="lands">' + "".join(
            f'<path class="land" d="{d}"><title>{esc(code)} {esc(names.get(code, ""))}</title></path>'
            for code, geom in shapes.items() if (d := geometry_path(view, geom))) + "</g>")
        outline = []
        for code in countries:
            d = geometry_path(view, shapes[code]) if code in shapes else ""
            if d:
                outline.append(f'<path class="destination" data-country="{esc(code)}" d="{d}"><title>destination: '
                               f'{esc(code)} {esc(names.get(code, ""))}</title></path>')
        svg.append('<g class="destinations">' + "".join(outline) + "</g>")
    if outline_geom is not None:
        d = geometry_path(view, outline_geom)
        if d:
            svg.append(f'<g class="destinations"><path class="destination" data-polygon="{esc(doc.get("into"))}" d="{d}">'
                       f"<title>destination: {esc(doc.get('into'))}</title></path></g>")
    elif not countries and not dest_airports:
        notes.append(f"The destination {doc.get('into')} is a polygon file whose outline the document does not hold: "
                     "it is not drawn; the arrival airports are ringed.")
    svg.append(f'<g class="graticule">{graticule(view)}</g><g class="tracks">')
    palette = colours(flights)
    for k, (f, segs) in enumerate(zip(flights, lines), 1):
        colour = palette.get(f.get("from_country") or "unknown", UNKNOWN_COLOUR)
        name = f.get("registration") or f.get("icao24")
        parts = []
        for s in segs:
            c = np.asarray(s["coordinates"], dtype=float).reshape(-1, 2)
            title = esc(f"flight {k} ({name}), leg {s['leg']} of its chain: {s['evidence']} — {s.get('reason') or ''}")
            for x, y in runs(view, c[:, 0], c[:, 1]):
                if x.size >= 2:
                    parts.append(f'<polyline class="seg {esc(s["evidence"])}" stroke="{colour}" points="{pts(x, y)}">'
                                 f"<title>{title}</title></polyline>")
        if not parts:
            notes.append(f"Flight {k} ({name}) has no drawable line: its chain names no two airports with a position.")
        chain = " → ".join(c or "unknown" for c in f.get("chain") or [])
        svg.append(f'<g class="flight" data-flight="{k}" data-icao24="{esc(f.get("icao24"))}"><title>flight {k}: '
                   f'{esc(name)} {esc(chain)}</title>{"".join(parts)}</g>')
    svg.append("</g>")
    marks = []
    arrivals = {(f.get("arrival") or {}).get("icao") for f in flights} | set(dest_airports)
    for code in sorted(stops) + [c for c in dest_airports if c not in stops]:
        item = stops.get(code) or {"ref": {"icao": code}, "seen": []}
        where = place(item["ref"])
        if where is None:
            continue
        evidence = {e for _, e in item["seen"]}
        cls = "observed" if evidence == {"observed"} else ("inferred" if evidence else "unknown")
        x, y = view.xy([where[1]], [where[0]])
        ref = item["ref"]
        from tailwatch.geo.airports import airport

        city = (airport(code) or {}).get("city")
        seen = "; ".join(f"flight {k} {e}" for k, e in item["seen"]) or "named as the destination"
        ring = (f'<circle class="arrival-ring" cx="{x[0]:.1f}" cy="{y[0]:.1f}" r="9"/>' if code in arrivals else "")
        marks.append(f'<g class="stop {cls}{" arrival" if code in arrivals else ""}" data-icao="{esc(code)}">{ring}'
                     f'<circle cx="{x[0]:.1f}" cy="{y[0]:.1f}" r="4.5"/>'
                     f'<text x="{x[0] + 7:.1f}" y="{y[0] - 6:.1f}">{esc(code)}</text>'
                     + (f'<text class="city" x="{x[0] + 7:.1f}" y="{y[0] + 6:.1f}">{esc(city)}</text>' if city else "")
                     + f"<title>{esc(code)} {esc(ref.get('name') or '')} ({esc(ref.get('country') or '?')}): {esc(seen)}</title></g>")
    svg.append('<g class="stops">' + "".join(marks) + "</g></g></svg>")
    return "".join(svg) + _legend(palette, flights, bool(countries) or outline_geom is not None), notes


def _legend(palette: dict[str, str], flights: list[dict], outlined: bool) -> str:
    used = [c for c in palette if any((f.get("from_country") or "unknown") == c for f in flights)]
    items = [f'<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="{palette[c]}" '
             f'stroke-width="3"/></svg> from {esc(c)}</span>' for c in used]
    items += ['<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#333" stroke-width="3"/>'
              '</svg> observed track (points)</span>',
              '<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#333" stroke-width="2" '
              'stroke-dasharray="7 5"/></svg> inferred (no points)</span>',
              '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#111"/></svg> stop, observed</span>',
              '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#fff" stroke="#111" '
              'stroke-dasharray="2 2"/></svg> stop, inferred</span>',
              '<span><svg width="20" height="20"><circle cx="10" cy="10" r="8" fill="none" stroke="#b91c1c" '
              'stroke-width="2"/></svg> arrival airport</span>']
    if outlined:
        items.append('<span><svg width="18" height="12"><rect width="18" height="12" fill="#fde8e8" stroke="#b91c1c" '
                     'stroke-width="2"/></svg> destination</span>')
    return ('<div class="legend">' + "".join(items) + "<span>colour = country the chain began in · scroll to zoom, "
            "drag to pan, double-click to reset</span></div>")


__all__ = ["colours", "flight_lines", "render_bridge_map"]
