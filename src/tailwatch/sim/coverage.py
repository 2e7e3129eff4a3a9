"""Which simulated positions a receiver network hears.

A receiver hears a position when the aircraft is above its radio horizon
(d ≤ 3.57 km · (√h_rx + √h_ac), heights in metres) and within its maximum range, while the
receiver is online; each heard position then survives with probability `p_detect` (collisions,
messages lost). Low aircraft are heard only near a receiver, high ones far away: exactly the
pattern that hides landings at airports without a nearby feeder. Vectorised over points ×
receivers in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import to_unit_vectors, EARTH_RADIUS_KM

HORIZON_K = 3.57  # km per √m, standard 4/3-Earth radio horizon


@dataclass(frozen=True)
class Receiver:
    name: str
    latitude: float
    longitude: float
    antenna_m: float = 20.0
    max_range_km: float = 350.0
    outages: tuple[tuple[datetime, datetime], ...] = ()  # offline windows (UTC)


@dataclass
class Coverage:
    receivers: list[Receiver] = field(default_factory=list)
    p_detect: float = 0.9

    def heard(self, points: pl.DataFrame, seed: int = 7, chunk: int = 200_000) -> np.ndarray:
        """Boolean mask of the points some online receiver hears."""
        n = points.height
        if n == 0 or not self.receivers:
            return np.zeros(n, dtype=bool)
        rx = np.array([[r.latitude, r.longitude] for r in self.receivers])
        rx_v = to_unit_vectors(rx[:, 0], rx[:, 1])
        ant = np.sqrt(np.array([r.antenna_m for r in self.receivers]))
        max_r = np.array([r.max_range_km for r in self.receivers])
        lat, lon = points["latitude"].to_numpy(), points["longitude"].to_numpy()
        alt_m = np.maximum(points["altitude"].fill_null(0.0).to_numpy().astype(float) * 0.3048, 2.0)
        ts = points["timestamp"].dt.epoch("us").to_numpy()
        out = np.zeros(n, dtype=bool)
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            v = to_unit_vectors(lat[lo:hi], lon[lo:hi])
            cosang = np.clip(v @ rx_v.T, -1.0, 1.0)
            d = EARTH_RADIUS_KM * np.arccos(cosang)
            reach = np.minimum(HORIZON_K * (ant[None, :] + np.sqrt(alt_m[lo:hi])[:, None]), max_r[None, :])
            ok = d <= reach
            for j, r in enumerate(self.receivers):
                for start, end in r.outages:
                    s = np.datetime64(start.replace(tzinfo=None), "us").astype(np.int64)
                    e = np.datetime64(end.replace(tzinfo=None), "us").astype(np.int64)
                    ok[:, j] &= ~((ts[lo:hi] >= s) & (ts[lo:hi] < e))
            out[lo:hi] = ok.any(axis=1)
        rng = np.random.default_rng(seed)
        return out & (rng.random(n) < self.p_detect)

    def observe(self, points: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
        return points.filter(pl.Series(self.heard(points, seed)))
