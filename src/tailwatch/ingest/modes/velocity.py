"""Airborne velocity (DF17/18 type code 19, BDS 0,9), all subtypes, column-wise.

Subtypes 1-2 give ground speed as east/north components (2 = supersonic, x4);
subtypes 3-4 give heading and air speed. Unavailable values are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.ingest.modes.bits import bits


@dataclass
class Velocity:
    subtype: np.ndarray
    groundspeed: np.ndarray  # kt (subtypes 1-2)
    track: np.ndarray  # deg true (subtypes 1-2)
    heading: np.ndarray  # deg magnetic (subtypes 3-4)
    airspeed: np.ndarray  # kt (subtypes 3-4)
    airspeed_is_tas: np.ndarray  # bool (subtypes 3-4)
    vertical_rate: np.ndarray  # ft/min
    vertical_rate_is_gnss: np.ndarray  # bool: source bit (0 = GNSS, 1 = barometric)
    geo_minus_baro: np.ndarray  # ft


def velocity(msg: np.ndarray) -> Velocity:
    st = bits(msg, 38, 40)
    ground = (st == 1) | (st == 2)
    air = (st == 3) | (st == 4)
    factor = np.where((st == 2) | (st == 4), 4.0, 1.0)

    v_ew = bits(msg, 47, 56).astype(np.float64)
    v_ns = bits(msg, 58, 67).astype(np.float64)
    ok = ground & (v_ew > 0) & (v_ns > 0)
    vx = np.where(bits(msg, 46, 46) == 1, -1.0, 1.0) * (v_ew - 1) * factor
    vy = np.where(bits(msg, 57, 57) == 1, -1.0, 1.0) * (v_ns - 1) * factor
    gs = np.where(ok, np.hypot(vx, vy), np.nan)
    trk = np.where(ok, np.degrees(np.arctan2(vx, vy)) % 360.0, np.nan)

    hdg_ok = air & (bits(msg, 46, 46) == 1)
    heading = np.where(hdg_ok, bits(msg, 47, 56) * (360.0 / 1024.0), np.nan)
    as_raw = bits(msg, 58, 67).astype(np.float64)
    airspeed = np.where(air & (as_raw > 0), (as_raw - 1) * factor, np.nan)

    vr_raw = bits(msg, 70, 78).astype(np.float64)
    vr = np.where(
        (ground | air) & (vr_raw > 0), np.where(bits(msg, 69, 69) == 1, -1.0, 1.0) * (vr_raw - 1) * 64.0, np.nan
    )
    vr = vr + 0.0  # no negative zero
    dalt = bits(msg, 82, 88).astype(np.float64)
    gmb = np.where(dalt > 0, np.where(bits(msg, 81, 81) == 1, -1.0, 1.0) * (dalt - 1) * 25.0, np.nan) + 0.0
    return Velocity(
        subtype=st.astype(np.uint8),
        groundspeed=gs,
        track=trk,
        heading=heading,
        airspeed=airspeed,
        airspeed_is_tas=bits(msg, 57, 57) == 1,
        vertical_rate=vr,
        vertical_rate_is_gnss=bits(msg, 68, 68) == 0,
        geo_minus_baro=gmb,
    )
