"""The visibility graph's pieces: banned airspace as obstacles (boundary edges in tiles, convex
nodes grown by the margin) and exact great-circle arc tests against them (airspace/routing.py
explains the method and its error bounds)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, to_unit_vectors


DENSIFY_KM = 25.0  # spacing of points drawn along an arc (`arc_points`)
TILE_DEG = 5.0
TOUCH = 1e-12  # |sin| below which a point counts as on a great circle (~6 µm)
EDGE_MAX_DEG = 0.5  # polygon edges are straight in lon/lat: split long ones before treating them as arcs


def _tiles(geom: shapely.Geometry) -> np.ndarray:
    """Polygon parts, large ones cut into 5° tiles: small prepared pieces answer fast."""
    out = []
    for part in shapely.get_parts(geom):
        x0, y0, x1, y1 = part.bounds
        if (x1 - x0) <= TILE_DEG and (y1 - y0) <= TILE_DEG:
            out.append(part)
            continue
        xs = np.arange(np.floor(x0 / TILE_DEG) * TILE_DEG, x1, TILE_DEG)
        ys = np.arange(np.floor(y0 / TILE_DEG) * TILE_DEG, y1, TILE_DEG)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        pieces = shapely.intersection(part, shapely.box(gx, gy, gx + TILE_DEG, gy + TILE_DEG))
        out.extend(q for q in pieces if not q.is_empty)
    tiles = np.array(out, dtype=object)
    shapely.prepare(tiles)
    return tiles


def _boundary_edges(geom: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (m, 3) of the start and end of every boundary edge, edges ≤ 0.5°."""
    if geom.is_empty:
        return np.empty((0, 3)), np.empty((0, 3))
    dense = shapely.segmentize(geom, EDGE_MAX_DEG)
    starts, ends = [], []
    for poly in shapely.get_parts(dense):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            starts.append(xy[:-1])
            ends.append(xy[1:])
    a, b = np.concatenate(starts), np.concatenate(ends)
    # drop zero-length edges and the cuts along ±180° (interior to the airspace on the sphere)
    cut = (np.abs(a[:, 0]) >= 180.0 - 1e-9) & (np.abs(b[:, 0]) >= 180.0 - 1e-9)
    keep = np.any(a != b, axis=1) & ~cut
    return to_unit_vectors(a[keep, 1], a[keep, 0]), to_unit_vectors(b[keep, 1], b[keep, 0])


@dataclass
class Obstacles:
    """Banned airspace prepared for routing: boundary edges as unit vectors (exact arc
    crossing tests on the sphere), tiled polygons (point tests) and the candidate nodes."""

    codes: tuple[str, ...]
    tiles: np.ndarray  # prepared lon/lat pieces of the airspace
    tree: shapely.STRtree
    edge_a: np.ndarray  # (m, 3) boundary edge ends
    edge_b: np.ndarray
    edge_n: np.ndarray  # (m, 3) edge_a × edge_b
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_vec: np.ndarray  # (n, 3) unit vectors
    node_pcross: np.ndarray  # (n, 3) v × prev and v × next: tangency is a dot product
    node_ncross: np.ndarray
    _edge_cache: dict = field(default_factory=dict, repr=False)
    _hop_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_shapes(cls, banned: list[shapely.Geometry], nodes: list[shapely.Geometry],
                    codes: tuple[str, ...] = ()) -> "Obstacles":
        """`banned`: airspace to avoid; `nodes`: the same grown by a margin (lon/lat)."""
        airspace = shapely.union_all([g for g in banned if g is not None and not g.is_empty])
        tiles = _tiles(airspace) if not airspace.is_empty else np.empty(0, dtype=object)
        ea, eb = _boundary_edges(airspace)
        lat, lon, prev, nxt = [], [], [], []
        grown = shapely.union_all([g for g in nodes if g is not None and not g.is_empty])
        for poly in shapely.get_parts(grown):
            ring = np.asarray(poly.exterior.coords)[:-1]
            if not poly.exterior.is_ccw:
                ring = ring[::-1]
            if len(ring) < 3:
                continue
            p, n = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
            scale = np.cos(np.radians(ring[:, 1]))
            a = (ring - p) * np.c_[scale, np.ones(len(ring))]
            b = (n - ring) * np.c_[scale, np.ones(len(ring))]
            convex = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] > 0
            convex &= np.abs(ring[:, 0]) < 180.0 - 1e-9  # corners made by the ±180° cut are not corners
            lat.append(ring[convex, 1])
            lon.append(ring[convex, 0])
            prev.append(to_unit_vectors(p[convex, 1], p[convex, 0]))
            nxt.append(to_unit_vectors(n[convex, 1], n[convex, 0]))
        empty = np.empty((0, 3))
        f = np.asfortranarray  # column-major: (m, 3) @ (3,) is ~3× faster
        obst = cls(tuple(codes), tiles, shapely.STRtree(tiles), f(ea), f(eb), f(np.cross(ea, eb)),
                   np.empty(0), np.empty(0), empty, empty, empty)
        if lat:
            lat_a, lon_a = np.concatenate(lat), np.concatenate(lon)
            prev_a, next_a = np.concatenate(prev), np.concatenate(nxt)
            outside = ~obst.inside_many(lat_a, lon_a)
            obst.node_lat, obst.node_lon = lat_a[outside], lon_a[outside]
            obst.node_vec = to_unit_vectors(obst.node_lat, obst.node_lon)
            obst.node_pcross = np.cross(obst.node_vec, prev_a[outside])
            obst.node_ncross = np.cross(obst.node_vec, next_a[outside])
        return obst

    def inside_many(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        out = np.zeros(lat.size, bool)
        if self.tiles.size == 0:
            return out
        lon = (lon + 180.0) % 360.0 - 180.0
        pi, ti = self.tree.query(shapely.points(lon, lat))
        for p, t in zip(pi.tolist(), ti.tolist()):
            if not out[p] and shapely.contains_xy(self.tiles[t], lon[p], lat[p]):
                out[p] = True
        return out

    def inside(self, lat: float, lon: float) -> bool:
        return bool(self.inside_many(np.array([lat]), np.array([lon]))[0])

    def arc_clear(self, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
        """True when the great-circle arc between two points outside the airspace crosses
        no boundary edge of it (exact on the sphere; antimeridian and poles need no care)."""
        if self.edge_a.shape[0] == 0:
            return True
        key = (lat1, lon1, lat2, lon2)
        hit = self._edge_cache.get(key)
        if hit is None:
            a, b = _unit(lat1, lon1), _unit(lat2, lon2)
            hit = not arc_crosses(a, b, self.edge_a, self.edge_b, self.edge_n)
            self._edge_cache[key] = hit
            self._edge_cache[(lat2, lon2, lat1, lon1)] = hit
        return hit


def _cross_rows(u: np.ndarray, m: np.ndarray) -> np.ndarray:
    """u × m for one vector u and rows m (np.cross is slow on small inputs)."""
    return np.stack([u[1] * m[:, 2] - u[2] * m[:, 1],
                     u[2] * m[:, 0] - u[0] * m[:, 2],
                     u[0] * m[:, 1] - u[1] * m[:, 0]], axis=1)


def _unit(lat: float, lon: float) -> np.ndarray:
    p, l = math.radians(lat), math.radians(lon)
    return np.array([math.cos(p) * math.cos(l), math.cos(p) * math.sin(l), math.sin(p)])


def arc_crosses(a: np.ndarray, b: np.ndarray, ea: np.ndarray, eb: np.ndarray, en: np.ndarray) -> bool:
    """Does the minor arc a→b cross any of the minor arcs ea→eb (normals en)? Unit vectors."""
    n1 = np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
    sa, sb = ea @ n1, eb @ n1
    # edge ends on both sides of the arc's circle (touching counts: conservative)
    straddle = np.flatnonzero((np.minimum(sa, sb) <= TOUCH) & (np.maximum(sa, sb) >= -TOUCH))
    if straddle.size == 0:
        return False
    en_s = en[straddle]
    ta, tb = en_s @ a, en_s @ b
    both = (np.minimum(ta, tb) <= TOUCH) & (np.maximum(ta, tb) >= -TOUCH)  # arc ends on both sides
    if not both.any():
        return False
    idx = straddle[both]
    p = _cross_rows(n1, en[idx])  # the circles meet at ±p: take the one near the (short) edge
    p *= np.where(np.einsum("ij,ij->i", p, ea[idx] + eb[idx]) < 0, -1.0, 1.0)[:, None]
    on_ab = (_cross_rows(a, p) @ n1 >= -TOUCH) & (_cross_rows(b, p) @ n1 <= TOUCH)  # p between a and b
    return bool(on_ab.any())


def arc_points(lat1: float, lon1: float, lat2: float, lon2: float, step_km: float = DENSIFY_KM):
    """Points along the great circle every ≤ step_km, longitudes unwrapped (may pass ±180)."""
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = np.array([math.cos(p1) * math.cos(l1), math.cos(p1) * math.sin(l1), math.sin(p1)])
    b = np.array([math.cos(p2) * math.cos(l2), math.cos(p2) * math.sin(l2), math.sin(p2)])
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    n = max(math.ceil(omega * EARTH_RADIUS_KM / step_km), 1) + 1
    if omega < 1e-12:
        return np.full(n, float(lat1)), np.full(n, float(lon1))
    t = np.linspace(0.0, omega, n)
    v = (np.sin(omega - t)[:, None] * a + np.sin(t)[:, None] * b) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(v[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.unwrap(np.arctan2(v[:, 1], v[:, 0])))
    return lat, lon


@lru_cache(maxsize=32)
def obstacles_for(codes: tuple[str, ...]) -> Obstacles:
    """Obstacles for a set of banned ISO2 codes, from the packaged country layers (cached)."""
    from tailwatch.geo.countries import airspace_shapes, obstacle_shapes

    air, grown = airspace_shapes(), obstacle_shapes()
    codes = tuple(sorted(c for c in set(codes) if c in air))
    return Obstacles.from_shapes([air[c] for c in codes], [grown[c] for c in codes], codes)
