"""The aircraft's own history: airports where it (or its operator's fleet) was seen before.

Analysts resolving an unseen stop by hand look first at where the aircraft has been: freighters
fly circuits, and a stop between two sparse sightings is far more often a place it used before
than a neighbouring airport it never visited. `airports_used` reads that from points alone —
positions on the ground, or low (below LOW_AGL_FT above the field) within LOW_KM of an airport —
so an engine gathers the archive's whole history of the aircraft with one pruned query
(`engines.history`) and no itinerary build; everything here is pure over those frames. Only *observed* presence counts:
an inferred stop never feeds the prior (no self-confirming guesses).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.itinerary.flights import ground_expr
from tailwatch.itinerary.landings import GROUND_AIRPORT_KM, LOW_AGL_FT, LOW_KM, airport_codes_at

HISTORY_MAX_ALT_FT = 12_000.0  # no airport used by transport aircraft lies higher than this minus LOW_AGL_FT
# the columns `presence` reads (an engine need gather no others)
PRESENCE_COLUMNS = ["icao24", "timestamp", "latitude", "longitude", "altitude", "geoaltitude", "groundspeed", "onground"]


def presence(points: pl.DataFrame | None) -> pl.DataFrame:
    """(icao24, icao, day), unique: each day the points show an aircraft at an airport, on the
    ground or low and near. Vectorised over any number of aircraft.

    The nearest-airport query is made once per distinct position (the exact bits of latitude and
    longitude), not once per point: an airport answer depends on its point's position alone, and
    a fleet's weeks of low points come back to the same stands, taxiways and approaches again and
    again (the 4x bench: 0.93 M low points at 0.18 M positions). Each point then takes its
    position's answer, and the test on it (distance, height above the field) is the per-point
    arithmetic it always was, so the rows are those of a query per point."""
    empty = pl.DataFrame(schema={"icao24": pl.String(), "icao": pl.String(), "day": pl.Date()})
    if points is None or points.height == 0:
        return empty
    from tailwatch.schema import POINT_SCHEMA

    missing = [pl.lit(None, dtype=POINT_SCHEMA[c]).alias(c) for c in PRESENCE_COLUMNS if c not in points.columns]
    pts = points.with_columns(missing) if missing else points
    alt = pl.coalesce(pl.col("altitude"), pl.col("geoaltitude")).cast(pl.Float64)
    low = pts.filter(ground_expr() | (alt < HISTORY_MAX_ALT_FT)).select(
        "icao24", pl.col("timestamp").dt.date().alias("day"), ground_expr().alias("ground"), alt.alias("alt"),
        pl.col("latitude").cast(pl.Float64), pl.col("longitude").cast(pl.Float64))
    if low.height == 0:
        return empty
    lat, lon = low["latitude"].to_numpy(), low["longitude"].to_numpy()
    # a position's key is its two floats' bits: equal keys, equal query inputs, equal answers
    low = low.with_columns(pl.Series("_lat", np.ascontiguousarray(lat).view(np.uint64)),
                           pl.Series("_lon", np.ascontiguousarray(lon).view(np.uint64)))
    at = low.select("_lat", "_lon", "latitude", "longitude").unique(["_lat", "_lon"])
    icao, dist, elev = airport_codes_at(at["latitude"].to_numpy(), at["longitude"].to_numpy(),
                                        max(GROUND_AIRPORT_KM, LOW_KM))
    near = icao != None  # noqa: E711
    if not near.any():
        return empty
    found = pl.DataFrame({"_lat": at["_lat"].to_numpy()[near], "_lon": at["_lon"].to_numpy()[near],
                          "icao": icao[near].astype(str), "_dist": dist[near], "_elev": elev[near]})
    hits = low.join(found, on=["_lat", "_lon"], how="inner")
    ground, dist = hits["ground"].to_numpy(), hits["_dist"].to_numpy()
    agl = hits["alt"].fill_null(0.0).to_numpy() - np.nan_to_num(hits["_elev"].to_numpy(), nan=0.0)
    ok = np.where(ground, dist <= GROUND_AIRPORT_KM, (dist <= LOW_KM) & (agl <= LOW_AGL_FT))
    if not ok.any():
        return empty
    return hits.filter(pl.Series(ok)).select("icao24", "icao", "day").unique().cast(empty.schema)


def _days(seen: pl.DataFrame) -> dict[str, int]:
    """Airport → distinct days in `seen` (any addresses), most used first."""
    counts = seen.select("icao", "day").unique().group_by("icao").len().sort(["len", "icao"], descending=[True, False])
    return dict(zip(counts["icao"].to_list(), counts["len"].to_list()))


def airports_used(points: pl.DataFrame | None) -> dict[str, int]:
    """Airport ICAO → number of distinct days the points show the aircraft there (on the ground,
    or low and near), most used first."""
    return _days(presence(points))


FLEET_WEIGHT = 0.5  # a day the operator's other aircraft spent at an airport counts half a day of its own


def addresses_of(fleet: dict[str, list[str]]) -> list[str]:
    """Every address whose low points the priors of `fleet` need: the aircraft and their fleets."""
    return sorted(set(fleet) | {o for others in fleet.values() for o in others})


def priors(seen: pl.DataFrame, fleet: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """The prior of each aircraft of `fleet` from presence rows: days it was seen at each airport,
    plus half the days its operator's other aircraft were (rounded up, at least one). Each
    address's own days are counted in one pass over all the rows (what `_days` gives it alone);
    only a fleet's days are counted per aircraft."""
    own: dict[str, dict[str, int]] = {}
    if seen.height:
        counts = (seen.select("icao24", "icao", "day").unique().group_by("icao24", "icao").len()
                  .sort(["icao24", "len", "icao"], descending=[False, True, False]))
        for icao24, code, days in counts.iter_rows():
            own.setdefault(icao24, {})[code] = days
    by_address: dict[str, pl.DataFrame] | None = None
    out: dict[str, dict[str, int]] = {}
    for icao24, others in fleet.items():
        merged = dict(own.get(icao24, {}))
        if others and any(o in own for o in others):
            if by_address is None:
                by_address = {a: part for (a,), part in seen.partition_by("icao24", as_dict=True).items()}
            for code, days in _days(pl.concat([by_address[o] for o in others if o in by_address])).items():
                merged[code] = merged.get(code, 0) + max(1, int(round(days * FLEET_WEIGHT)))
            merged = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))
        out[icao24] = merged
    return out
