"""The overview of a report on several aircraft (`--all`, a watchlist): one table, one map, totals.

Why: a page of 213 aircraft used to be 213 sections one under the other, each with its own map,
and nothing said what the page held before the first of them. The overview comes first: a row per
aircraft (type, operator, list entries, legs, period, distance, barred airspace gone around or
crossed) linking to its section, the totals, and one map of every aircraft's tracks (each line
thinned to at most `MAX_VERTICES` vertices: an overview shows where, the sections show how).
Each aircraft's own section follows, collapsed, with its full map and tables.
"""

from __future__ import annotations

import numpy as np

from tailwatch.report.html.map import PALETTE
from tailwatch.report.html.projection import fit_view, geometry_path, graticule, pts, runs
from tailwatch.report.html.text import esc, km
from tailwatch.report.tracks import Segment, country_layer, country_names

MAX_VERTICES = 120  # per segment on the overview map


def _name(itin: dict) -> str:
    a = itin.get("aircraft") or {}
    return a.get("registration") or a.get("icao24") or "unknown aircraft"


def _period(legs: list[dict]) -> str:
    times = sorted(t for leg in legs for t in (leg.get("takeoff"), leg.get("landing"), leg.get("first_point"),
                                              leg.get("last_point")) if t)
    return f"{times[0][:16].replace('T', ' ')} – {times[-1][:16].replace('T', ' ')}" if times else "—"


def _thin(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if lon.size <= MAX_VERTICES:
        return lon, lat
    keep = np.unique(np.r_[np.linspace(0, lon.size - 1, MAX_VERTICES).astype(int), lon.size - 1])
    return lon[keep], lat[keep]


def render_overview_map(itins: list[dict], segments: list[list[Segment]]) -> str:
    """One map of every aircraft's tracks, coloured by aircraft, each line linking to its section."""
    thinned = [[(s, *_thin(s.lon, s.lat)) for s in segs] for segs in segments]
    lons = [lo for segs in thinned for _, lo, _ in segs]
    lats = [la for segs in thinned for _, _, la in segs]
    view = fit_view(np.concatenate(lons) if lons else np.array([]), np.concatenate(lats) if lats else np.array([]))
    w, h = view.width, view.height
    svg = [f'<svg class="map overview" id="map-overview" viewBox="0 0 {w:.1f} {h:.1f}" xmlns="http://www.w3.org/2000/svg" '
           f'role="img" aria-label="map of every aircraft\'s tracks">',
           f'<rect class="sea" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>', '<g class="zoom">']
    shapes = country_layer("land")
    if shapes is not None:
        names = country_names()
        svg.append('<g class="lands">' + "".join(
            f'<path class="land" d="{d}"><title>{esc(code)} {esc(names.get(code, ""))}</title></path>'
            for code, geom in shapes.items() if (d := geometry_path(view, geom))) + "</g>")
    svg.append(f'<g class="graticule">{graticule(view)}</g><g class="tracks">')
    for k, (itin, segs) in enumerate(zip(itins, thinned)):
        colour = PALETTE[k % len(PALETTE)]
        lines = []
        for seg, lo, la in segs:
            for x, y in runs(view, lo, la):
                if x.size >= 2:
                    lines.append(f'<polyline class="seg {seg.evidence}" stroke="{colour}" points="{pts(x, y)}"/>')
        if lines:
            svg.append(f'<a href="#aircraft-{k}"><g data-aircraft="{k}"><title>{esc(_name(itin))}: '
                       f'{len(itin.get("legs") or [])} legs</title>{"".join(lines)}</g></a>')
    svg.append("</g></g></svg>")
    return "".join(svg)


def render_overview(itins: list[dict], segments: list[list[Segment]]) -> str:
    """The overview section: totals, one map, one row per aircraft."""
    rows = []
    total_legs = total_km = 0
    around: list[str] = []
    crossed: list[str] = []
    for k, itin in enumerate(itins):
        a = itin.get("aircraft") or {}
        legs = itin.get("legs") or []
        route = itin.get("route") or {}
        flown = route.get("flown_km_all_legs", route.get("flown_km"))
        total_legs += len(legs)
        total_km += float(flown or 0.0)
        around += [c for c in route.get("avoided") or [] if c not in around]
        crossed += [c for c in route.get("crossed_barred") or [] if c not in crossed]
        lists = ", ".join(dict.fromkeys(str(w.get("list")) for w in a.get("watchlists") or [] if w.get("list")))
        rows.append(
            f'<tr><td>{k + 1}</td><td><a href="#aircraft-{k}">{esc(_name(itin))}</a><br><small>{esc(a.get("icao24") or "")}</small></td>'
            f"<td>{esc(a.get('typecode') or 'unknown')}</td><td>{esc(a.get('operator') or 'unknown')}</td>"
            f"<td>{esc(lists) or '—'}</td><td>{len(legs)}</td><td><small>{esc(_period(legs))}</small></td>"
            f"<td>{km(flown)}</td><td class=\"bn\">{esc(', '.join(route.get('avoided') or [])) or '—'}</td>"
            f"<td class=\"bn\">{esc(', '.join(route.get('crossed_barred') or [])) or '—'}</td></tr>")
    head = ("<tr><th>#</th><th>aircraft</th><th>type</th><th>operator</th><th>lists</th><th>legs</th>"
            "<th>period (UTC)</th><th>flown</th><th>went around</th><th>crossed</th></tr>")
    totals = (f"<p class=\"lede\">{len(itins)} aircraft, {total_legs:,} legs, {total_km:,.0f} km flown. "
              + (f"Barred airspace gone around: {esc(', '.join(around))}. " if around else "")
              + (f"Barred airspace crossed: {esc(', '.join(crossed))}. " if crossed else "")
              + "Each aircraft's map, legs and evidence are in its section below (click a row or a track).</p>")
    return (f'<section class="overview" id="overview"><h2>Overview</h2>{totals}{render_overview_map(itins, segments)}'
            f'<table class="aircraft-list">{head}{"".join(rows)}</table></section>')


__all__ = ["render_overview", "render_overview_map"]
