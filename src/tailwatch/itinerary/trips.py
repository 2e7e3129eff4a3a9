"""Trips: an aircraft's track split where it was not tracked for longer than inference can reason over.

Why: the gap inference (`gaps`, `stopcount`, `locate`) names the *fewest* stops that explain a
silence, at most two. That is a fair reading of a gap of hours; over days it invents: an aircraft
seen in 2018 and again in 2021 got "stops" in a three-year silence, and its hiding evidence sampled
the straight line between the two positions every minute for three years. So a silence longer than
`UNTRACKED_AFTER_S` is not reasoned over at all: the itinerary says "not tracked for N days" and
the points on either side are separate *trips*, each built on its own (its open ends as at the
start and end of the data). Nothing per gap ever sees a silence that long.

The bound, 48 h (docs/itinerary.md, "Not tracked"): the longest chain the inference can name is
two stops, three legs. The type with the longest legs in `data/aircraft_types.csv` (Il-76MD,
8,615 km with a light payload at 424 kt: 11.0 h) flies three of them with two minimum turnarounds
(30 min, plus 15 min of approach and departure each) in 34.5 h. 48 h is that and a night on the
ground; a longer silence can hide a whole rotation, whatever the type, and naming one or two stops
in it would be invention. The sparse bench's gaps (2–16 h) all stay under it.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

UNTRACKED_AFTER_S = 48 * 3600.0  # a silence longer than this splits the track into trips


def trip_ids(dt_prev_s: np.ndarray) -> np.ndarray:
    """Trip number of each point (or piece) of ONE aircraft, in time order, from the seconds since the
    previous one (NaN for the first): a new trip starts after every silence over the bound."""
    dt = np.nan_to_num(np.asarray(dt_prev_s, dtype=np.float64), nan=0.0)
    return np.cumsum(dt > UNTRACKED_AFTER_S, dtype=np.int64)


def with_trips(sorted_points: pl.DataFrame) -> pl.DataFrame:
    """`sorted_points` (one aircraft, in time order) with an Int64 `trip` column."""
    if sorted_points.height == 0:
        return sorted_points.with_columns(pl.lit(None, dtype=pl.Int64).alias("trip"))
    t = sorted_points["timestamp"].dt.epoch("us").to_numpy() / 1e6
    dt = np.empty_like(t)
    dt[0] = np.nan
    dt[1:] = np.diff(t)
    return sorted_points.with_columns(pl.Series("trip", trip_ids(dt)))


def days_text(seconds: float) -> str:
    days = seconds / 86400.0
    return f"{days:,.0f} days" if days >= 10 else f"{days:,.1f} days"


def untracked_entry(start: datetime, end: datetime, before: int) -> dict:
    """The JSON entry (and note) for the silence between trip `before` and trip `before + 1`."""
    seconds = (end - start).total_seconds()
    return {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days": round(seconds / 86400.0, 2),
        "trips": [before, before + 1],
        "reason": (f"not tracked for {days_text(seconds)}: longer than {UNTRACKED_AFTER_S / 3600:.0f} h, so no "
                   "stop is inferred in it (it could hide any number of flights); the trips before and "
                   "after are reported apart"),
    }


__all__ = ["UNTRACKED_AFTER_S", "trip_ids", "with_trips", "untracked_entry", "days_text"]
