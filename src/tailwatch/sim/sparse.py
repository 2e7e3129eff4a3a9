"""Thin tracks to the coverage open networks really have.

Why by hand: no library models what a volunteer receiver network misses. The model here is
the one analysts describe: nothing over open ocean (beyond a coastal receiver's reach), nothing
over most of Africa (Sahara, Sahel, the centre and the south-west), one position every
1–10 minutes elsewhere (feeders share few positions; aggregators thin), the lowest part of
each climb and descent lost (no feeder near the airport), and receiver outages that hide
2–12 hours around one or two stops. Scoring against the truth is in `sim/scoring.py`, the
simulated trips in `sim/circuits.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

LAND_GRID_DEG = 0.5  # resolution of the land / coastal-reach raster
COASTAL_REACH_KM = 250.0  # a coastal receiver hears a cruising aircraft this far out to sea
# (name, lat_lo, lat_hi, lon_lo, lon_hi): land without receivers that share data
MASKS: tuple[tuple[str, float, float, float, float], ...] = (
    ("Sahara", 16.0, 31.0, -18.0, 36.0),
    ("Sahel", 8.0, 16.0, -18.0, 42.0),
    ("Central Africa", -18.0, 8.0, 8.0, 42.0),
    ("South-west Africa", -30.0, -18.0, 10.0, 25.0),
    ("South Atlantic", -60.0, 8.0, -38.0, 12.0),
)


@dataclass(frozen=True)
class CoverageLevel:
    """How well a trip was heard: masks, sampling, ends cut, outages around stops."""

    name: str
    interval_s: tuple[float, float]  # one position every U(lo, hi) seconds where heard
    masks: bool = True  # no positions over open ocean and the MASKS regions
    cut_below_ft: float | None = 3_000.0  # positions below this altitude are never heard
    outages: int = 0  # receiver outages of `outage_h` hours, each centred on a stop
    outage_h: tuple[float, float] = (2.0, 12.0)


LEVELS: dict[str, CoverageLevel] = {
    "full": CoverageLevel("full", (5.0, 15.0), masks=False, cut_below_ft=None),
    "regional": CoverageLevel("regional", (30.0, 120.0)),
    "sparse": CoverageLevel("sparse", (60.0, 600.0)),
    "sparse+outages": CoverageLevel("sparse+outages", (60.0, 600.0), outages=2),
}
# how an aircraft's earlier trips were heard, for its airport history: regional rates and masks,
# with receivers near the airports it used outside them (no ends cut)
HISTORY_LEVEL = CoverageLevel("history", (30.0, 120.0), masks=False, cut_below_ft=None)


@lru_cache(maxsize=1)
def _reach_grid() -> np.ndarray:
    """Boolean raster (lat rows from -90, lon columns from -180): a position there can be heard
    by some land receiver (on land, or within COASTAL_REACH_KM of it)."""
    from scipy.ndimage import binary_dilation

    from tailwatch.geo.countries import locate

    lat = np.arange(-90.0, 90.0, LAND_GRID_DEG) + LAND_GRID_DEG / 2
    lon = np.arange(-180.0, 180.0, LAND_GRID_DEG) + LAND_GRID_DEG / 2
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    land = locate(glat.ravel(), glon.ravel(), layer="land").reshape(glat.shape) != None  # noqa: E711
    cells = int(np.ceil(COASTAL_REACH_KM / (111.2 * LAND_GRID_DEG)))
    yy, xx = np.mgrid[-cells:cells + 1, -cells:cells + 1]
    disk = (yy ** 2 + xx ** 2) <= cells ** 2
    # longitude wraps: pad, dilate, crop
    padded = np.concatenate([land[:, -cells:], land, land[:, :cells]], axis=1)
    return binary_dilation(padded, structure=disk)[:, cells:-cells]


def audible(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where a position is inside coverage: near land and outside every MASKS region."""
    grid = _reach_grid()
    i = np.clip(((np.asarray(lat) + 90.0) / LAND_GRID_DEG).astype(int), 0, grid.shape[0] - 1)
    j = np.clip(((np.asarray(lon) + 180.0) / LAND_GRID_DEG).astype(int) % grid.shape[1], 0, grid.shape[1] - 1)
    ok = grid[i, j]
    for _, la0, la1, lo0, lo1 in MASKS:
        ok &= ~((lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1))
    return ok


def _sample_times(t: np.ndarray, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Indices into sorted epoch seconds `t` at random intervals U(lo, hi): a thinned feed."""
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = t[-1] - t[0]
    n = int(span / lo) + 2
    marks = t[0] + np.cumsum(rng.uniform(lo, hi, n)) - rng.uniform(0, hi)
    marks = marks[(marks >= t[0]) & (marks <= t[-1])]
    idx = np.searchsorted(t, marks)
    idx = np.clip(idx, 0, t.size - 1)
    # the nearest real point to each mark (within one native step)
    prev = np.clip(idx - 1, 0, t.size - 1)
    idx = np.where(np.abs(t[prev] - marks) < np.abs(t[idx] - marks), prev, idx)
    return np.unique(idx)


def thin(points: pl.DataFrame, level: CoverageLevel, stops: list[tuple[datetime, datetime]] = (),
         seed: int = 0) -> tuple[pl.DataFrame, list[tuple[datetime, datetime]]]:
    """One aircraft's points as `level` would have heard them, and the outages applied.

    `stops` are (landing, take-off) of the truth's intermediate stops, for outages centred on them.
    """
    rng = np.random.default_rng(seed)
    pts = points.sort("timestamp")
    t = pts["timestamp"].dt.epoch("us").to_numpy() / 1e6
    keep = np.zeros(t.size, dtype=bool)
    keep[_sample_times(t, *level.interval_s, rng)] = True
    lat, lon = pts["latitude"].to_numpy(), pts["longitude"].to_numpy()
    if level.masks:
        keep &= audible(lat, lon)
    if level.cut_below_ft is not None:
        alt = pts["altitude"].cast(pl.Float64).fill_null(0.0).to_numpy()
        keep &= alt >= level.cut_below_ft
    applied: list[tuple[datetime, datetime]] = []
    if level.outages and stops:
        picks = rng.choice(len(stops), size=min(level.outages, len(stops)), replace=False)
        for k in sorted(int(p) for p in picks):
            land, off = stops[k]
            hours = rng.uniform(*level.outage_h)
            mid = land + (off - land) / 2
            start, end = mid - timedelta(hours=hours / 2), mid + timedelta(hours=hours / 2)
            s, e = start.timestamp(), end.timestamp()
            keep &= ~((t >= s) & (t < e))
            applied.append((start, end))
    return pts.filter(pl.Series(keep)), applied
