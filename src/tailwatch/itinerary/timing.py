"""Time in a gap: how fast the type flies and how long a stop takes, for every stop hypothesis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.itinerary.candidates import Context
from tailwatch.itinerary.sides import Side

DEFAULT_CRUISE_KT = 480.0  # used when the type is unknown: a jet freighter's cruise (one place)
TAILWIND_MARGIN = 1.15  # ground speed may exceed cruise TAS by this factor with wind
MIN_TURNAROUND_S = 30 * 60.0  # the shortest credible stop on the ground (refuel, crew)
PHASE_OVERHEAD_S = 15 * 60.0  # descent + approach + departure cost this much over cruise
KT_KMH = 1.852


def time_ok(d_km: np.ndarray, dt_s: float, stops: int, cruise_kt: float) -> np.ndarray:
    """Whether `d_km` at cruise (+ wind margin) plus `stops` turnarounds fit in `dt_s`."""
    v_max = cruise_kt * KT_KMH * TAILWIND_MARGIN
    need = d_km / v_max * 3600.0 + stops * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S)
    return need <= dt_s


@dataclass
class Gap:
    """One gap a landing was decided in: its sides, its length, the type and what else is known."""

    left: Side
    right: Side
    dt_s: float
    cruise: float
    ctx: Context
    came_from: dict | None = None
