"""Itineraries as one RFC 7946 GeoJSON FeatureCollection: points, legs, stops, banned airspace.

Feature `kind`s: `leg` (the whole leg, with the itinerary JSON's figures and evidence),
`leg_segment` (its observed runs and inferred connections, `evidence` each), `stop`,
`point` (positions of the leg, at most one a minute), `legal_route`, `banned_airspace`.

Sized for a map, not as the point archive: lines are simplified to within `TRACK_TOLERANCE_DEG`
of the points they were drawn from (their ends kept) and `point` features are thinned to the first
position of each minute of a leg plus its last (a day of 213 real aircraft was 79 MB with every
position, 69 MB of it point features). Every position stays in the CSV export (`X.points.csv`);
the collection says so in its `points` member.

Written by hand (a dict and `json.dumps`): the format is small and the RFC's rules
that matter here — lon/lat order, no `crs`, lines split at the antimeridian,
counter-clockwise closed exterior rings — are easier to guarantee than to
configure in a GIS library. Every feature has `kind` and `aircraft` properties so
a GIS user can filter; inferred geometry says `evidence: "inferred"` and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.report.tracks import (
    country_layer,
    iso,
    leg_ends,
    leg_segments,
    legal_paths,
    candidates,
    end_text,
    leg_label,
    leg_points,
    notice_of,
    starts_trip,
    time_note,
    untracked_text,
    place,
    split_antimeridian,
)

COORD_DIGITS = 5  # ~1 m: finer than ADS-B position resolution
TRACK_TOLERANCE_DEG = 0.005  # Douglas-Peucker on lon/lat: a drawn line stays within ~550 m of its points
POINT_EVERY_S = 60  # `point` features: the first position of each minute of a leg, and its last
POINTS_NOTE = (f"point features are the first position of each {POINT_EVERY_S} s of a leg and its last; "
               "lines are simplified to within ~550 m; every position is in the CSV export (--format csv: X.points.csv)")
BANNED_TOLERANCE_DEG = 0.05  # simplification of shaded countries (~5 km)


def _simplified(xy: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker (shapely/GEOS) of one polyline, its two ends kept."""
    if tolerance <= 0 or xy.shape[0] <= 2:
        return xy
    import shapely

    return shapely.get_coordinates(shapely.simplify(shapely.linestrings(xy), tolerance, preserve_topology=False))


def _line_geometry(lon: np.ndarray, lat: np.ndarray, tolerance: float = TRACK_TOLERANCE_DEG) -> dict | None:
    parts = [(lo, la) for lo, la in split_antimeridian(lon, lat) if lo.size >= 2]
    coords = [np.round(_simplified(np.column_stack([lo, la]), tolerance), COORD_DIGITS).tolist() for lo, la in parts]
    if not coords:
        return None
    if len(coords) == 1:
        return {"type": "LineString", "coordinates": coords[0]}
    return {"type": "MultiLineString", "coordinates": coords}


def _leg_properties(itin: dict, leg: dict, position: int, frame: pl.DataFrame) -> dict:
    props = {
        "kind": "leg",
        "aircraft": (itin.get("aircraft") or {}).get("icao24"),
        "leg": position,
        "label": leg_label(leg),
    }
    for key in ("takeoff", "landing", "origin_evidence", "destination_evidence", "confidence",
                "great_circle_km", "flown_km", "detour_km", "detour_pct", "countries", "banned_countries",
                "max_payload_t", "payload_band_t", "first_point", "last_point", "reasons", "trip",
                "position_sources", "time_assumed"):
        if key in leg:
            props[key] = leg[key]
    if time_note(leg):
        props["time_note"] = time_note(leg)
    props["origin"] = (leg.get("origin") or {}).get("icao")
    props["destination"] = (leg.get("destination") or {}).get("icao")
    props["n_points"] = leg.get("n_points", frame.height)
    return props


def banned_features(codes: list[str], tolerance: float = BANNED_TOLERANCE_DEG) -> list[dict]:
    """Simplified airspace polygons (land + 12 NM) of the given countries, if the shapes are installed."""
    if not codes:
        return []
    shapes = country_layer("airspace")
    if shapes is None:
        return []
    import shapely
    from shapely.geometry.polygon import orient

    out = []
    for code in sorted(set(codes)):
        geom = shapes.get(code)
        if geom is None or geom.is_empty:
            continue
        geom = shapely.make_valid(geom.simplify(tolerance, preserve_topology=True))
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty]
        if not polys:
            continue
        rings = [_polygon_coords(orient(p, sign=1.0)) for p in polys]
        geometry = ({"type": "Polygon", "coordinates": rings[0]} if len(rings) == 1
                    else {"type": "MultiPolygon", "coordinates": rings})
        out.append({"type": "Feature", "geometry": geometry,
                    "properties": {"kind": "banned_airspace", "country": code}})
    return out


def _polygon_coords(poly) -> list:
    """Exterior CCW then holes CW (orient() did that), closed, rounded, lon/lat."""
    rings = [poly.exterior, *poly.interiors]
    out = []
    for ring in rings:
        xy = np.round(np.asarray(ring.coords)[:, :2], COORD_DIGITS)
        if not np.array_equal(xy[0], xy[-1]):
            xy = np.vstack([xy, xy[:1]])
        out.append(xy.tolist())
    return out


def render_geojson(itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None,
                   with_points: bool = True) -> dict:
    """The FeatureCollection: per aircraft its stops, leg segments, points, and banned countries."""
    notice = notice_of(itins, notice, points)
    features: list[dict] = []
    banned: set[str] = set()
    details: dict[str, dict] = {}
    for itin in itins:
        icao24 = (itin.get("aircraft") or {}).get("icao24")
        frame = points.get(icao24) if icao24 else None
        legs = itin.get("legs") or []
        for position, leg in enumerate(legs):
            # barred airspace the leg's direct line or track crosses: what it went around, what it crossed
            for key in ("banned_countries", "crossed_barred", "direct_barred"):
                banned.update(leg.get(key) or [])
            details.update(leg.get("barred_details") or {})
            lp = leg_points(frame, leg, position)
            props = _leg_properties(itin, leg, position, lp)
            features.extend(_stop_features(icao24, leg, position, len(legs), legs[position - 1] if position else None))
            if position and starts_trip(legs, position):  # a silence nothing is inferred over
                features.append({"type": "Feature", "geometry": None, "properties": {
                    "kind": "untracked", "aircraft": icao24, "leg": position, "trip": leg.get("trip"),
                    "label": untracked_text(itin, leg.get("trip", 0))}})
            segments = leg_segments(leg, lp, position)
            if segments:  # the whole leg, observed and inferred parts joined in time order
                whole = _line_geometry(np.concatenate([s.lon for s in segments]), np.concatenate([s.lat for s in segments]))
                if whole is not None:
                    features.append({"type": "Feature", "geometry": whole, "properties": {
                        **props, "evidence": "observed" if all(s.evidence == "observed" for s in segments) else "mixed"}})
            for seg in segments:
                geometry = _line_geometry(seg.lon, seg.lat)
                if geometry is None:
                    continue
                features.append({"type": "Feature", "geometry": geometry, "properties": {
                    **props, "kind": "leg_segment", "leg": position, "evidence": seg.evidence, "why": seg.reason,
                    "start": iso(seg.time[0]), "end": iso(seg.time[-1]), "segment_km": round(seg.km, 1)}})
            if with_points and lp.height:
                features.extend(_point_features(icao24, position, lp))
        for leg_no, lon, lat in legal_paths(itin):
            geometry = _line_geometry(lon, lat, 0.0)  # the router's own vertices
            if geometry is not None:
                route = itin.get("route") or {}
                km = (legs[leg_no].get("legal_shortest_km") if leg_no is not None and leg_no < len(legs)
                      else route.get("end_to_end_legal_km", route.get("legal_shortest_km")))
                props = {"kind": "legal_route", "aircraft": icao24, "leg": leg_no, "legal_shortest_km": km}
                if leg_no is not None and leg_no < len(legs):  # a map may draw only the paths that go around something
                    props["direct_barred"] = legs[leg_no].get("direct_barred")
                features.append({"type": "Feature", "geometry": geometry, "properties": props})
    shaded = banned_features(sorted(banned))
    for f in shaded:  # whom it bars, since when, by which instrument (airspace.bans)
        info = details.get(f["properties"]["country"]) or {}
        f["properties"].update({k: info[k] for k in ("name", "instrument", "since", "bars") if info.get(k)})
    features.extend(shaded)
    collection: dict = {"type": "FeatureCollection", "features": features}
    if with_points:
        collection["points"] = POINTS_NOTE  # a foreign member (RFC 7946 §6.1): what the point features are
    if notice:
        collection["notice"] = notice  # a foreign member (RFC 7946 §6.1)
        for f in features:
            f["properties"]["simulated"] = True
    collection["generator"] = "tailwatch"
    return collection


def _stop_features(icao24: str | None, leg: dict, position: int, n_legs: int,
                   previous: dict | None = None) -> list[dict]:
    out = []
    for role, ref, evidence, when in leg_ends(leg, position, previous):
        where = place(ref)
        props = {"kind": "stop", "aircraft": icao24, "role": "start" if role == "origin" else "stop", "leg": position,
                 "icao": (ref or {}).get("icao"), "evidence": evidence or "unknown", "time": when}
        if where is None:
            # an unknown place is an answer too: a feature without geometry (RFC 7946 §3.2),
            # with the candidates that were weighed
            props.update(candidates=candidates(leg, role), label=end_text(leg, role))
            out.append({"type": "Feature", "geometry": None, "properties": props})
            continue
        props.update(name=(ref or {}).get("name"), country=(ref or {}).get("country"))
        out.append({"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [round(where[1], COORD_DIGITS), round(where[0], COORD_DIGITS)]},
                    "properties": props})
    return out


def thinned(frame: pl.DataFrame, every_s: int = POINT_EVERY_S) -> pl.DataFrame:
    """The first position of each `every_s` of a leg's points (in time order) and the last one."""
    if frame.height <= 2:
        return frame
    ordered = frame.sort("timestamp")
    bucket = pl.col("timestamp").dt.truncate(f"{every_s}s")
    index = pl.int_range(pl.len())
    return ordered.filter(bucket.is_first_distinct() | (index == pl.len() - 1))


def _point_features(icao24: str | None, position: int, frame: pl.DataFrame) -> list[dict]:
    cols = [c for c in ("timestamp", "latitude", "longitude", "altitude", "groundspeed", "track", "callsign", "source")
            if c in frame.columns]
    rows = thinned(frame).select(cols).with_columns(
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("latitude").round(COORD_DIGITS), pl.col("longitude").round(COORD_DIGITS),
    ).to_dicts()
    out = []
    for r in rows:
        lon, lat = r.pop("longitude"), r.pop("latitude")
        out.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"kind": "point", "aircraft": icao24, "leg": position, "evidence": "observed", **r}})
    return out


def write_geojson(itins: list[dict], points: dict[str, pl.DataFrame], path: Path, notice: str | None = None) -> list[Path]:
    """Write the FeatureCollection to `path`; returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render_geojson(itins, points, notice), ensure_ascii=False, allow_nan=False))
    return [path]
