"""Itineraries as OGC KML 2.2 for Google Earth: a folder per leg, a timestamped gx:Track per observed run.

Built with the standard library's ElementTree (no runtime dependency): each leg's
folder holds its observed runs as `gx:Track` (a `when` and a `gx:coord` per point,
so Google Earth's time slider replays them), its inferred connections as plain
LineStrings in a distinct dashed-looking style (KML has no dash pattern: a thin,
translucent orange line), and its description lists the evidence. Stops and
banned airspace get their own folders. Element order follows the OGC schema so
strict validators accept the file.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.report.geojson import banned_features
from tailwatch.report.tracks import (
    end_text,
    iso,
    leg_ends,
    leg_label,
    leg_points,
    leg_segments,
    legal_paths,
    notice_of,
    place,
    sources_text,
    starts_trip,
    time_note,
    untracked_text,
)

KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"
FT_TO_M = 0.3048
ET.register_namespace("", KML_NS)
ET.register_namespace("gx", GX_NS)

# KML colours are aabbggrr.
STYLES = {
    "observed": {"LineStyle": {"color": "ffd07a1f", "width": "3"}},
    "inferred": {"LineStyle": {"color": "b30080ff", "width": "2"}},
    "stop-observed": {"IconStyle": {"color": "ffd07a1f", "scale": "1.1"}},
    "stop-inferred": {"IconStyle": {"color": "ff0080ff", "scale": "1.1"}},
    "legal": {"LineStyle": {"color": "b3000000", "width": "1"}},
    "banned": {"LineStyle": {"color": "ff3030c0", "width": "1"}, "PolyStyle": {"color": "403030c0"}},
}
ICON = "http://maps.google.com/mapfiles/kml/shapes/airports.png"


def _k(tag: str) -> str:
    return f"{{{KML_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, ns: str = KML_NS) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _style(doc: ET.Element, sid: str, spec: dict) -> None:
    style = _sub(doc, "Style")
    style.set("id", sid)
    for kind in ("IconStyle", "LabelStyle", "LineStyle", "PolyStyle"):  # schema order
        if kind not in spec:
            continue
        el = _sub(style, kind)
        values = spec[kind]
        if "color" in values:
            _sub(el, "color", values["color"])
        if kind == "IconStyle":
            _sub(el, "scale", values["scale"])
            _sub(_sub(el, "Icon"), "href", ICON)
        if "width" in values:
            _sub(el, "width", values["width"])


def _coords(lon: np.ndarray, lat: np.ndarray) -> str:
    return " ".join(f"{a:.5f},{b:.5f},0" for a, b in zip(lon, lat))


def _leg_description(leg: dict, frame: pl.DataFrame, notice: str | None) -> str:
    rows = [
        ("from", f"{end_text(leg, 'origin')} ({leg.get('origin_evidence', 'unknown')})"),
        ("to", f"{end_text(leg, 'destination')} ({leg.get('destination_evidence', 'unknown')})"),
        ("takeoff", leg.get("takeoff") or "unknown"),
        ("landing", leg.get("landing") or "unknown"),
        ("confidence", "unknown" if leg.get("confidence") is None else f"{leg['confidence']:.2f}"),
        ("points", f"{leg.get('n_points', frame.height)} ({leg.get('first_point') or '?'} – {leg.get('last_point') or '?'})"),
        ("great circle", _km(leg.get("great_circle_km"))),
        ("flown", _km(leg.get("flown_km"))
         + (f" ({leg['detour_pct']:+.1f} % against its great circle)" if leg.get("detour_pct") is not None else "")),
        ("positions by source", sources_text(leg)),
        ("countries", ", ".join(leg.get("countries") or []) or "not computed"),
        ("barred airspace crossed", ", ".join(leg.get("banned_countries") or []) or "none listed"),
        ("went around", ", ".join(leg.get("avoided") or []) or ("unknown (an end is unknown)" if leg.get("avoided") is None
                                                                 and "avoided" in leg else "none")),
        ("legal shortest", _km(leg.get("legal_shortest_km"))),
        ("max payload", "unknown" if leg.get("max_payload_t") is None else f"{leg['max_payload_t']:.1f} t"),
        ("reasons", "; ".join(leg.get("reasons") or []) or "none given"),
    ]
    if leg.get("trip"):
        rows.insert(0, ("trip", str(leg["trip"] + 1)))
    if time_note(leg):
        rows.insert(0, ("times", time_note(leg)))
    if leg.get("airspace_sentence"):
        rows.insert(0, ("airspace", leg["airspace_sentence"]))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    head = f"<p><b>{html.escape(notice)}</b></p>" if notice else ""
    return f"{head}<table>{body}</table>"


def _km(v) -> str:
    return "unknown" if v is None else f"{float(v):,.0f} km"


def _altitudes_m(alt: np.ndarray | None, n: int) -> tuple[np.ndarray, str]:
    """Altitudes in metres with gaps filled from neighbours; all missing → clamp to ground."""
    if alt is None or n == 0 or np.all(np.isnan(alt)):
        return np.zeros(n), "clampToGround"
    a = np.asarray(alt, dtype=float)
    good = np.nonzero(~np.isnan(a))[0]
    filled = np.interp(np.arange(n), good, a[good])
    return np.maximum(filled, 0.0) * FT_TO_M, "absolute"


def render_kml(itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None) -> str:
    """The KML document as a string."""
    notice = notice_of(itins, notice, points)
    root = ET.Element(_k("kml"))
    doc = _sub(root, "Document")
    names = [(i.get("aircraft") or {}).get("registration") or (i.get("aircraft") or {}).get("icao24") or "?" for i in itins]
    _sub(doc, "name", ("SIMULATED — " if notice else "") + "tailwatch itinerary: " + ", ".join(names))
    _sub(doc, "description", (notice + " " if notice else "")
         + "Solid blue tracks are observed positions; thin orange lines are inferred (no points there).")
    for sid, spec in STYLES.items():
        _style(doc, sid, spec)
    banned: set[str] = set()
    for itin, name in zip(itins, names):
        icao24 = (itin.get("aircraft") or {}).get("icao24")
        frame = points.get(icao24) if icao24 else None
        folder = _sub(doc, "Folder")
        _sub(folder, "name", f"{name} ({icao24})")
        if time_note(itin):
            _sub(folder, "description", time_note(itin))
        stops = _sub(folder, "Folder")
        _sub(stops, "name", "Stops")
        legs = itin.get("legs") or []
        for position, leg in enumerate(legs):
            for key in ("banned_countries", "crossed_barred", "direct_barred"):  # crossed, or gone around
                banned.update(leg.get(key) or [])
            lp = leg_points(frame, leg, position)
            if position and starts_trip(legs, position):  # a silence nothing is inferred over
                gap = _sub(stops, "Placemark")
                _sub(gap, "name", untracked_text(itin, leg.get("trip", 0)))
                _sub(gap, "description", "no stop is inferred in a silence this long; the trips either side are apart")
            _stops(stops, leg, position, legs[position - 1] if position else None)
            lf = _sub(folder, "Folder")
            _sub(lf, "name", f"Leg {position + 1}: {leg_label(leg)}")
            _sub(lf, "description", _leg_description(leg, lp, notice))
            for n, seg in enumerate(leg_segments(leg, lp, position)):
                pm = _sub(lf, "Placemark")
                _sub(pm, "name", f"{seg.evidence}: {seg.reason}")
                _sub(pm, "description", f"{seg.evidence} from {iso(seg.time[0]) or '?'} to {iso(seg.time[-1]) or '?'}"
                     + (f" — {notice}" if notice else ""))
                _sub(pm, "styleUrl", f"#{seg.evidence}")
                if seg.evidence == "observed" and seg.lat.size >= 2:
                    track = _sub(pm, "Track", ns=GX_NS)
                    alt_m, mode = _altitudes_m(seg.altitude, seg.lat.size)
                    _sub(track, "altitudeMode", mode)
                    for t in seg.time:
                        _sub(track, "when", iso(t))
                    for lo, la, al in zip(seg.lon, seg.lat, alt_m):
                        _sub(track, "coord", f"{lo:.5f} {la:.5f} {al:.0f}", ns=GX_NS)
                elif seg.lat.size >= 2:
                    line = _sub(pm, "LineString")
                    _sub(line, "tessellate", "1")
                    _sub(line, "coordinates", _coords(seg.lon, seg.lat))
                else:
                    point = _sub(pm, "Point")
                    _sub(point, "coordinates", _coords(seg.lon, seg.lat))
        legal = legal_paths(itin)
        if legal:
            lf = _sub(folder, "Folder")
            _sub(lf, "name", "Legal shortest route")
            km = (itin.get("route") or {}).get("legal_shortest_km")
            _sub(lf, "description", "Shortest route avoiding airspace banned to the operator"
                 + (f": {km:,.0f} km" if km is not None else "") + (f" — {notice}" if notice else ""))
            for leg_no, lon, lat in legal:
                pm = _sub(lf, "Placemark")
                _sub(pm, "name", "legal shortest route" if leg_no is None else f"legal shortest path, leg {leg_no + 1}")
                _sub(pm, "styleUrl", "#legal")
                line = _sub(pm, "LineString")
                _sub(line, "tessellate", "1")
                _sub(line, "coordinates", _coords(lon, lat))
    shaded = banned_features(sorted(banned))
    if shaded:
        bf = _sub(doc, "Folder")
        _sub(bf, "name", "Banned airspace (for the operator)")
        for feature in shaded:
            pm = _sub(bf, "Placemark")
            _sub(pm, "name", feature["properties"]["country"])
            _sub(pm, "styleUrl", "#banned")
            geom = feature["geometry"]
            polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
            multi = _sub(pm, "MultiGeometry") if len(polys) > 1 else pm
            for rings in polys:
                poly = _sub(multi, "Polygon")
                for i, ring in enumerate(rings):
                    boundary = _sub(poly, "outerBoundaryIs" if i == 0 else "innerBoundaryIs")
                    xy = np.asarray(ring)
                    _sub(_sub(boundary, "LinearRing"), "coordinates", _coords(xy[:, 0], xy[:, 1]))
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _stops(folder: ET.Element, leg: dict, position: int, previous: dict | None = None) -> None:
    for role, ref, evidence, when in leg_ends(leg, position, previous):
        where = place(ref)
        evidence = evidence or "unknown"
        moment = f"{'start' if role == 'origin' else 'arrival'} {when or 'time unknown'}, {evidence}"
        pm = _sub(folder, "Placemark")
        if where is None:  # unknown: a placemark without geometry, naming the candidates
            _sub(pm, "name", end_text(leg, role))
            _sub(pm, "description", f"{moment}: the data cannot tell where")
            continue
        _sub(pm, "name", f"{(ref or {}).get('icao') or '?'} ({evidence})")
        _sub(pm, "description", f"{(ref or {}).get('name') or ''} {(ref or {}).get('country') or ''}: {moment}")
        if when:
            _sub(_sub(pm, "TimeStamp"), "when", when)
        _sub(pm, "styleUrl", "#stop-observed" if evidence == "observed" else "#stop-inferred")
        _sub(_sub(pm, "Point"), "coordinates", f"{where[1]:.5f},{where[0]:.5f},0")


def write_kml(itins: list[dict], points: dict[str, pl.DataFrame], path: Path, notice: str | None = None) -> list[Path]:
    """Write the KML file; returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_kml(itins, points, notice), encoding="utf-8")
    return [path]
