"""Fields of DF17/18 position messages: airborne (TC 9-18, 20-22) and surface (TC 5-8).

Only the raw CPR fields and the per-message quantities live here; turning CPR
into latitude/longitude needs pairs or references and is done in `cpr.py`.
"""

from __future__ import annotations

import numpy as np

from tailwatch.ingest.modes.bits import bits

CPR_SCALE = float(1 << 17)


def cpr_fields(msg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(odd flag, lat fraction, lon fraction) of each position message (bits 54, 55-71, 72-88)."""
    odd = bits(msg, 54, 54).astype(bool)
    lat = bits(msg, 55, 71) / CPR_SCALE
    lon = bits(msg, 72, 88) / CPR_SCALE
    return odd, lat, lon


def cpr_raw(msg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 17-bit CPR integers, as transmitted."""
    return bits(msg, 55, 71), bits(msg, 72, 88)


# Surface movement: (first code, knots at that code, knots per step) of each quantisation band (DO-260B).
_MOVEMENT_BANDS = ((2, 0.125, 0.125), (9, 1.0, 0.25), (13, 2.0, 0.5), (39, 15.0, 1.0), (94, 70.0, 2.0), (109, 100.0, 5.0))


def _movement_table() -> np.ndarray:
    table = np.full(128, np.nan)
    table[1] = 0.0
    for first, knots, step in _MOVEMENT_BANDS:
        codes = np.arange(first, 124)
        table[codes] = knots + (codes - first) * step
    table[124] = 175.0
    return table


_MOVEMENT = _movement_table()


def surface_speed(msg: np.ndarray) -> np.ndarray:
    """Ground speed in knots from the movement field (NaN when not available)."""
    return _MOVEMENT[bits(msg, 38, 44)]


def surface_track(msg: np.ndarray) -> np.ndarray:
    """Ground track in degrees when its status bit says valid, else NaN."""
    valid = bits(msg, 45, 45) == 1
    return np.where(valid, bits(msg, 46, 52) * (360.0 / 128.0), np.nan)
