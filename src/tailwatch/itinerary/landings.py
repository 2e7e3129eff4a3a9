"""Take-offs and landings from points, with the evidence for each: one implementation for
archive analysis and the live watcher.

Evidence, strongest first:
- `ground`: airborne points followed (or preceded) without a gap by points on the ground;
- `touch-and-go`: the same, with less than a minute on the ground before flying on;
- `low-descent` / `low-climb`: the track ends (starts) at a gap, descending (climbing) within
  `LOW_AGL_FT` of an airport's elevation and `LOW_KM` of it — a landing nobody heard.
A track that simply stops at altitude is never a landing here (a nearest-airport guess at
32,000 ft is what `stops.py` reasons about, with its reasons, and labels inferred).
Airports are looked up only for these candidate points, never for every point.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.itinerary.flights import GAP_S, piece_summary

GROUND_AIRPORT_KM = 10.0  # ground points this close to an airport's reference point are at it
LOW_AGL_FT = 1_000.0  # ~6 km out on a 3° approach; higher is reasoned over (stops.py), not observed
LOW_KM = 8.0
TOUCH_AND_GO_S = 60.0
KIND_FACTOR = {"large": 1.0, "medium": 1.15, "unknown": 1.4, "small": 1.8}

EVENT_SCHEMA = {
    "icao24": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "kind": pl.String(),
    "airport": pl.String(),
    "distance_km": pl.Float64(),
    "altitude": pl.Float64(),
    "evidence": pl.String(),
    "piece": pl.Int64(),
}


def airports_at(lat: np.ndarray, lon: np.ndarray, max_km: float, min_runway_ft: float | None = None) -> pl.DataFrame:
    """The airport each point is at: among the 4 nearest within `max_km`, the one with the
    smallest distance weighted by size (a strip 1 km closer does not beat the big airport
    whose runway the track is on). One row per point (`query`, the airport columns,
    `distance_km`); nulls where none is close. Array work over the KD-tree's answer: only the
    chosen airport's row is gathered."""
    from tailwatch.geo.airports import COLUMNS, chord_km, nearest_rows

    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    n = lat.size
    index, idx, chord = nearest_rows(lat, lon, max_km, min_runway_ft, k=4)
    size = index.frame.height
    factor = np.r_[_kind_factors(index), np.inf]  # the row past the end: no airport
    km = chord_km(chord)
    weighted = np.where(idx < size, km * factor[np.minimum(idx, size)], np.inf)
    best = np.argmin(weighted, axis=1) if n else np.zeros(0, np.int64)
    chosen = idx[np.arange(n), best]
    found = chosen < size
    rows = index.frame[np.where(found, chosen, 0)] if size else index.frame.clear(n)
    mask = pl.Series("found", found)
    return rows.with_columns(
        [pl.when(mask).then(pl.col(c)).otherwise(None).alias(c) for c in COLUMNS]
    ).with_columns(
        pl.Series("query", np.arange(n, dtype=np.int64)),
        pl.Series("distance_km", np.where(found, km[np.arange(n), best], np.nan)).fill_nan(None),
    ).select("query", *COLUMNS, "distance_km")


def airport_codes_at(lat: np.ndarray, lon: np.ndarray, max_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`airports_at` as three arrays (ICAO code or None, distance km or NaN, elevation ft or NaN) with
    no frame built: for hundreds of thousands of points (an airport history) that need only these."""
    from tailwatch.geo.airports import chord_km, nearest_rows

    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    n = lat.size
    index, idx, chord = nearest_rows(lat, lon, max_km, None, k=4)
    size = index.frame.height
    factor = np.r_[_kind_factors(index), np.inf]
    km = chord_km(chord)
    weighted = np.where(idx < size, km * factor[np.minimum(idx, size)], np.inf)
    best = np.argmin(weighted, axis=1) if n else np.zeros(0, np.int64)
    chosen = idx[np.arange(n), best]
    found = chosen < size
    codes, elevations = _code_arrays(index)
    at = np.where(found, chosen, size)
    return codes[at], np.where(found, km[np.arange(n), best], np.nan), elevations[at]


@lru_cache(maxsize=16)  # per index (indexes are made once per runway need)
def _code_arrays(index) -> tuple[np.ndarray, np.ndarray]:
    """Every airport's ICAO code (None past the end) and elevation (NaN) of a `nearest_rows` index."""
    elevations = np.array([np.nan if e is None else float(e) for e in index.array("elevation_ft")])
    return index.array("icao"), elevations


@lru_cache(maxsize=16)
def _kind_factors(index) -> np.ndarray:
    """The size weight (`KIND_FACTOR`) of every airport of a `nearest_rows` index (null kind: never
    preferred)."""
    return np.array([np.inf if k is None else KIND_FACTOR.get(k, 2.0) for k in index.array("kind")[:-1]])


def _with_neighbours(table: pl.DataFrame) -> pl.DataFrame:
    gap_prev = (pl.col("t0") - pl.col("t1").shift(1).over("icao24")).dt.total_microseconds() / 1e6
    gap_next = (pl.col("t0").shift(-1).over("icao24") - pl.col("t1")).dt.total_microseconds() / 1e6
    dur = (pl.col("t1") - pl.col("t0")).dt.total_microseconds() / 1e6
    return table.with_columns(
        (gap_prev <= GAP_S).fill_null(False).alias("joined_prev"),
        (gap_next <= GAP_S).fill_null(False).alias("joined_next"),
        pl.col("ground").shift(1).over("icao24").alias("ground_prev"),
        pl.col("ground").shift(-1).over("icao24").alias("ground_next"),
        dur.alias("duration_s"),
        dur.shift(1).over("icao24").alias("duration_prev"),
        dur.shift(-1).over("icao24").alias("duration_next"),
        pl.col("lat1").shift(1).over("icao24").alias("lat_prev1"),
        pl.col("lon1").shift(1).over("icao24").alias("lon_prev1"),
        pl.col("lat0").shift(-1).over("icao24").alias("lat_next0"),
        pl.col("lon0").shift(-1).over("icao24").alias("lon_next0"),
        pl.col("t0").shift(-1).over("icao24").alias("t_next0"),
    )


def events_from_pieces(table: pl.DataFrame) -> pl.DataFrame:
    """Take-off and landing events from a piece table (see `flights.piece_table`)."""
    if table.height == 0:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    t = _with_neighbours(table)
    touch = (
        pl.col("ground") & (pl.col("duration_s") < TOUCH_AND_GO_S) & pl.col("joined_prev") & pl.col("joined_next")
        & ~pl.col("ground_prev").fill_null(True) & ~pl.col("ground_next").fill_null(True)
    )
    t = t.with_columns(touch.alias("touch"))
    t = t.with_columns(pl.col("touch").shift(1).over("icao24").fill_null(False).alias("touch_prev"),
                       pl.col("touch").shift(-1).over("icao24").fill_null(False).alias("touch_next"))
    air = ~pl.col("ground")
    tng_prev, tng_next = pl.col("touch_prev"), pl.col("touch_next")
    # observed with ground contact
    takeoff_g = t.filter(air & pl.col("joined_prev") & pl.col("ground_prev").fill_null(False)).select(
        "icao24", "piece", pl.col("t0").alias("timestamp"), pl.lit("takeoff").alias("kind"),
        pl.col("lat_prev1").alias("lat"), pl.col("lon_prev1").alias("lon"), pl.col("alt0").alias("altitude"),
        pl.when(tng_prev).then(pl.lit("touch-and-go")).otherwise(pl.lit("ground")).alias("evidence"),
        pl.lit(GROUND_AIRPORT_KM).alias("max_km"), pl.lit(None, pl.Float64).alias("agl_limit"),
    )
    landing_g = t.filter(air & pl.col("joined_next") & pl.col("ground_next").fill_null(False)).select(
        "icao24", "piece", pl.col("t_next0").alias("timestamp"), pl.lit("landing").alias("kind"),
        pl.col("lat_next0").alias("lat"), pl.col("lon_next0").alias("lon"), pl.col("alt1").alias("altitude"),
        pl.when(tng_next).then(pl.lit("touch-and-go")).otherwise(pl.lit("ground")).alias("evidence"),
        pl.lit(GROUND_AIRPORT_KM).alias("max_km"), pl.lit(None, pl.Float64).alias("agl_limit"),
    )
    # a low climb out of / descent into a gap
    low = LOW_AGL_FT + 15_000.0  # coarse pre-filter; the airport's elevation decides below
    takeoff_l = t.filter(
        air & ~pl.col("joined_prev") & (pl.col("alt0") < low) & (pl.col("vrate0").fill_null(0.0) > 100.0)
    ).select(
        "icao24", "piece", pl.col("t0").alias("timestamp"), pl.lit("takeoff").alias("kind"),
        pl.col("lat0").alias("lat"), pl.col("lon0").alias("lon"), pl.col("alt0").alias("altitude"),
        pl.lit("low-climb").alias("evidence"), pl.lit(LOW_KM).alias("max_km"), pl.lit(LOW_AGL_FT).alias("agl_limit"),
    )
    landing_l = t.filter(
        air & ~pl.col("joined_next") & (pl.col("alt1") < low) & (pl.col("vrate1").fill_null(0.0) < -100.0)
    ).select(
        "icao24", "piece", pl.col("t1").alias("timestamp"), pl.lit("landing").alias("kind"),
        pl.col("lat1").alias("lat"), pl.col("lon1").alias("lon"), pl.col("alt1").alias("altitude"),
        pl.lit("low-descent").alias("evidence"), pl.lit(LOW_KM).alias("max_km"), pl.lit(LOW_AGL_FT).alias("agl_limit"),
    )
    cand = pl.concat([takeoff_g, landing_g, takeoff_l, landing_l], how="vertical_relaxed")
    if cand.height == 0:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    at = airports_at(cand["lat"].to_numpy(), cand["lon"].to_numpy(), max_km=max(GROUND_AIRPORT_KM, LOW_KM))
    cand = cand.with_columns(
        at["icao"].alias("airport"), at["distance_km"].alias("distance_km"), at["elevation_ft"].alias("elev")
    )
    within = pl.col("distance_km") <= pl.col("max_km")
    cand = cand.with_columns(pl.when(within).then(pl.col("airport")).alias("airport"),
                             pl.when(within).then(pl.col("distance_km")).alias("distance_km"))
    low_ok = pl.col("agl_limit").is_null() | (
        pl.col("airport").is_not_null()
        & ((pl.col("altitude") - pl.col("elev").fill_null(0.0)) <= pl.col("agl_limit"))
    )
    return (
        cand.filter(low_ok)
        .select([pl.col(c).cast(d) for c, d in EVENT_SCHEMA.items()])
        .sort(["icao24", "timestamp"])
    )


def phase_events(points: pl.DataFrame) -> pl.DataFrame:
    """Take-off and landing events for every aircraft in `points` (vectorised).

    Columns: icao24, timestamp, kind ('takeoff'|'landing'), airport (ICAO or null when no
    airport is near a ground contact), distance_km, altitude (ft), evidence ('ground',
    'touch-and-go', 'low-climb', 'low-descent'), piece (id of the airborne piece the event
    bounds). Works on a recent window of points as well as on a whole archive scan.
    """
    return events_from_pieces(piece_summary(points))
