"""GNSS interference per H3 cell and period (gpsjam's method), and position-jump (spoofing) flags.

Method, gpsjam.org's approach as it describes its daily map: aircraft are the sensors. Each aircraft
counts once per H3 cell and period; it is *degraded* there when any of its positions in the cell reported
a degraded navigation figure; the cell's figure is the share of its aircraft that were degraded. The
thresholds are ours (gpsjam publishes its colour bands, not code):
- a position is degraded when NACp < 8 (estimated position uncertainty 0.05 NM, 93 m, or more) or NIC < 7
  (containment radius 0.2 NM or more); it counts only if it carries NACp or NIC at all (OpenSky and
  FR24 rows carry neither and are left out, as are ADS-B version 0 aircraft, which send NUCp only);
- levels as gpsjam colours them: `low` below 2 % of aircraft degraded, `medium` 2-10 %, `high` above
  10 %; a cell with fewer than `min_aircraft` (default 3) aircraft is left out: too few to tell
  interference from one aircraft's faulty receiver;
- H3 resolution 4 by default (cells of ~1,770 km², ~22 km edge) and one UTC day, or hours.

Spoofing leaves the figures good and moves the position instead, so it is flagged from the track:
a fix *jumps* when it is more than `JUMP_KM` from the aircraft's previous fix (at most `JUMP_WINDOW_S`
before) and the distance contradicts the motion, i.e. needs more than twice the reported ground speed
plus 300 kt, or more than 1,200 kt when no speed was reported, or lies more than 90° off the reported
track over a short step; a fix also counts when the aircraft reports more than 150 kt airborne yet has
moved less than a fifth of that over at least 60 s (positions pinned to one spot, as when spoofed
receivers all show the same airport). Each cell-period counts its aircraft with at least one jump (`spoofed`).
Receiver positions are not in the archive, so "farther from the receiver than radio range" is not
checked here.

Speed: `h3.latlng_to_cell` is a Python call per point (~0.5 µs) and h3's NumPy API is not vectorised
either, so each position goes to a fine lat/lon grid cell (a tenth of the hexagon's edge: 0.02° at
resolution 4), only the occupied fine cells are indexed with h3 (at their centres, through a dense
lookup table over the rows' bounding box: no sort), and the rows then reduce on one int64 key
(period | H3 cell | aircraft): runs of one aircraft in one cell collapse in NumPy, the rest in one
Polars hash group-by. A point is assigned to the wrong hexagon only within ~1.5 km of a hexagon's
edge. bench/interference.py measures the whole aggregation.
"""

from __future__ import annotations

from datetime import timedelta

import h3
import numpy as np
import polars as pl


DEGRADED_NACP_BELOW = 8
DEGRADED_NIC_BELOW = 7
LOW_SHARE, HIGH_SHARE = 0.02, 0.10
JUMP_KM = 5.0
JUMP_WINDOW_S = 600.0
NO_SPEED_MAX_KT = 1200.0
KT_KM_PER_S = 1.852 / 3600.0
KM_PER_DEG = 111.195
PERIODS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}

CELL_SCHEMA = {
    "period_start": pl.Datetime("us", "UTC"),
    "cell": pl.String(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "aircraft": pl.UInt32(),
    "degraded": pl.UInt32(),
    "share": pl.Float64(),
    "level": pl.String(),
    "spoofed": pl.UInt32(),
}


def degraded(points: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(known, degraded) per point: whether it carries NACp or NIC, and whether either is below threshold."""
    n = points.height
    nac = points["nac_p"].fill_null(255).to_numpy() if "nac_p" in points.columns else np.full(n, 255, np.uint8)
    nic = points["nic"].fill_null(255).to_numpy() if "nic" in points.columns else np.full(n, 255, np.uint8)
    known = (nac != 255) | (nic != 255)
    bad = (nac < DEGRADED_NACP_BELOW) | (nic < DEGRADED_NIC_BELOW)  # null (255) is never below
    return known, bad


def _steps(lat: np.ndarray, lon: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north km of the steps `rows` (step i: fix i → i + 1; local flat Earth: steps are short)."""
    dlon = lon[rows + 1] - lon[rows]
    dlon = np.where(np.abs(dlon) > 180.0, dlon - np.sign(dlon) * 360.0, dlon)  # across the antimeridian
    coslat = np.cos(np.radians(0.5 * (lat[rows] + lat[rows + 1])))
    return dlon * coslat * KM_PER_DEG, (lat[rows + 1] - lat[rows]) * KM_PER_DEG


def _addresses(points: pl.DataFrame) -> np.ndarray:
    return points["icao24"].str.to_integer(base=16, strict=False).fill_null(0).to_numpy().astype(np.int64)


def position_jumps(points: pl.DataFrame, arrays: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Per point (frame sorted by icao24, timestamp): True where the fix jumps against the motion."""
    n = points.height
    if n < 2:
        return np.zeros(n, bool)
    got = arrays or {}
    lat = got["lat"] if "lat" in got else points["latitude"].to_numpy()
    lon = got["lon"] if "lon" in got else points["longitude"].to_numpy()
    t = got["t"] if "t" in got else points["timestamp"].dt.epoch("us").to_numpy()
    codes = got["icao"] if "icao" in got else _addresses(points)
    # candidates first, with no trigonometry: a step longer than JUMP_KM moves more than JUMP_KM/√2 in
    # latitude or in longitude-degrees-at-the-equator; and steps a minute or more apart
    step = np.float64(JUMP_KM / np.sqrt(2.0) / KM_PER_DEG)
    dlat, dlon = np.diff(lat), np.diff(lon)
    moved = np.abs(dlat) > step
    moved |= np.abs(dlon) > step
    dt_us = np.diff(t)
    cand = np.union1d(np.flatnonzero(moved), np.flatnonzero(dt_us >= 60_000_000))
    jump = np.zeros(n - 1, bool)
    if cand.size == 0:
        return np.concatenate(([False], jump))
    dt = dt_us[cand] * 1e-6
    near = (codes[cand + 1] == codes[cand]) & (dt > 0) & (dt <= JUMP_WINDOW_S)
    east, north = _steps(lat, lon, cand)
    km = np.hypot(east, north)
    speed = points["groundspeed"].cast(pl.Float64).fill_null(np.nan).to_numpy()[cand + 1]
    track = points["track"].cast(pl.Float64).fill_null(np.nan).to_numpy()[cand + 1]
    allowed_kt = np.where(np.isnan(speed), NO_SPEED_MAX_KT, 2.0 * speed + 300.0)
    too_far = km > JUMP_KM + dt * allowed_kt * KT_KM_PER_S
    bearing = np.degrees(np.arctan2(east, north)) % 360.0
    off = np.abs((bearing - track + 180.0) % 360.0 - 180.0)
    backwards = (dt <= 60.0) & ~np.isnan(track) & (off > 90.0)
    with np.errstate(invalid="ignore"):
        pinned = (dt >= 60.0) & (speed > 150.0) & (km < 0.2 * speed * KT_KM_PER_S * dt)
    jump[cand] = near & (((km > JUMP_KM) & (too_far | backwards)) | pinned)
    return np.concatenate(([False], jump))


DENSE_GRID_MAX = 60_000_000  # fine cells in the rows' bounding box up to which a dense lookup table is used


def _h3_of_rows(gi: np.ndarray, gj: np.ndarray, grid_deg: float, width: int, resolution: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(index into `cells` per row, distinct H3 cells as uint64), each fine cell indexed at its centre once."""
    if gi.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    i0, j0 = int(gi.min()), int(gj.min())
    h, w = int(gi.max()) - i0 + 1, int(gj.max()) - j0 + 1
    if h * w <= DENSE_GRID_MAX:  # a table over the bounding box: no sort of the rows
        local = (gi - np.int32(i0)) * np.int32(w)
        local += gj - np.int32(j0)
        occupied = np.zeros(h * w, bool)
        occupied[local] = True
        fine = np.flatnonzero(occupied)
        fi, fj = fine // w + i0, fine % w + j0
    else:  # rows spread over most of the globe: sort them instead
        fine, local = np.unique(gi.astype(np.int64) * width + gj, return_inverse=True)
        fi, fj = fine // width, fine % width
    lat = (fi + 0.5) * grid_deg - 90.0
    lon = (fj + 0.5) * grid_deg - 180.0
    to_cell = h3.api.numpy_int.latlng_to_cell
    ids = np.fromiter((to_cell(a, b, resolution) for a, b in zip(lat.tolist(), lon.tolist())),
                      dtype=np.uint64, count=fine.size)
    cells, index = np.unique(ids, return_inverse=True)
    if h * w <= DENSE_GRID_MAX:
        table = np.zeros(h * w, np.int64 if index.size and index.max() >= 2**31 else np.int32)
        table[fine] = index
        return table[local], cells
    return index[local].astype(np.int64), cells


BAD, KNOWN, JUMP = 1, 2, 4  # flag bits


def interference(
    points: pl.DataFrame,
    resolution: int = 4,
    period: str = "day",
    grid_deg: float | None = None,
    min_aircraft: int = 3,
    spoofing: bool = True,
) -> pl.DataFrame:
    """Cells × periods with their aircraft, degraded aircraft, share, level and spoofed aircraft.

    `points`: archive rows (icao24, timestamp, latitude, longitude, nac_p, nic; groundspeed and track
    for the spoofing flags), sorted by icao24, timestamp as the archive and `points_for` give them.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, not {period!r}")
    if points.height == 0:
        return pl.DataFrame(schema=CELL_SCHEMA)
    arrays = {"lat": points["latitude"].to_numpy(), "lon": points["longitude"].to_numpy(),
              "t": points["timestamp"].dt.epoch("us").to_numpy(), "icao": _addresses(points)}
    known, bad = degraded(points)
    jumps = position_jumps(points, arrays) if spoofing else np.zeros(points.height, bool)
    keep = known | jumps
    if "onground" in points.columns:
        keep &= ~points["onground"].fill_null(False).to_numpy()
    rows = slice(None) if keep.all() else np.flatnonzero(keep)
    if grid_deg is None:  # a tenth of the hexagon's edge
        grid_deg = h3.average_hexagon_edge_length(resolution, "km") / KM_PER_DEG / 10.0
    lat, lon = arrays["lat"][rows], arrays["lon"][rows]
    width = int(round(360.0 / grid_deg))
    inv = 1.0 / grid_deg
    gi = np.minimum(((lat + 90.0) * inv).astype(np.int32), int(round(180.0 / grid_deg)) - 1)
    gj = ((lon + 180.0) * inv).astype(np.int32)
    gj[gj >= width] -= width  # longitude 180 exactly
    step_us = int(PERIODS[period].total_seconds() * 1e6)
    bucket = arrays["t"][rows] // step_us
    first = int(bucket.min()) if bucket.size else 0
    if bucket.size and int(bucket.max()) - first >= 1 << 11:
        raise ValueError("window too long for one aggregation (at most 2,048 periods)")
    icao = arrays["icao"][rows]
    flags = bad[rows].astype(np.uint8) * BAD | known[rows].astype(np.uint8) * KNOWN | jumps[rows].astype(np.uint8) * JUMP
    # 1. fine grid cell of each row → H3 cell index, one h3 call per occupied fine cell
    cell_of_row, cells = _h3_of_rows(gi, gj, grid_deg, width, resolution)
    # 2. one int64 key per (period, H3 cell, aircraft): 11 | 28 | 24 bits; consecutive rows of one
    #    aircraft in one cell collapse first (input sorted by aircraft and time), then a hash group-by
    key = cell_of_row.astype(np.int64) << 24
    key |= icao
    if bucket.size and bucket.max() > first:
        key |= (bucket - first) << 52
    if key.size:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        key, flags = key[starts], np.bitwise_or.reduceat(flags, starts)
    per_aircraft = pl.DataFrame({"k": key, "f": flags}).group_by("k").agg(pl.col("f").bitwise_or())
    k = per_aircraft["k"].to_numpy()
    per_aircraft = pl.DataFrame({"b": k >> 52, "c": (k >> 24) & ((1 << 28) - 1), "f": per_aircraft["f"]})
    # 3. per (period, cell)
    f = pl.col("f")
    out = per_aircraft.group_by("b", "c").agg(
        ((f & KNOWN) > 0).sum().cast(pl.UInt32).alias("aircraft"),
        (((f & KNOWN) > 0) & ((f & BAD) > 0)).sum().cast(pl.UInt32).alias("degraded"),
        ((f & JUMP) > 0).sum().cast(pl.UInt32).alias("spoofed"),
    ).filter((pl.col("aircraft") >= min_aircraft) | (pl.col("spoofed") > 0))
    if out.height == 0:
        return pl.DataFrame(schema=CELL_SCHEMA)
    ids = cells[out["c"].to_numpy()]
    centres = [h3.api.numpy_int.cell_to_latlng(int(c)) for c in ids]
    share = pl.when(pl.col("aircraft") > 0).then(pl.col("degraded") / pl.col("aircraft"))
    return out.with_columns(
        ((pl.col("b") + first) * step_us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("period_start"),
        pl.Series("cell", [h3.int_to_str(int(c)) for c in ids], pl.String),
        pl.Series("latitude", [c[0] for c in centres], pl.Float64),
        pl.Series("longitude", [c[1] for c in centres], pl.Float64),
        share.alias("share"),
    ).with_columns(
        pl.when(pl.col("aircraft") < min_aircraft).then(None)
        .when(pl.col("share") > HIGH_SHARE).then(pl.lit("high"))
        .when(pl.col("share") >= LOW_SHARE).then(pl.lit("medium"))
        .otherwise(pl.lit("low")).alias("level"),
    ).select(list(CELL_SCHEMA)).sort("period_start", "cell")


def cell_boundary(cell: str) -> list[tuple[float, float]]:
    """The hexagon's vertices as (lat, lon)."""
    return [tuple(v) for v in h3.cell_to_boundary(cell)]


def most_reporting(points: pl.DataFrame, resolution: int = 4, period: str = "day") -> int:
    """The most aircraft reporting integrity figures in any one cell and period (0 if none).

    Why: an empty map has two causes the user fixes differently, no NACp/NIC in the data
    at all, or fewer aircraft per cell than `min_aircraft`; this tells them apart.
    """
    cells = interference(points, resolution, period, min_aircraft=1, spoofing=False)
    return int(cells["aircraft"].max() or 0) if cells.height else 0
