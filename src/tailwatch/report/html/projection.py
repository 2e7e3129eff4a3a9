"""The page's map projection: equirectangular, fitted to the itinerary, longitudes unwrapped
round the emptiest meridian (a track over the antimeridian never draws across the map); SVG paths."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


MAP_WIDTH = 1000.0
MAX_VERTICES_PER_SEGMENT = 1500  # ~1.5 vertices per unit of a 1000-unit-wide map: what it can show


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


def pts(x: np.ndarray, y: np.ndarray) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))


def runs(view: View, lon: np.ndarray, lat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Projected pieces of a polyline, broken where it crosses the view's seam."""
    if lon.size > MAX_VERTICES_PER_SEGMENT:
        keep = np.unique(np.r_[np.arange(0, lon.size, math.ceil(lon.size / MAX_VERTICES_PER_SEGMENT)), lon.size - 1])
        lon, lat = lon[keep], lat[keep]
    u = view.unwrap(lon)
    cuts = np.nonzero(np.abs(np.diff(u)) > 180.0)[0] + 1
    out = []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, u.size]):
        if b - a >= 1:
            out.append(spaced(*view.xy(lon[a:b], lat[a:b])))
    return out


MIN_SPACING = 0.8  # map units (a 1000-unit-wide map): vertices closer along the line draw nothing more


def spaced(x: np.ndarray, y: np.ndarray, step: float = MIN_SPACING) -> tuple[np.ndarray, np.ndarray]:
    """The polyline's vertices at least `step` apart along it (its ends kept): a dense track draws
    the same at any zoom the page allows, in a fraction of the bytes. No jump is created: a vertex
    is dropped only when it is within `step` of the path walked since the last one kept."""
    if x.size <= 2:
        return x, y
    along = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    bins = np.floor(along / step).astype(np.int64)
    keep = np.r_[True, bins[1:] != bins[:-1]]
    keep[-1] = True
    return x[keep], y[keep]


def geometry_path(view: View, geom) -> str:
    """SVG path data of a (multi)polygon, clipped to the view, copies shifted by ±360° as needed."""
    import shapely

    parts = []
    tol = (view.east - view.west) / 1000.0  # one map unit of a 1000-unit-wide map
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


def graticule(view: View) -> str:
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
