"""Compact Position Reporting (CPR), vectorised: global (even/odd pair) and local (reference) decoding.

Formulas from the ADS-B standard (DO-260B §A.1.7). NL (number of longitude
zones) is looked up in a table of its 58 transition latitudes, computed once
from the defining formula, so no arccos runs per message.
Surface messages use a zone 4x smaller (90° instead of 360°), so a global
surface pair leaves a choice of latitude hemisphere and of four longitudes:
the solution nearest to a reference position wins.
"""

from __future__ import annotations

import numpy as np

NZ = 15


def _transitions() -> np.ndarray:
    nl = np.arange(2, 60, dtype=np.float64)
    a = 1.0 - np.cos(np.pi / (2 * NZ))
    return np.degrees(np.arccos(np.sqrt(a / (1.0 - np.cos(2 * np.pi / nl)))))  # decreasing with nl


_T = _transitions()[::-1].copy()  # increasing latitudes: T for NL=59 first, NL=2 last


def nl(lat: np.ndarray) -> np.ndarray:
    """Number of longitude zones at each latitude (1..59)."""
    a = np.abs(lat)
    above = np.searchsorted(_T, a, side="right")  # transitions at or below |lat|
    return np.where(a == 87.0, 2, 59 - above).astype(np.int64)  # the standard puts 87° itself in NL 2


def _mod(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return a - b * np.floor(a / b)


def global_position(
    lat_even: np.ndarray,
    lon_even: np.ndarray,
    lat_odd: np.ndarray,
    lon_odd: np.ndarray,
    newest_odd: np.ndarray,
    surface: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions from even/odd pairs of CPR fractions (in [0, 1)), for the newest of each pair.

    NaN where the two messages lie in different NL zones (the pair cannot be
    used). For `surface`, the result is the solution in [0°, 90°) latitude and
    [0°, 90°) longitude; pick the right quadrant with `nearest_surface`.
    """
    span = 90.0 if surface else 360.0
    d_even, d_odd = span / 60.0, span / 59.0
    j = np.floor(59.0 * lat_even - 60.0 * lat_odd + 0.5)
    lat_e = d_even * (_mod(j, 60.0) + lat_even)
    lat_o = d_odd * (_mod(j, 59.0) + lat_odd)
    if not surface:
        lat_e = np.where(lat_e >= 270.0, lat_e - 360.0, lat_e)
        lat_o = np.where(lat_o >= 270.0, lat_o - 360.0, lat_o)
    nl_e, nl_o = nl(lat_e), nl(lat_o)
    same = nl_e == nl_o
    lat = np.where(newest_odd, lat_o, lat_e)
    zones = nl(lat)
    ni = np.maximum(zones - newest_odd.astype(np.int64), 1)
    m = np.floor(lon_even * (zones - 1) - lon_odd * zones + 0.5)
    frac = np.where(newest_odd, lon_odd, lon_even)
    lon = (span / ni) * (_mod(m, ni) + frac)
    if not surface:
        lon = np.where(lon >= 180.0, lon - 360.0, lon)
    ok = same & (np.abs(lat) <= 90.0)
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def nearest_surface(lat: np.ndarray, lon: np.ndarray, ref_lat: np.ndarray, ref_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Choose among the surface solutions (lat or lat-90; lon + k·90°) the one nearest the reference."""
    lat_s = np.where(np.abs(lat - 90.0 - ref_lat) < np.abs(lat - ref_lat), lat - 90.0, lat)
    k = np.round((ref_lon - lon) / 90.0)
    lon_s = lon + 90.0 * k
    lon_s = np.where(lon_s >= 180.0, lon_s - 360.0, np.where(lon_s < -180.0, lon_s + 360.0, lon_s))
    return lat_s, lon_s


def local_position(
    lat_cpr: np.ndarray,
    lon_cpr: np.ndarray,
    odd: np.ndarray,
    ref_lat: np.ndarray,
    ref_lon: np.ndarray,
    surface: np.ndarray | bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions from single messages near a reference (within half a zone: 180 NM airborne, 45 NM surface)."""
    span = np.where(surface, 90.0, 360.0)
    i = odd.astype(np.int64)
    dlat = span / (60.0 - i)
    j = np.floor(ref_lat / dlat) + np.floor(0.5 + _mod(ref_lat, dlat) / dlat - lat_cpr)
    lat = dlat * (j + lat_cpr)
    ni = np.maximum(nl(lat) - i, 1)
    dlon = span / ni
    m = np.floor(ref_lon / dlon) + np.floor(0.5 + _mod(ref_lon, dlon) / dlon - lon_cpr)
    lon = dlon * (m + lon_cpr)
    lon = np.where(lon >= 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    ok = np.abs(lat) <= 90.0
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)
