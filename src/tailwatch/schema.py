"""The canonical point schema every reader produces and the archive stores.

Column names follow the `traffic` library so frames move between the two tools
without renaming; dtypes are pinned here because a silently widened or narrowed
column (string timestamps, float64 altitudes) breaks filters downstream.
"""

from __future__ import annotations

import numpy as np
import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")

POINT_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP,
    "icao24": pl.String(),
    "callsign": pl.String(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "altitude": pl.Float32(),
    "geoaltitude": pl.Float32(),
    "groundspeed": pl.Float32(),
    "track": pl.Float32(),
    "vertical_rate": pl.Float32(),
    "onground": pl.Boolean(),
    "squawk": pl.String(),
    "source": pl.String(),
}

COLUMNS: list[str] = list(POINT_SCHEMA)

# Schema extension (docs/schema.md): optional, nullable columns a reader may produce beyond the
# canonical ones and the archive keeps after them. Files written before a column existed read
# it as null, so adding one here never breaks an archive.
# Navigation integrity and accuracy in force at the position (ADS-B sources that carry them).
INTEGRITY_SCHEMA: dict[str, pl.DataType] = {
    "nic": pl.UInt8(),  # Navigation Integrity Category 0-11 (ADS-B versions 1, 2)
    "nac_p": pl.UInt8(),  # Navigation Accuracy Category for position 0-11
    "sil": pl.UInt8(),  # Source Integrity Level 0-3
    "nuc_p": pl.UInt8(),  # Navigation Uncertainty Category for position 0-9 (from the type code; version 0's figure)
    "rc_m": pl.Float32(),  # horizontal radius of containment, metres (from NIC, or NUCp in version 0)
    "adsb_version": pl.UInt8(),  # ADS-B version announced by the aircraft (0 DO-260, 1 DO-260A, 2 DO-260B)
}
# How a position was obtained, where the source says it (readsb trace flags / `type`,
# aircraft.json `type`/`mlat`/`tisb`, Beast MLAT timestamps); null where the source does not say.
POSITION_SOURCES: tuple[str, ...] = ("adsb", "mlat", "tisb", "adsc", "other")
EXTENSION_SCHEMA: dict[str, pl.DataType] = {
    "new_leg": pl.Boolean(),  # readsb trace flag: this point starts a new leg (set by the source's own leg logic)
    **INTEGRITY_SCHEMA,
    "position_source": pl.String(),  # one of POSITION_SOURCES; null: the source does not say
    "time_assumed": pl.Boolean(),  # true: the time was not in the data (e.g. a Beast capture dated from its file's time)
}
ARCHIVE_SCHEMA: dict[str, pl.DataType] = {**POINT_SCHEMA, **EXTENSION_SCHEMA}
ARCHIVE_COLUMNS: list[str] = list(ARCHIVE_SCHEMA)

# Identity claims a recording makes about an aircraft (archive table `seen/`, docs/schema.md):
# one row per (icao24, source file, distinct claim), with the span of times it was made over.
# Readers put them in `Rejects.seen`; the pipeline writes them beside the points.
SEEN_SCHEMA: dict[str, pl.DataType] = {
    "icao24": pl.String(),
    "registration": pl.String(),
    "typecode": pl.String(),  # ICAO type designator as the source gives it (e.g. "A320", "IL76")
    "description": pl.String(),  # the source's free-text type description (readsb `desc`)
    "operator": pl.String(),  # operator / airline / owner-operator as the source names it (FR24 airline, readsb `ownOp`)
    "year": pl.Int16(),  # year built (readsb `year`)
    "military": pl.Boolean(),  # readsb/aircraft.json dbFlags bit 1
    "interesting": pl.Boolean(),  # dbFlags bit 2
    "pia": pl.Boolean(),  # dbFlags bit 4: privacy ICAO address
    "ladd": pl.Boolean(),  # dbFlags bit 8: limiting aircraft data displayed
    "callsign": pl.String(),
    "origin": pl.String(),  # the source's own origin airport (FR24: ICAO code), null where it gives none
    "destination": pl.String(),  # the source's own destination airport
    "source": pl.String(),  # reader name (as the points' `source`)
    "file": pl.String(),  # the recording the claim was read from
    "first": TIMESTAMP,  # first and last time the claim was made (or the recording's span)
    "last": TIMESTAMP,
}

# Unit conversions used by readers of SI-unit sources (OpenSky, FR24 metres).
M_TO_FT = 1.0 / 0.3048
MS_TO_KT = 3600.0 / 1852.0
MS_TO_FPM = 60.0 / 0.3048


def empty_points() -> pl.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    return pl.DataFrame(schema=POINT_SCHEMA)


def conform(frame: pl.DataFrame, source: str | None = None) -> pl.DataFrame:
    """Return `frame` with exactly the canonical columns, in order, with pinned dtypes.

    Missing optional columns are added as nulls; `source` is filled when given.
    Identifiers are normalised: icao24 lower-case hex, callsign stripped upper case.
    """
    exprs: list[pl.Expr] = []
    names = set(frame.columns)
    for name, dtype in POINT_SCHEMA.items():
        if name == "source" and source is not None:
            exprs.append(pl.lit(source, dtype=pl.String()).alias("source"))
        elif name in names:
            exprs.append(pl.col(name).cast(dtype, strict=False).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    out = frame.select(exprs)
    return out.with_columns(pl.col("icao24").str.strip_chars().str.to_lowercase(), normal_callsigns(out["callsign"]))


def _normal_callsign(col: pl.Expr) -> pl.Expr:
    return col.str.strip_chars().str.to_uppercase().replace("", None)


def normal_callsigns(callsigns: pl.Series) -> pl.Series:
    """Callsigns stripped, upper case, empty as null.

    Worked out on the distinct values and mapped back when they are few (a batch holds a
    few hundred callsigns over a million rows): upper-casing every row cost half the
    validation of a batch.
    """
    distinct = callsigns.unique()
    if distinct.len() * 8 > callsigns.len():
        return callsigns.to_frame().select(_normal_callsign(pl.col(callsigns.name))).to_series()
    normal = distinct.to_frame().select(_normal_callsign(pl.col(callsigns.name))).to_series()
    return callsigns.replace_strict(distinct, normal, return_dtype=pl.String)


def with_extensions(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the archive's columns: canonical, then each extension (null where absent)."""
    names = set(frame.columns)
    return frame.select(
        [pl.col(c) for c in COLUMNS]
        + [pl.col(c).cast(t, strict=False) if c in names else pl.lit(None, dtype=t).alias(c)
           for c, t in EXTENSION_SCHEMA.items()]
    )


def positions_only(frame: pl.DataFrame) -> pl.DataFrame:
    """Keep rows that carry a usable position (finite, in range) and a valid address."""
    return frame.filter(
        pl.col("latitude").is_between(-90.0, 90.0)
        & pl.col("longitude").is_between(-180.0, 180.0)
        & pl.col("latitude").is_not_nan()
        & pl.col("longitude").is_not_nan()
        & pl.col("icao24").str.contains(r"^[0-9a-f]{6}$")
        & pl.col("timestamp").is_not_null()
    )


def epoch_us(times: pl.Series) -> np.ndarray:
    """A datetime column's microseconds since the epoch, as `times.dt.epoch("us").to_numpy()` gives
    them (floats with NaN where null, when there is a null). A column already in microseconds is
    read as its integers: no query plan (a Series method costs one of its own, and a batch asks
    this of every aircraft and trip)."""
    if isinstance(times.dtype, pl.Datetime) and times.dtype.time_unit == "us":
        return times.cast(pl.Int64).to_numpy()
    return times.dt.epoch("us").to_numpy()
