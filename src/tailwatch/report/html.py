"""Itineraries as one self-contained HTML page: map, altitude profile, legs, identity, method.

The page opens offline and makes no request: the map is inline SVG drawn here from
the packaged country polygons (`tailwatch.geo.countries`) in an equirectangular
projection fitted to the itinerary (longitudes unwrapped round the emptiest
meridian, so a track over the antimeridian never draws a line across the map);
a Content-Security-Policy forbids any fetch. No JS mapping library is bundled:
a tile-less Leaflet would only add weight; `assets/report.js` (twenty lines,
inlined with `assets/report.css`) gives pan/zoom and leg highlighting. Every
figure shown comes from the itinerary JSON or the points frame, and each leg
states its point count and time range.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.report.tracks import (
    Segment,
    country_layer,
    country_names,
    iso,
    leg_label,
    route_text,
    leg_points,
    leg_segments,
    legal_paths,
    notice_of,
    parse_time,
    place,
)

MAP_WIDTH = 1000.0
PALETTE = ["#1f6fd0", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#1e3a8a"]
MAX_VERTICES_PER_SEGMENT = 4000


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    """A file of report/assets, inlined into the page (the page loads nothing)."""
    return (resources.files("tailwatch.report") / "assets" / name).read_text(encoding="utf-8")


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _km(v) -> str:
    return "unknown" if v is None else f"{float(v):,.0f} km"


# ---------------------------------------------------------------- projection

@dataclass
class View:
    """Equirectangular projection fitted to a box of unwrapped longitudes."""

    lon0: float
    west: float
    east: float
    south: float
    north: float
    kx: float
    scale: float

    @property
    def width(self) -> float:
        return (self.east - self.west) * self.kx * self.scale

    @property
    def height(self) -> float:
        return (self.north - self.south) * self.scale

    def unwrap(self, lon) -> np.ndarray:
        return (np.asarray(lon, dtype=float) - self.lon0 + 180.0) % 360.0 - 180.0 + self.lon0

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        x = (self.unwrap(lon) - self.west) * self.kx * self.scale
        y = (self.north - np.asarray(lat, dtype=float)) * self.scale
        return x, y


def fit_view(lons: np.ndarray, lats: np.ndarray) -> View:
    """A view holding every position with a margin; its seam lies in the widest empty meridian band."""
    lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    if lons.size == 0:
        return View(0.0, -180.0, 180.0, -60.0, 75.0, 1.0, MAP_WIDTH / 360.0)
    ring = np.unique(np.mod(lons, 360.0))
    gaps = np.diff(np.r_[ring, ring[0] + 360.0])
    i = int(np.argmax(gaps))
    start = ring[(i + 1) % ring.size]  # the positions span [start, start + 360 - widest gap]
    span = 360.0 - gaps[i]
    lon0 = (start + span / 2.0 + 180.0) % 360.0 - 180.0
    u = (lons - lon0 + 180.0) % 360.0 - 180.0 + lon0
    west, east = float(u.min()), float(u.max())
    south, north = float(lats.min()), float(lats.max())
    pad_x = max(3.0, 0.08 * (east - west))
    pad_y = max(3.0, 0.10 * (north - south))
    west, east = west - pad_x, east + pad_x
    south, north = max(-85.0, south - pad_y), min(85.0, north + pad_y)
    kx = max(0.35, math.cos(math.radians((south + north) / 2.0)))
    # keep a readable aspect: height between 0.4 and 0.75 of the width
    ratio = (north - south) / ((east - west) * kx)
    if ratio > 0.75:
        extra = ((north - south) / 0.75 / kx - (east - west)) / 2.0
        west, east = west - extra, east + extra
    elif ratio < 0.4:
        extra = ((east - west) * kx * 0.4 - (north - south)) / 2.0
        south, north = max(-85.0, south - extra), min(85.0, north + extra)
    if east - west > 360.0:
        west, east = lon0 - 180.0, lon0 + 180.0
    return View(lon0, west, east, south, north, kx, MAP_WIDTH / ((east - west) * kx))


def _pts(x: np.ndarray, y: np.ndarray) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))


def _runs(view: View, lon: np.ndarray, lat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Projected pieces of a polyline, broken where it crosses the view's seam."""
    if lon.size > MAX_VERTICES_PER_SEGMENT:
        keep = np.unique(np.r_[np.arange(0, lon.size, math.ceil(lon.size / MAX_VERTICES_PER_SEGMENT)), lon.size - 1])
        lon, lat = lon[keep], lat[keep]
    u = view.unwrap(lon)
    cuts = np.nonzero(np.abs(np.diff(u)) > 180.0)[0] + 1
    out = []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, u.size]):
        if b - a >= 1:
            out.append(view.xy(lon[a:b], lat[a:b]))
    return out


# ---------------------------------------------------------------- land

def _geometry_path(view: View, geom) -> str:
    """SVG path data of a (multi)polygon, clipped to the view, copies shifted by ±360° as needed."""
    import shapely

    parts = []
    tol = (view.east - view.west) / 1500.0
    for shift in (-360.0, 0.0, 360.0):
        minx, miny, maxx, maxy = geom.bounds
        if maxx + shift < view.west - 1 or minx + shift > view.east + 1 or maxy < view.south - 1 or miny > view.north + 1:
            continue
        g = shapely.transform(geom, lambda c, s=shift: c + np.array([s, 0.0])) if shift else geom
        g = shapely.clip_by_rect(g, view.west - 1, view.south - 1, view.east + 1, view.north + 1)
        if g.is_empty:
            continue
        g = g.simplify(tol, preserve_topology=False)
        for poly in getattr(g, "geoms", [g]):
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                c = np.asarray(ring.coords)
                if c.shape[0] < 4:
                    continue
                x = (c[:, 0] - view.west) * view.kx * view.scale
                y = (view.north - c[:, 1]) * view.scale
                parts.append("M" + " ".join(f"{a:.1f} {b:.1f}" for a, b in zip(x, y)) + "Z")
    return "".join(parts)


# ---------------------------------------------------------------- map

def _graticule(view: View) -> str:
    span = max(view.east - view.west, view.north - view.south)
    step = next(s for s in (1, 2, 5, 10, 15, 20, 30, 45) if span / s <= 14)
    out = []
    for lon in np.arange(math.ceil(view.west / step) * step, view.east + 1e-9, step):
        x = (lon - view.west) * view.kx * view.scale
        label = (lon + 180.0) % 360.0 - 180.0
        out.append(f'<line class="grat" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{view.height:.1f}"/>'
                   f'<text class="gl" x="{x + 2:.1f}" y="{view.height - 4:.1f}">{abs(label):g}°{"E" if label > 0 else "W" if label < 0 else ""}</text>')
    for lat in np.arange(math.ceil(view.south / step) * step, view.north + 1e-9, step):
        y = (view.north - lat) * view.scale
        out.append(f'<line class="grat" x1="0" y1="{y:.1f}" x2="{view.width:.1f}" y2="{y:.1f}"/>'
                   f'<text class="gl" x="3" y="{y - 2:.1f}">{abs(lat):g}°{"N" if lat > 0 else "S" if lat < 0 else ""}</text>')
    return "".join(out)


def _stops(itin: dict) -> list[dict]:
    """Each airport visited, with the evidence of arriving and leaving and the ground time."""
    legs = itin.get("legs") or []
    out = []
    for i, leg in enumerate(legs):
        if i == 0:
            out.append({"ref": leg.get("origin"), "arrive": None, "arrive_evidence": None, "leg_in": None,
                        "depart": leg.get("takeoff"), "depart_evidence": leg.get("origin_evidence"), "leg_out": i})
        nxt = legs[i + 1] if i + 1 < len(legs) else None
        same = nxt is not None and (nxt.get("origin") or {}).get("icao") == (leg.get("destination") or {}).get("icao")
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
    legal = legal_paths(itin)
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
    banned = sorted({c for leg in itin.get("legs") or [] for c in (leg.get("banned_countries") or [])})
    if shapes is None:
        notes.append("Coastlines and borders are not drawn: the country shapes are not installed.")
    else:
        names = country_names()
        land = [f'<path class="land" d="{d}"><title>{esc(code)} {esc(names.get(code, ""))}</title></path>'
                for code, geom in shapes.items() if (d := _geometry_path(view, geom))]
        svg.append('<g class="lands">' + "".join(land) + "</g>")
        shade = []
        airspace = (country_layer("airspace") or shapes) if banned else shapes
        for code in banned:
            geom = airspace.get(code, shapes.get(code))
            d = _geometry_path(view, geom) if geom is not None else ""
            if d:
                shade.append(f'<path class="banned" fill="url(#hatch-{key})" d="{d}"><title>{esc(code)} '
                             f'{esc(names.get(code, ""))}: airspace banned for the operator</title></path>')
            else:
                notes.append(f"Banned airspace {code} is not drawn (no shape for it, or outside the map).")
        svg.append('<g class="bans">' + "".join(shade) + "</g>")
    if banned and shapes is None:
        notes.append("Banned airspace (" + ", ".join(banned) + ") is listed in the table but not shaded.")
    svg.append(f'<g class="graticule">{_graticule(view)}</g>')
    if legal:
        parts = []
        for leg, lo, la in legal:
            for x, y in _runs(view, lo, la):
                parts.append(f'<polyline class="legal" points="{_pts(x, y)}"><title>legal shortest route'
                             f'{"" if leg is None else f" for leg {leg + 1}"}</title></polyline>')
        svg.append('<g class="legal-route">' + "".join(parts) + "</g>")
    elif (itin.get("route") or {}).get("legal_shortest_km") is not None:
        notes.append("The legal shortest route has a length but no geometry in the itinerary; it is not drawn.")
    tracks = []
    for seg in segments:
        colour = PALETTE[seg.leg % len(PALETTE)]
        title = esc(f"leg {seg.leg + 1}: {seg.evidence} — {seg.reason}, {iso(seg.time[0]) or '?'} to {iso(seg.time[-1]) or '?'}")
        for x, y in _runs(view, seg.lon, seg.lat):
            if x.size < 2:
                continue
            tracks.append(f'<polyline class="seg {seg.evidence}" data-leg="{seg.leg}" stroke="{colour}" '
                          f'points="{_pts(x, y)}"><title>{title}</title></polyline>')
    svg.append('<g class="tracks">' + "".join(tracks) + "</g>")
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
        marks.append(f'<g class="stop {s["evidence"]}" data-legs="{legs_attr}"><circle cx="{x[0]:.1f}" cy="{y[0]:.1f}" r="5"/>'
                      f'<text x="{x[0] + 7:.1f}" y="{y[0] - 6:.1f}">{esc(code)}</text><title>{title}</title></g>')
    svg.append('<g class="stops">' + "".join(marks) + "</g></g></svg>")
    return "".join(svg), notes


# ---------------------------------------------------------------- altitude profile

def _panel_span(leg: dict, segs: list[Segment]) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """A leg's time span for its profile panel, widened where an inferred end has no time."""
    ts = [t for s in segs for t in (s.time[0], s.time[-1]) if not np.isnat(t)]
    ts += [t for t in (parse_time(leg.get("takeoff")), parse_time(leg.get("landing"))) if t is not None]
    if not ts:
        return None, None
    t0, t1 = min(ts), max(ts)
    pad = max(np.timedelta64(20 * 60, "s"), (t1 - t0) / 4)
    if any(s.evidence == "inferred" and np.isnat(s.time[0]) for s in segs):
        t0 = t0 - pad
    if any(s.evidence == "inferred" and np.isnat(s.time[-1]) for s in segs):
        t1 = t1 + pad
    return t0, t1


def render_profile(itin: dict, by_leg: list[list[Segment]], key: str = "0") -> str:
    """Small multiples: one panel per leg (take-off to landing), hatched where there are no points."""
    legs = itin.get("legs") or []
    if not legs:
        return ""
    spans = [_panel_span(leg, segs) for leg, segs in zip(legs, by_leg)]
    top = 10000.0
    for segs in by_leg:
        for s in segs:
            if s.altitude is not None and np.any(~np.isnan(s.altitude)):
                top = max(top, float(np.nanmax(s.altitude)))
    top = math.ceil(top / 5000.0) * 5000.0
    width, height, left, plot_top, plot_h, sep = MAP_WIDTH, 215.0, 46.0, 8.0, 160.0, 6.0
    durations = np.array([max(60.0, float((b - a).astype("timedelta64[s]").astype(np.int64))) if a is not None else 3600.0
                          for a, b in spans])
    avail = width - left - sep * (len(legs) - 1)
    widths = np.maximum(8.0, avail * durations / durations.sum())
    widths *= avail / widths.sum()
    out = [f'<svg class="profile" viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg" role="img" '
           'aria-label="altitude over time, one panel per leg">',
           f'<defs><pattern id="gaphatch-{key}" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<line x1="0" y1="0" x2="0" y2="5" stroke="#888" stroke-width="1.5"/></pattern></defs>']
    for alt in np.arange(0, top + 1, 10000 if top > 20000 else 5000):
        y = plot_top + plot_h * (1 - alt / top)
        out.append(f'<line class="grid" x1="{left:.0f}" y1="{y:.1f}" x2="{width:.0f}" y2="{y:.1f}"/>'
                   f'<text class="ax" x="{left - 4:.0f}" y="{y + 3:.1f}" text-anchor="end">{alt / 1000:g}k ft</text>')
    x0 = left
    for i, ((a, b), segs, w) in enumerate(zip(spans, by_leg, widths)):
        colour = PALETTE[i % len(PALETTE)]
        leg = legs[i]
        out.append(f'<g class="panel" data-leg="{i}"><rect class="frame" x="{x0:.1f}" y="{plot_top}" width="{w:.1f}" height="{plot_h}"/>')

        def hatch(xa: float, xb: float, why: str) -> None:
            out.append(f'<rect class="gap" fill="url(#gaphatch-{key})" x="{min(xa, xb):.1f}" y="{plot_top}" '
                       f'width="{max(1.5, abs(xb - xa)):.1f}" height="{plot_h}"><title>{esc(why)}</title></rect>')

        if a is None or b is None or b <= a:
            hatch(x0, x0 + w, f"leg {i + 1}: no points and no times (inferred)")
        else:
            def tx(t, x0=x0, w=w, a=a, b=b):
                return x0 + w * ((t - a) / (b - a))

            if not any(s.evidence == "observed" for s in segs):
                hatch(x0, x0 + w, f"leg {i + 1}: no points (inferred)")
            for s in segs:
                if s.evidence == "inferred" or s.altitude is None:
                    ta = a if np.isnat(s.time[0]) else s.time[0]
                    tb = b if np.isnat(s.time[-1]) else s.time[-1]
                    unknown = " (time unknown)" if np.isnat(s.time[0]) or np.isnat(s.time[-1]) else ""
                    hatch(float(tx(ta)), float(tx(tb)), f"leg {i + 1}: {s.reason}{unknown}, inferred")
                    continue
                good = ~np.isnan(s.altitude)
                if good.sum() < 1:
                    continue
                xs = tx(s.time[good]).astype(float)
                ys = plot_top + plot_h * (1 - np.clip(s.altitude[good], 0, top) / top)
                if xs.size > 1500:
                    k = math.ceil(xs.size / 1500)
                    xs, ys = xs[::k], ys[::k]
                out.append(f'<polyline class="alt" stroke="{colour}" points="{_pts(xs, ys)}">'
                           f'<title>{esc(f"leg {i + 1}: {s.reason} observed")}</title></polyline>')
        label = f"{i + 1} {leg_label(leg)}" if w > 110 else f"{i + 1}"
        out.append(f'<text class="lx" x="{x0 + w / 2:.1f}" y="{plot_top + plot_h + 14:.0f}" text-anchor="middle">{esc(label)}</text>')
        if w > 110 and a is not None:
            when = str(np.datetime_as_string(a, unit="m"))[5:].replace("T", " ")
            out.append(f'<text class="tx" x="{x0 + 1:.1f}" y="{plot_top + plot_h + 27:.0f}">{esc(when)}</text>')
        span_text = f"leg {i + 1} {leg_label(leg)}: {iso(a) or '?'} to {iso(b) or '?'}"
        out.append(f"<title>{esc(span_text)}</title></g>")
        x0 += w + sep
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- tables and text

def _badge(evidence: str | None) -> str:
    ev = evidence or "unknown"
    return f'<span class="ev {esc(ev)}">{esc(ev)}</span>'


def _airport(ref: dict | None) -> str:
    if not ref:
        return "unknown"
    return (f'<b>{esc(ref.get("icao") or ref.get("iata") or "?")}</b> {esc(ref.get("name") or "")}'
            f' <span class="cc">{esc(ref.get("country") or "")}</span>')


def render_legs_table(itin: dict, frames: list[pl.DataFrame]) -> str:
    head = ("<tr><th>#</th><th>take-off (UTC)</th><th>landing (UTC)</th><th>from</th><th>to</th><th>confidence</th>"
            "<th>points (first – last)</th><th>great circle / flown</th><th>countries (* inferred)</th><th>banned</th>"
            "<th>max payload</th></tr>")
    rows = []
    for i, (leg, frame) in enumerate(zip(itin.get("legs") or [], frames)):
        colour = PALETTE[i % len(PALETTE)]
        conf = leg.get("confidence")
        band = leg.get("payload_band_t")
        payload = "unknown" if leg.get("max_payload_t") is None else f"{leg['max_payload_t']:.1f} t"
        if band and None not in band:
            payload += f" ({band[0]:.0f}–{band[1]:.0f} t)"
        gaps = leg.get("gaps") or []
        n_points = leg.get("n_points", frame.height)
        first = leg.get("first_point") or (iso(frame["timestamp"].min()) if frame.height else None)
        last = leg.get("last_point") or (iso(frame["timestamp"].max()) if frame.height else None)
        rows.append(
            f'<tr class="leg" data-leg="{i}"><td><span class="sw" style="background:{colour}"></span>{i + 1}</td>'
            f"<td>{esc(leg.get('takeoff') or 'unknown')}</td><td>{esc(leg.get('landing') or 'unknown')}</td>"
            f"<td>{_airport(leg.get('origin'))}<br>{_badge(leg.get('origin_evidence'))}</td>"
            f"<td>{_airport(leg.get('destination'))}<br>{_badge(leg.get('destination_evidence'))}</td>"
            f"<td>{'unknown' if conf is None else f'{float(conf):.2f}'}</td>"
            f"<td>{n_points:,}<br><small>{esc(first or '—')}<br>{esc(last or '—')}</small>"
            f"{f'<br><small>{len(gaps)} gap(s)</small>' if gaps else ''}</td>"
            f"<td>{_km(leg.get('great_circle_km'))}<br>{_km(leg.get('flown_km'))}</td>"
            f"<td>{_countries(leg)}</td>"
            f"<td class=\"bn\">{esc(', '.join(leg.get('banned_countries') or [])) or '—'}</td>"
            f"<td>{esc(payload)}</td></tr>"
            f'<tr class="why" data-leg="{i}"><td></td><td colspan="10"><b>Why:</b> <ul>'
            f"{''.join(f'<li>{esc(r)}</li>' for r in leg.get('reasons') or []) or '<li>no reasons given</li>'}</ul>"
            f"{_alternatives(leg)}</td></tr>")
    return f'<table class="legs">{head}{"".join(rows)}</table>'


def _countries(leg: dict) -> str:
    """Countries crossed, inferred crossings marked, entry/exit times in the tooltip."""
    crossings = leg.get("crossings")
    if not crossings:
        codes = leg.get("countries")
        return esc(", ".join(codes)) if codes else "<i>not computed</i>"
    out = []
    for c in crossings:
        ev = c.get("evidence") or "unknown"
        title = esc(f"{c.get('country')}: entry {c.get('entry') or '?'} ({c.get('entry_evidence') or '?'}), "
                    f"exit {c.get('exit') or '?'} ({c.get('exit_evidence') or '?'}), "
                    f"{c.get('observed_points', 0)} observed points")
        cls = "ci" if ev != "observed" else "co"
        out.append(f'<span class="{cls}" title="{title}">{esc(c.get("country"))}{"*" if ev != "observed" else ""}</span>')
    return ", ".join(out)


def _alternatives(leg: dict) -> str:
    """Runner-up airports the builder scored, per end of the leg."""
    alts = [a for a in leg.get("alternatives") or [] if isinstance(a, dict)]
    if not alts:
        return ""
    parts = []
    for end in dict.fromkeys(a.get("end") for a in alts):
        items = ", ".join(
            f"{esc(a.get('icao') or '?')} {esc(a.get('name') or '')}"
            + (f" ({float(a['score']):.2f})" if a.get("score") is not None else "")
            for a in alts if a.get("end") == end)
        parts.append(f"runners-up{f' for the {esc(end)}' if end else ''}: {items}")
    return "<small>" + "; ".join(parts) + "</small>"


def render_stops_table(itin: dict) -> str:
    rows = []
    for s in _stops(itin):
        ground = ""
        a, d = parse_time(s["arrive"]), parse_time(s["depart"])
        if a is not None and d is not None:
            hours = float((d - a).astype("timedelta64[m]").astype(np.int64)) / 60.0
            ground = f"{hours:,.1f} h"
        rows.append(f"<tr><td>{_airport(s['ref'])}</td><td>{esc(s['arrive'] or '—')} {_badge(s['arrive_evidence']) if s['arrive_evidence'] else ''}</td>"
                    f"<td>{esc(s['depart'] or '—')} {_badge(s['depart_evidence']) if s['depart_evidence'] else ''}</td><td>{ground or '—'}</td></tr>")
    return ('<table class="stops"><tr><th>airport</th><th>arrival (UTC)</th><th>departure (UTC)</th><th>on the ground</th></tr>'
            + "".join(rows) + "</table>")


def render_identity(itin: dict) -> str:
    a = itin.get("aircraft") or {}
    keys = ["icao24", "registration", "typecode", "country", "operator", "owner", "model", "source"]
    keys += [k for k in a if k not in keys and k != "watchlists" and not isinstance(a[k], (list, dict))]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(a.get(k)) if a.get(k) is not None else '<i>unknown</i>'}</td></tr>"
                   for k in keys if k in a or k in ("icao24", "registration", "typecode", "country"))
    lists = a.get("watchlists") or []
    if lists:
        cols = ["list", "id"] + sorted({k for e in lists for k in e} - {"list", "id"})
        body = "".join("<tr>" + "".join(f"<td>{_cell(e.get(c))}</td>" for c in cols) + "</tr>" for e in lists)
        entries = f'<table class="lists"><tr>{"".join(f"<th>{esc(c)}</th>" for c in cols)}</tr>{body}</table>'
    else:
        entries = "<p>No watch-list entry names this aircraft.</p>"
    return f'<table class="ident">{rows}</table><h4>List entries</h4>{entries}'


def _cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str) and v.startswith(("http://", "https://")):
        return f'<span class="url">{esc(v)}</span>'  # shown, not linked: the page makes no request
    if isinstance(v, (list, tuple)):
        return esc(", ".join(map(str, v)))
    return esc(v)


def _legal_shortest(route: dict, legs: list[dict]) -> str:
    """The route's legal shortest length; for a round trip (no single origin–destination pair)
    the sum of the legs' own legal shortest paths, when every leg has one."""
    if route.get("legal_shortest_km") is not None:
        return f"legal shortest {_km(route['legal_shortest_km'])}"
    per_leg = [leg.get("legal_shortest_km") for leg in legs]
    if per_leg and all(v is not None for v in per_leg):
        return f"legal shortest leg by leg {_km(sum(per_leg))}"
    return "legal shortest not computed"


def render_summary(itin: dict, frame: pl.DataFrame | None) -> str:
    legs = itin.get("legs") or []
    route = itin.get("route") or {}
    obs = sum(1 for l in legs for e in (l.get("origin_evidence"), l.get("destination_evidence")) if e == "observed")
    ends = 2 * len(legs)
    times = [t for l in legs for t in (l.get("takeoff"), l.get("landing")) if t]
    items = [
        f"<li><b>{len(legs)}</b> legs, {esc(min(times)) if times else '?'} to {esc(max(times)) if times else '?'}; "
        f"{obs} of {ends} take-off/landing ends observed, {ends - obs} inferred or unknown.</li>",
        f"<li>Route: {esc(route_text(itin)) or 'unknown'}.</li>",
        f"<li>{_direct(route)}, flown {_km(route.get('flown_km'))}, {_legal_shortest(route, legs)}.</li>",
    ]
    if route.get("detour"):
        items.append(f"<li>{esc(route['detour'])}</li>")
    if frame is not None and frame.height:
        sources = ", ".join(f"{s} ({n:,})" for s, n in frame.group_by("source").len().sort("source").iter_rows()) \
            if "source" in frame.columns else "unknown"
        items.append(f"<li>{frame.height:,} positions from {esc(iso(frame['timestamp'].min()))} to "
                     f"{esc(iso(frame['timestamp'].max()))}; sources: {esc(sources)}.</li>")
    airlift = itin.get("airlift")
    if isinstance(airlift, dict) and airlift:
        items.append(f"<li>{_airlift_text(airlift, legs)}</li>")
    return "<ul class=\"summary\">" + "".join(items) + "</ul>"


def _direct(route: dict) -> str:
    codes = [c for c in route.get("airports") or [] if c]
    if len(codes) >= 2 and codes[0] == codes[-1]:
        return f"Round trip from {esc(codes[0])} (no direct distance)"
    return f"Direct {_km(route.get('direct_km'))}"


def _airlift_text(airlift: dict, legs: list[dict]) -> str:
    """The airlift summary in words, from the fields the airlift step writes (`limiting_leg` is 0-based)."""
    if not airlift.get("known", True):
        return f"Airlift: {esc(airlift.get('note') or 'no payload data for this type')}."
    parts = [f"Airlift ({esc(airlift.get('evidence') or 'inferred')}): {esc(airlift.get('type_name') or airlift.get('type') or '')}"]
    if airlift.get("end_to_end_max_t") is not None:
        band = airlift.get("end_to_end_band_t") or [None, None]
        band_text = f" (band {band[0]:.0f}–{band[1]:.0f} t)" if None not in band else ""
        limiting = airlift.get("limiting_leg")
        which = ""
        if isinstance(limiting, int) and 0 <= limiting < len(legs):
            which = f", limited by leg {limiting + 1} ({esc(leg_label(legs[limiting]))})"
        parts.append(f"at most {airlift['end_to_end_max_t']:.1f} t{band_text} could have been carried on every leg{which}")
    elif airlift.get("note"):
        parts.append(esc(airlift["note"]))
    if airlift.get("reserve_policy"):
        parts.append(f"reserves: {esc(airlift['reserve_policy'])}")
    if airlift.get("max_payload_source"):
        parts.append(f"source: {esc(airlift['max_payload_source'])}")
    return "; ".join(parts) + "."


METHOD = """
<ul>
<li><b>Observed</b> means the aircraft's own positions show it: a take-off or landing is observed when points reach
the airport; a track is drawn solid only where consecutive points exist.</li>
<li><b>Inferred</b> means reasoned over a gap in coverage: dashed lines are great circles between the last point before a
gap and the first after it (or to an airport the points do not reach). The aircraft did not necessarily fly there.
Each inferred airport carries the reasons and runner-up airports listed in the legs table.</li>
<li><b>Confidence</b> (0–1) is the itinerary builder's score for the leg's two ends; read it with the reasons, not alone.</li>
<li>Absence of points is not absence of flight: receivers cover land unevenly and oceans and deserts hardly at all;
transponders can be switched off; positions can be spoofed or jammed. A leg may hide an unobserved stop.</li>
<li><b>Countries</b> are the airspaces (land plus 12 NM territorial sea) the drawn track crosses, inferred parts included;
<b>banned</b> lists the airspaces closed to the operator's country according to the packaged ban table (with its sources and dates).</li>
<li><b>Max payload</b> is the type's payload–range figure for the leg's great-circle distance from sourced type data;
it is an upper bound, not a measured load. "unknown" means no source gives the figure.</li>
<li>Times are UTC. Figures come from the itinerary JSON (schema tailwatch.itinerary/1) and the points listed per leg.</li>
</ul>"""


LEGEND = """<div class="legend">
<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#1f6fd0" stroke-width="3"/></svg> observed track (points)</span>
<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#1f6fd0" stroke-width="2" stroke-dasharray="7 5"/></svg> inferred (no points)</span>
<span><svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#111"/></svg> stop, observed</span>
<span><svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#fff" stroke="#111" stroke-dasharray="2 2"/></svg> stop, inferred</span>
<span><svg width="18" height="12"><rect width="18" height="12" fill="#f7d9d5" stroke="#c0392b"/></svg> banned airspace for the operator</span>
<span><svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="#111" stroke-width="1"/></svg> legal shortest route</span>
<span>colour = leg (see table) · scroll to zoom, drag to pan, double-click to reset</span>
</div>"""


def _notes(itin: dict) -> str:
    """Notes the itinerary builder left (type figures used, registrations, data limits)."""
    notes = [n for n in itin.get("notes") or [] if n]
    type_note = (itin.get("type") or {}).get("note")
    if type_note:
        notes.append(type_note)
    if not notes:
        return ""
    return "<h3>Notes from the itinerary builder</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def render_simulation(itin: dict) -> str:
    """For simulated itineraries: what the simulator flew, to judge the rebuilt legs against."""
    sim = itin.get("simulation")
    if not isinstance(sim, dict):
        return ""
    rows = "".join(f"<tr><td>{i + 1}</td><td>{esc(l.get('origin'))}</td><td>{esc(l.get('destination'))}</td>"
                   f"<td>{esc(l.get('takeoff'))}</td><td>{esc(l.get('landing'))}</td></tr>"
                   for i, l in enumerate(sim.get("legs") or []))
    outages = "".join(f"<li>{esc(k)} offline {esc(' to '.join(v))}</li>" for k, v in (sim.get("receiver_outages") or {}).items())
    return (f"<h3>Simulated truth (what the simulator flew)</h3><p>{esc(sim.get('notice') or '')}. "
            f"{esc(sim.get('receivers') or '?')} simulated receivers. The rebuilt route matches the simulated one at "
            f"{esc(sim.get('matching_airports'))} of {len(sim.get('route') or [])} airports.</p>"
            + (f"<ul>{outages}</ul>" if outages else "")
            + '<table class="truth"><tr><th>#</th><th>from</th><th>to</th><th>take-off (UTC)</th><th>landing (UTC)</th></tr>'
            + rows + "</table>")


def _hiding(itin: dict, frame: pl.DataFrame | None) -> str:
    """Went dark / position withheld (report/hiding.py), when the itinerary has any."""
    from tailwatch.report.hiding import render_timeline

    return render_timeline(itin, frame)


def render_aircraft(itin: dict, frame: pl.DataFrame | None, key: str) -> str:
    a = itin.get("aircraft") or {}
    legs = itin.get("legs") or []
    frames = [leg_points(frame, leg, i) for i, leg in enumerate(legs)]
    by_leg = [leg_segments(leg, f, i) for i, (leg, f) in enumerate(zip(legs, frames))]
    segments = [s for segs in by_leg for s in segs]
    name = " · ".join(v for v in (a.get("registration"), a.get("icao24"), a.get("typecode")) if v) or "unknown aircraft"
    svg, notes = render_map(itin, segments, key)
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (f'<section class="aircraft" id="aircraft-{key}"><h2>{esc(name)}</h2>{render_summary(itin, frame)}'
            f"<h3>Map</h3>{svg}{LEGEND}{notes_html}"
            f"<h3>Altitude over time</h3><p><small>One panel per leg, from take-off to landing (ground time between legs is "
            f"not to scale). Lines are observed altitudes; hatched areas have no points (inferred).</small></p>"
            f"{render_profile(itin, by_leg, key)}"
            f'<h3>Legs</h3>{render_legs_table(itin, frames)}<h3>Stops</h3>{render_stops_table(itin)}'
            f"{_hiding(itin, frame)}"
            f"{render_simulation(itin)}"
            f"<h3>Identity and list entries</h3>{render_identity(itin)}{_notes(itin)}</section>")


def render_html(itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None,
                title: str | None = None) -> str:
    """The whole page as a string (one section per aircraft)."""
    notice = notice_of(itins, notice, points)
    names = [(i.get("aircraft") or {}).get("registration") or (i.get("aircraft") or {}).get("icao24") or "?" for i in itins]
    title = title or ("tailwatch itinerary: " + ", ".join(names))
    if notice:
        title = "SIMULATED — " + title if "simulat" in notice.lower() else title
    banner = f'<div class="notice" role="alert">{esc(notice)}</div>' if notice else ""
    sections = "".join(render_aircraft(itin, points.get((itin.get("aircraft") or {}).get("icao24") or ""), str(k))
                       for k, itin in enumerate(itins))
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{_asset('report.css')}</style></head><body>{banner}<main><h1>{esc(title)}</h1>{sections}"
            f"<h2>Method and caveats</h2>{METHOD}"
            f"<footer>{esc(notice) + ' · ' if notice else ''}Generated by tailwatch from the itinerary JSON "
            f"(tailwatch.itinerary/1). Self-contained: this page loads nothing from the network.</footer>"
            f"</main>{banner}<script>{_asset('report.js')}</script></body></html>")


def write_html(itins: list[dict], points: dict[str, pl.DataFrame], path: Path, notice: str | None = None) -> list[Path]:
    """Write the page; returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(itins, points, notice), encoding="utf-8")
    return [path]
