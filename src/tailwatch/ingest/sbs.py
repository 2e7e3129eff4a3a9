"""SBS-1 / BaseStation text (port 30003 of dump1090, readsb, Virtual Radar Server).

22 comma-separated fields: message type (MSG, SEL, ID, AIR, STA, CLK),
transmission type (1-8), session id, aircraft id, hex ident, flight id, date and
time generated, date and time logged, callsign, altitude (ft), ground speed (kt),
track (deg), latitude, longitude, vertical rate (ft/min), squawk, alert,
emergency, SPI, is-on-ground. MSG,1 carries the callsign, MSG,3 the airborne
position, MSG,2 the surface position, MSG,4 the velocity, MSG,5-7 altitude and
squawk.

A position row is completed with the address's latest earlier callsign, speed,
track, vertical rate and squawk (within `CARRY_S`), as receivers do: one
vectorised forward fill per address, not a per-message state machine. Values
carried across batches come from the last rows of the previous batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    LINE,
    REASON,
    Rejects,
    first_line,
    lazy_text_table,
    parse_exprs,
    split_rejects,
    stream_batches,
)

SOURCE = "sbs"
FIELDS = [
    "message_type", "transmission_type", "session_id", "aircraft_id", "hex_ident", "flight_id",
    "date_generated", "time_generated", "date_logged", "time_logged", "callsign", "altitude",
    "ground_speed", "track", "lat", "lon", "vertical_rate", "squawk", "alert", "emergency", "spi", "is_on_ground",
]
TYPES: dict[str, pl.DataType] = {
    "transmission_type": pl.Int8(),
    "altitude": pl.Float64(),
    "ground_speed": pl.Float64(),
    "track": pl.Float64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "vertical_rate": pl.Float64(),
    "is_on_ground": pl.Boolean(),
}
CARRY_S = 60  # speed, track, rate older than this are not attached to a position
CARRIED = ["callsign", "groundspeed", "track", "vertical_rate", "squawk", "altitude", "onground"]
RECORD_TYPES = {"MSG", "SEL", "ID", "AIR", "STA", "CLK"}


class SbsReader:
    name = "sbs"

    def sniff(self, head: bytes) -> bool:
        line = first_line(head)
        fields = line.split(",")
        return len(fields) >= 10 and fields[0].strip() in RECORD_TYPES

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        casts, reason = parse_exprs(TYPES, FIELDS)
        lazy = lazy_text_table(path, has_header=False, new_columns=FIELDS)
        stamp = (
            pl.concat_str(
                pl.coalesce(pl.col("date_generated"), pl.col("date_logged")), pl.lit(" "),
                pl.coalesce(pl.col("time_generated"), pl.col("time_logged")),
            )
            .str.strip_chars()
            .str.to_datetime("%Y/%m/%d %H:%M:%S%.f", strict=False, time_unit="us", time_zone="UTC")
        )
        kind = pl.col("message_type").str.strip_chars()
        pipeline = lazy.with_columns(reason).with_columns(casts).with_columns(
            pl.when(kind != "MSG").then(pl.lit("not a MSG record"))
            .when(pl.col("hex_ident").is_null()).then(pl.lit("MSG without address"))
            .when(stamp.is_null()).then(pl.lit("unparsable date/time"))
            .otherwise(pl.col(REASON)).alias(REASON),
            stamp.alias("timestamp"),
        )
        carry: pl.DataFrame | None = None
        for batch in stream_batches(path, pipeline, batch_rows):
            rejects.records += batch.height
            other = pl.col(REASON) == "not a MSG record"
            skipped = batch.filter(other).height
            if skipped:  # SEL/ID/AIR/STA/CLK records carry no position: counted, not malformed
                rejects.counts["not a MSG record"] += skipped
            good = split_rejects(batch.filter(~other.fill_null(False)), path, rejects)
            frame, carry = _join_messages(good, carry)
            yield frame


def _join_messages(msgs: pl.DataFrame, carry: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Attach each address's latest callsign/velocity/squawk to its position messages."""
    canonical = msgs.select(
        pl.col("timestamp"),
        pl.col("hex_ident").str.strip_chars().str.to_lowercase().alias("icao24"),
        pl.col("callsign").str.strip_chars().replace("", None),
        pl.col("lat").alias("latitude"),
        pl.col("lon").alias("longitude"),
        pl.col("altitude"),
        pl.col("ground_speed").alias("groundspeed"),
        pl.col("track"),
        pl.col("vertical_rate"),
        pl.col("is_on_ground").alias("onground"),
        pl.col("squawk").str.strip_chars().replace("", None),
        pl.col(LINE),
        pl.col("transmission_type"),
    )
    if carry is not None:
        canonical = pl.concat([carry, canonical], how="vertical_relaxed")
    ordered = canonical.with_row_index("_order").sort(["icao24", "timestamp", "_order"])
    filled = ordered.with_columns(
        [
            pl.col(c).forward_fill().over("icao24").alias(c)
            for c in CARRIED
        ]
        + [
            pl.when(pl.col(c).is_not_null()).then(pl.col("timestamp")).forward_fill().over("icao24").alias(f"_t_{c}")
            for c in ("groundspeed", "track", "vertical_rate")
        ]
    )
    fresh = [
        pl.when(pl.col("timestamp") - pl.col(f"_t_{c}") <= pl.duration(seconds=CARRY_S)).then(pl.col(c)).alias(c)
        for c in ("groundspeed", "track", "vertical_rate")
    ]
    filled = filled.with_columns(fresh)
    next_carry = (
        filled.group_by("icao24").agg(pl.all().sort_by("timestamp").last()).drop("_order", *[
            f"_t_{c}" for c in ("groundspeed", "track", "vertical_rate")
        ])
        .with_columns(pl.lit(None, pl.Float64).alias("latitude"), pl.lit(None, pl.Float64).alias("longitude"),
                      pl.lit(None, pl.Int64).alias(LINE).cast(canonical.schema[LINE]))
        .select(canonical.columns)
    )
    positions = filled.filter(pl.col("transmission_type").is_in([2, 3]) & pl.col("latitude").is_not_null())
    positions = positions.sort("_order").drop("_order", "transmission_type", *[
        f"_t_{c}" for c in ("groundspeed", "track", "vertical_rate")
    ]).with_columns(pl.lit(SOURCE).alias("source"))
    return positions, next_carry


READER = SbsReader()
