"""Compact Position Reporting (CPR), vectorised: global (even/odd pair) and local (reference) decoding.

Formulas from the ADS-B standard (DO-260B §A.1.7). NL (number of longitude
zones) is looked up in a table of its 58 transition latitudes, computed once
from the defining formula, so no arccos runs per message.
Surface messages use a zone 4x smaller (90° instead of 360°), so a global
surface pair leaves a choice of latitude hemisphere and of four longitudes:
eight candidates. With a reference, the latitude nearest to it wins (the
northern solution, or 90° less when that is more than 45° north of the
reference, as readsb's decodeCPRsurface), then the longitude zone count is
taken at *that* latitude (the southern candidate has its own NL: São Paulo's
pair read with the northern one lands 2° of longitude off), then the
longitude quadrant nearest the reference. Without one, `surface_candidates`
gives all eight for a choice elsewhere (`modes.surface`).
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
) -> tuple[np.ndarray, np.ndarray]:
    """Airborne positions from even/odd pairs of CPR fractions (in [0, 1)), for the newest of each pair.

    NaN where the two messages lie in different NL zones (the pair cannot be used).
    Surface pairs: `surface_position` (with a reference) or `surface_candidates`.
    """
    j = np.floor(59.0 * lat_even - 60.0 * lat_odd + 0.5)
    lat_e = 6.0 * (_mod(j, 60.0) + lat_even)
    lat_o = (360.0 / 59.0) * (_mod(j, 59.0) + lat_odd)
    lat_e = np.where(lat_e >= 270.0, lat_e - 360.0, lat_e)
    lat_o = np.where(lat_o >= 270.0, lat_o - 360.0, lat_o)
    lat, lon = _pair_longitude(lon_even, lon_odd, lat_e, lat_o, newest_odd, 360.0)
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    return lat, lon


def _pair_longitude(lon_even, lon_odd, lat_e, lat_o, newest_odd, span: float) -> tuple[np.ndarray, np.ndarray]:
    """(latitude, longitude in [0, span)) of the newest message of a pair whose two latitudes are
    given: the zone count is NL of those latitudes (NaN where they differ, or out of range)."""
    lat = np.where(newest_odd, lat_o, lat_e)
    zones = nl(lat)
    ni = np.maximum(zones - newest_odd.astype(np.int64), 1)
    m = np.floor(lon_even * (zones - 1) - lon_odd * zones + 0.5)
    frac = np.where(newest_odd, lon_odd, lon_even)
    lon = (span / ni) * (_mod(m, ni) + frac)
    ok = (nl(lat_e) == nl(lat_o)) & (np.abs(lat_e) <= 90.0) & (np.abs(lat_o) <= 90.0)
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def _surface_latitudes(lat_even: np.ndarray, lat_odd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The northern solutions (in [0°, 90°]) of the even and odd latitudes of surface pairs."""
    j = np.floor(59.0 * lat_even - 60.0 * lat_odd + 0.5)
    return 1.5 * (_mod(j, 60.0) + lat_even), (90.0 / 59.0) * (_mod(j, 59.0) + lat_odd)


def _wrap(lon: np.ndarray) -> np.ndarray:
    return lon - 360.0 * np.floor((lon + 180.0) / 360.0)


def surface_position(
    lat_even: np.ndarray,
    lon_even: np.ndarray,
    lat_odd: np.ndarray,
    lon_odd: np.ndarray,
    newest_odd: np.ndarray,
    ref_lat: np.ndarray,
    ref_lon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Surface positions from even/odd pairs: the solution nearest the reference (module docstring).

    The reference only picks among candidates 90° apart; how far it may be from the result is
    the caller's check. NaN where the pair crosses an NL zone at the chosen latitude.
    """
    lat_e, lat_o = _surface_latitudes(lat_even, lat_odd)
    lat_e = np.where(lat_e - ref_lat > 45.0, lat_e - 90.0, lat_e)
    lat_o = np.where(lat_o - ref_lat > 45.0, lat_o - 90.0, lat_o)
    lat, lon = _pair_longitude(lon_even, lon_odd, lat_e, lat_o, newest_odd, 90.0)
    lon = lon + 90.0 * np.floor((ref_lon - lon + 45.0) / 90.0)
    return lat, _wrap(lon)


def surface_candidates(
    lat_even: np.ndarray,
    lon_even: np.ndarray,
    lat_odd: np.ndarray,
    lon_odd: np.ndarray,
    newest_odd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """All eight solutions of surface pairs, as (n, 8) latitude and longitude arrays: the northern
    latitude with its four longitudes, then the southern one (90° less) with its own four."""
    lat_e, lat_o = _surface_latitudes(lat_even, lat_odd)
    lats, lons = [], []
    for shift in (0.0, 90.0):
        lat, lon = _pair_longitude(lon_even, lon_odd, lat_e - shift, lat_o - shift, newest_odd, 90.0)
        for k in range(4):
            lats.append(lat)
            lons.append(_wrap(lon + 90.0 * k))
    return np.stack(lats, axis=1), np.stack(lons, axis=1)


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
