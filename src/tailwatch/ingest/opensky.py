"""OpenSky Network state vectors: historical `state_vectors_data4` exports and REST `/states/all`.

CSV is read as RFC 4180 (`base.lazy_text_table`): a quoted callsign loses its quotes, a quoted
comma stays in its field, CR, CRLF and LF line ends all split rows; a row with more fields
than the header is rejected with its line.

Historical columns: time, icao24, lat, lon, velocity (m/s), heading (deg),
vertrate (m/s), callsign, onground, alert, spi, squawk, baroaltitude (m),
geoaltitude (m), lastposupdate, lastcontact (s), hour. Converted to ft, kt, ft/min.

The point's time is `lastposupdate` (when the position was received) where
present, else `time` (the 10-second snapshot): OpenSky repeats the last position
in every snapshot until a new one arrives, and timing a stale position at the
snapshot would invent movement; with the receive time the repeats collapse in
deduplication.

REST `/states/all`: `{"time": t, "states": [[icao24, callsign, origin_country,
time_position, last_contact, longitude, latitude, baro_altitude, on_ground,
velocity, true_track, vertical_rate, sensors, geo_altitude, squawk, spi,
position_source, (category)], ...]}` — index 7 is barometric and 13 geometric
altitude, both metres.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    LINE,
    REASON,
    BadInput,
    Rejects,
    clean_squawk,
    csv_columns,
    epoch_seconds,
    first_line,
    header_fields,
    lazy_text_table,
    load_json,
    parse_exprs,
    sane_time,
    split_rejects,
    typed_then_lenient,
    with_reason,
)
from tailwatch.schema import M_TO_FT, MS_TO_FPM, MS_TO_KT

STATE_VECTOR_COLUMNS = [
    "time", "icao24", "lat", "lon", "velocity", "heading", "vertrate", "callsign", "onground",
    "alert", "spi", "squawk", "baroaltitude", "geoaltitude", "lastposupdate", "lastcontact", "hour",
]
REQUIRED = {"time", "icao24", "lat", "lon"}
NUMERIC_TYPES: dict[str, pl.DataType] = {
    "time": pl.Float64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "velocity": pl.Float64(),
    "heading": pl.Float64(),
    "vertrate": pl.Float64(),
    "baroaltitude": pl.Float64(),
    "geoaltitude": pl.Float64(),
    "lastposupdate": pl.Float64(),
    "onground": pl.Boolean(),
}


def is_state_vector_columns(columns: list[str] | set[str]) -> bool:
    names = {c.lower() for c in columns}
    return REQUIRED <= names and bool(names & {"baroaltitude", "velocity", "lastposupdate"})


def _time_expr(names: set[str], dtype_time: pl.DataType | None = None) -> pl.Expr:
    time = pl.col("time")
    if dtype_time is not None and dtype_time.is_temporal():
        snapshot = time.cast(pl.Datetime("us", "UTC"))
    else:
        snapshot = epoch_seconds(time)
    if "lastposupdate" in names:
        snapshot = pl.coalesce(epoch_seconds(pl.col("lastposupdate")), snapshot)
    return sane_time(snapshot)


def from_state_vectors(frame: pl.DataFrame | pl.LazyFrame, source: str = "opensky"):
    """Typed state-vector columns (any subset beyond the required ones) → canonical names and units.

    Works on eager and lazy frames alike (the CSV path stays lazy to stream in parallel).
    """
    schema = frame.collect_schema()
    frame = frame.rename({c: c.lower() for c in schema.names() if c != c.lower() and c != LINE})
    schema = frame.collect_schema()
    names = set(schema.names())

    def col(name: str, scale: float = 1.0) -> pl.Expr:
        if name not in names:
            return pl.lit(None, dtype=pl.Float64)
        expr = pl.col(name).cast(pl.Float64, strict=False)
        return expr * scale if scale != 1.0 else expr

    exprs = [
        _time_expr(names, schema.get("time")).alias("timestamp"),
        pl.col("icao24").cast(pl.String),
        (pl.col("callsign").cast(pl.String) if "callsign" in names else pl.lit(None, pl.String)).alias("callsign"),
        col("lat").alias("latitude"),
        col("lon").alias("longitude"),
        col("baroaltitude", M_TO_FT).alias("altitude"),
        col("geoaltitude", M_TO_FT).alias("geoaltitude"),
        col("velocity", MS_TO_KT).alias("groundspeed"),
        col("heading").alias("track"),
        col("vertrate", MS_TO_FPM).alias("vertical_rate"),
        (pl.col("onground").cast(pl.Boolean, strict=False) if "onground" in names else pl.lit(None, pl.Boolean)).alias(
            "onground"
        ),
        (clean_squawk(pl.col("squawk"), numeric=schema["squawk"] != pl.String()) if "squawk" in names
         else pl.lit(None, pl.String)).alias("squawk"),
        pl.lit(source).alias("source"),
    ]
    exprs.extend(pl.col(c) for c in (LINE, REASON) if c in names)
    return frame.select(exprs)


class StateVectorCsvReader:
    """Historical state vectors as CSV (plain or compressed), header required."""

    name = "opensky-csv"

    def sniff(self, head: bytes) -> bool:
        return is_state_vector_columns(header_fields(head))

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        lower = {c: c.strip().lower() for c in csv_columns(path, lazy_text_table(path))}
        if not REQUIRED <= set(lower.values()) or len(set(lower.values())) < len(lower):
            raise BadInput(f"{path}: header lacks {sorted(REQUIRED - set(lower.values()))} or repeats a column")
        original = {v: k for k, v in lower.items()}

        def fast() -> pl.LazyFrame:
            types = {original[c]: t for c, t in NUMERIC_TYPES.items() if c in original}
            return from_state_vectors(lazy_text_table(path, types=types).rename(lower))

        def lenient(table: pl.LazyFrame) -> pl.LazyFrame:
            casts, reason = parse_exprs(NUMERIC_TYPES, set(lower.values()))
            return from_state_vectors(with_reason(table.rename(lower), reason).with_columns(casts))

        for batch in typed_then_lenient(path, fast, lenient, batch_rows):
            rejects.records += batch.height
            yield split_rejects(batch, path, rejects, records=True)


class StatesRestReader:
    """OpenSky REST `/states/all` (or `/states/own`) responses: one snapshot per file."""

    name = "opensky-rest"

    def sniff(self, head: bytes) -> bool:
        text = first_line(head)[:1] == "{" and b'"states"' in head
        return bool(text) and b'"time"' in head

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        doc = load_json(path)
        if not isinstance(doc, dict) or "states" not in doc:
            raise BadInput(f"{path}: not an OpenSky states response (no 'states' key)")
        states = doc.get("states") or []
        if not isinstance(states, list):
            raise BadInput(f"{path}: 'states' is not a list")
        snapshot = doc.get("time")
        rows = [s for s in states if isinstance(s, list) and len(s) >= 17]
        rejects.records += len(states)
        if len(rows) < len(states):
            rejects.add("state is not a list of 17+ fields", f"{path}: states[{_first_bad(states)}]", len(states) - len(rows))
        if not rows:
            return
        columns = list(zip(*[r[:17] for r in rows]))

        def column(i: int, dtype: pl.DataType) -> pl.Series:
            return pl.Series(values=[_scalar(v) for v in columns[i]], dtype=pl.String).cast(dtype, strict=False)

        frame = pl.DataFrame(
            {
                "icao24": column(0, pl.String),
                "callsign": column(1, pl.String),
                "lastposupdate": column(3, pl.Float64),
                "lon": column(5, pl.Float64),
                "lat": column(6, pl.Float64),
                "baroaltitude": column(7, pl.Float64),
                "onground": pl.Series(values=[v if isinstance(v, bool) else None for v in columns[8]], dtype=pl.Boolean),
                "velocity": column(9, pl.Float64),
                "heading": column(10, pl.Float64),
                "vertrate": column(11, pl.Float64),
                "geoaltitude": column(13, pl.Float64),
                "squawk": column(14, pl.String),
            }
        ).with_columns(
            pl.lit(snapshot if isinstance(snapshot, (int, float)) and not isinstance(snapshot, bool) else None,
                   dtype=pl.Float64).alias("time")
        )
        for start in range(0, frame.height, batch_rows):
            yield from_state_vectors(frame.slice(start, batch_rows), source="opensky-rest")


def _scalar(value: object) -> str | None:
    """JSON scalars as text for a uniform cast; containers and booleans are not numbers here."""
    if value is None or isinstance(value, (bool, list, dict)):
        return None
    return str(value)


def _first_bad(states: list) -> int:
    for i, s in enumerate(states):
        if not (isinstance(s, list) and len(s) >= 17):
            return i
    return -1


CSV_READER = StateVectorCsvReader()
REST_READER = StatesRestReader()
