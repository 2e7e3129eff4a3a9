"""Vectorised spherical geodesy on NumPy arrays (degrees in, km / degrees out).

A sphere of mean Earth radius is accurate to ~0.5 % against WGS84 geodesics,
well inside the uncertainty of the questions asked (detours of hundreds of km,
gaps of hours). pyproj's Geod is exact but per-call overhead makes it slower for
millions of short segments; use `geodesic_km` where ellipsoidal accuracy matters.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
NM_KM = 1.852
KT_TO_KMH = 1.852

Array = NDArray[np.float64]


_SCALARS = (float, int, np.float64)


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Array:
    """Great-circle distance in km, element-wise (broadcasts).

    Four plain numbers (the per-gap and per-leg questions: tens of thousands of calls a batch)
    take `_haversine_scalar`, the same bits at a tenth of the cost of NumPy's per-call overhead.
    """
    if type(lat1) in _SCALARS and type(lon1) in _SCALARS and type(lat2) in _SCALARS and type(lon2) in _SCALARS:
        return _haversine_scalar(lat1, lon1, lat2, lon2)  # type: ignore[arg-type]
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    if type(dphi) is not np.ndarray or np.ndim(dphi) == 0 or dphi.shape != dlmb.shape:
        # not a NumPy array of its own (a number, a broadcast, a Polars Series, which NumPy's
        # `out=` cannot write into): the plain expressions, as before
        a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    dlmb /= 2
    return haversine_in_place(dphi, np.cos(p1) * np.cos(p2), dlmb)


def haversine_in_place(dphi: Array, cos_product: Array, half_dlmb: Array) -> Array:
    """`haversine_km` from its parts, for callers that have the latitudes' radians and cosines
    already (a point's, shared by many pairs): `dphi` the latitude difference and `half_dlmb`
    half the longitude difference (radians), `cos_product` cos φ1 · cos φ2. The plain expressions'
    operations in the same order, so the same bits, written into the arrays given (the caller's
    own temporaries, overwritten): over the half-million points of a chunk each fresh temporary
    is megabytes of new pages (a sixth of the time)."""
    dphi /= 2
    a = np.sin(dphi, out=dphi)
    a *= a
    s = np.sin(half_dlmb, out=half_dlmb)
    s *= s
    cos_product *= s
    a += cos_product
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2 * EARTH_RADIUS_KM
    return a


def _haversine_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> np.float64:
    """`haversine_km` of one pair, step for step as the array path, so the same bits: radians,
    sine, cosine and square root are the C library's in both (`math` and NumPy's float64 loops
    agree, and the square root is exact), the arcsine NumPy's own (its vector loop differs from the
    C library's in the last bit), and the clip cannot reorder anything."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi = p2 - p1
    dlmb = math.radians(float(lon2) - float(lon1))
    s1, s2 = math.sin(dphi / 2), math.sin(dlmb / 2)
    a = s1 * s1 + math.cos(p1) * math.cos(p2) * (s2 * s2)
    a = 0.0 if a < 0.0 else 1.0 if a > 1.0 else a  # NaN passes through, as np.clip lets it
    return 2 * EARTH_RADIUS_KM * np.arcsin(math.sqrt(a))


def lat_trig(lat: ArrayLike) -> tuple[Array, Array, Array]:
    """(radians, cosine, sine) of latitudes: the part of `haversine_km` and `initial_bearing` that
    depends on the far points alone, for a table asked about from many points (`km_from`)."""
    p = np.radians(lat)
    return p, np.cos(p), np.sin(p)


def km_from(lat1: float, lon1: float, lon2: Array, trig2: tuple[Array, Array, Array]) -> tuple[Array, Array]:
    """(`haversine_km` from one point to every point of a table, the longitude difference in
    radians for `bearing_from`), the table's latitudes given as `lat_trig`: step for step the
    array path of `haversine_km` (the same operations on the same operands, so the same bits)
    without working out the table's radians and cosines again for every point."""
    p2, cos2, _ = trig2
    p1 = np.radians(lat1)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    if type(dphi) is not np.ndarray or np.ndim(dphi) == 0 or dphi.shape != dlmb.shape:
        a = np.sin(dphi / 2) ** 2 + np.cos(p1) * cos2 * np.sin(dlmb / 2) ** 2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dlmb
    return haversine_in_place(dphi, np.cos(p1) * cos2, dlmb / 2), dlmb  # dlmb is kept for `bearing_from`


def bearing_from(lat1: float, dlmb: Array, trig2: tuple[Array, Array, Array]) -> Array:
    """`initial_bearing` from one point to every point of a table, from `km_from`'s longitude
    difference and the table's `lat_trig`: the same operations as `initial_bearing`, the same bits."""
    _, cos2, sin2 = trig2
    p1 = np.radians(lat1)
    x = np.sin(dlmb)
    x *= cos2
    y = np.cos(p1) * sin2
    t = np.sin(p1) * cos2
    t *= np.cos(dlmb)
    y -= t
    b = np.arctan2(x, y, out=x)  # in place from here: the same operations as the plain expression
    np.degrees(b, out=b)
    b += 360.0
    return np.remainder(b, 360.0, out=b)


def initial_bearing(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Array:
    """Initial true bearing in degrees [0, 360) from point 1 to point 2."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    x = np.sin(dl) * np.cos(p2)
    y = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return (np.degrees(np.arctan2(x, y)) + 360.0) % 360.0


def destination(lat: ArrayLike, lon: ArrayLike, bearing_deg: ArrayLike, distance_km: ArrayLike) -> tuple[Array, Array]:
    """Point reached from (lat, lon) along a bearing for a distance; lon in [-180, 180)."""
    p1, l1 = np.radians(lat), np.radians(lon)
    b = np.radians(bearing_deg)
    d = np.asarray(distance_km, dtype=float) / EARTH_RADIUS_KM
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def to_unit_vectors(lat: ArrayLike, lon: ArrayLike) -> Array:
    """(n, 3) unit vectors on the sphere. Each latitude's cosine is taken once and the three
    components are written into one array (not stacked from three): the same values, a fifth less
    time over a chunk's points."""
    # as NumPy arrays first: `out=` cannot write through a Polars Series' ufunc hook
    p, l = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    cp = np.cos(p)
    out = np.empty(np.broadcast(p, l).shape + (3,))
    np.multiply(cp, np.cos(l), out=out[..., 0])
    np.multiply(cp, np.sin(l), out=out[..., 1])
    out[..., 2] = np.sin(p)
    return out


def from_unit_vectors(v: Array) -> tuple[Array, Array]:
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(v[..., 2], -1, 1))), np.degrees(np.arctan2(v[..., 1], v[..., 0]))


def great_circle_points(lat1: float, lon1: float, lat2: float, lon2: float, n: int) -> tuple[Array, Array]:
    """n points (ends included) evenly spaced along the great circle (slerp)."""
    a, b = to_unit_vectors(lat1, lon1), to_unit_vectors(lat2, lon2)
    omega = np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))
    t = np.linspace(0.0, 1.0, max(n, 2))
    if omega < 1e-12:
        v = np.repeat(a[None, :], len(t), axis=0)
    else:
        v = (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)
    return from_unit_vectors(v)


def path_length_km(lat: ArrayLike, lon: ArrayLike) -> float:
    """Length of a polyline along great circles between consecutive points."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if lat.size < 2:
        return 0.0
    return float(np.nansum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])))


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """WGS84 ellipsoidal distance (pyproj) for the few figures that are quoted to the km."""
    from pyproj import Geod

    _, _, metres = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return float(metres) / 1000.0
