"""Frames already in `traffic`'s column names, as CSV (plain or compressed).

Header with at least timestamp, icao24, latitude, longitude (see
`traffic_json.from_traffic_columns` for the rest). Read as RFC 4180 (`base.lazy_text_table`:
quotes, quoted commas and line breaks, CR / CRLF / LF, BOM). Streams in batches; a value
that does not parse, or a row with more fields than the header, is a rejected line, with its number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    BadInput,
    Rejects,
    csv_columns,
    header_fields,
    lazy_text_table,
    parse_exprs,
    split_rejects,
    typed_then_lenient,
    with_reason,
)
from tailwatch.ingest.traffic_json import from_traffic_columns, has_traffic_columns, timestamp_expr

TYPES: dict[str, pl.DataType] = {
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "altitude": pl.Float64(),
    "geoaltitude": pl.Float64(),
    "groundspeed": pl.Float64(),
    "track": pl.Float64(),
    "vertical_rate": pl.Float64(),
    "onground": pl.Boolean(),
}


class TrafficCsvReader:
    name = "traffic-csv"

    def sniff(self, head: bytes) -> bool:
        return has_traffic_columns(header_fields(head))

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        lazy = lazy_text_table(path)
        lower = {c: c.strip().strip('"').lower() for c in csv_columns(path, lazy)}
        if len(set(lower.values())) < len(lower) or not has_traffic_columns(lower.values()):
            raise BadInput(f"{path}: CSV header lacks timestamp/icao24/latitude/longitude or repeats a column")
        casts, reason = parse_exprs(TYPES, set(lower.values()))
        # Time may be epoch numbers or ISO text: try both, keep what parsed.
        stamp = pl.coalesce(timestamp_expr(pl.Float64()), timestamp_expr(pl.String()))
        bad_time = pl.when(stamp.is_null() & pl.col("timestamp").is_not_null()).then(pl.lit("unparsable timestamp"))

        def pipeline(table: pl.LazyFrame) -> pl.LazyFrame:
            return from_traffic_columns(
                with_reason(table.rename(lower), pl.coalesce(reason, bad_time.otherwise(None)))
                .with_columns(casts)
                .with_columns(stamp.alias("timestamp"))
            )

        for batch in typed_then_lenient(path, None, pipeline, batch_rows):
            rejects.records += batch.height
            yield split_rejects(batch, path, rejects, records=True)


READER = TrafficCsvReader()
