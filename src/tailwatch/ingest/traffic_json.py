"""Frames already in `traffic`'s column names, as JSON: a records array (traffic's
`collections/*.json.gz`, `pandas.to_json(orient="records")`), JSON lines, or pandas'
default column-oriented layout (`pandas.to_json()`: `{"column": {"index": value, ...}, ...}`,
as some of traffic's samples are written, e.g. `calibration/nice.json.gz`, `noisy/*.json.gz`).

Columns: timestamp (ms or s since the epoch, or ISO text), icao24, latitude,
longitude, and any of callsign, altitude, geoaltitude, groundspeed, track,
vertical_rate, onground, squawk. Unknown columns are ignored. Rows of the raw
Mode S JSON lines (`frame`/`df` keys, jet1090/rs1090) belong to another reader.

Why the column-oriented layout is read rather than refused: it is the same table, only
transposed; read as records it would make one row of structs, which no check downstream
expects. A column-oriented table without the point columns (a performance log, say) is an
unknown format, said so, never half-read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    ENGINE_ERRORS,
    BadInput,
    Rejects,
    UnknownFormat,
    clean_squawk,
    load_json,
    read_all,
    sane_time,
)
from tailwatch.schema import POINT_SCHEMA

SOURCE = "traffic"
REQUIRED = ("timestamp", "icao24", "latitude", "longitude")


def timestamp_expr(dtype: pl.DataType) -> pl.Expr:
    """A traffic-style time column of any common encoding → UTC microseconds.

    Numbers: seconds, or milliseconds / microseconds by magnitude (pandas writes ms).
    """
    col = pl.col("timestamp")
    if dtype.is_temporal():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            out = col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        else:
            out = col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif dtype.is_numeric() or dtype == pl.Float64():
        value = col.cast(pl.Float64, strict=False)
        micros = (
            pl.when(value.abs() > 1e14).then(value)
            .when(value.abs() > 1e11).then(value * 1_000)
            .otherwise(value * 1_000_000)
        )
        out = micros.round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))
    else:
        text = col.cast(pl.String).str.strip_chars().str.replace(r"Z$", "+00:00").str.replace("T", " ")
        with_zone = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%:z", strict=False, time_unit="us")
        naive = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
        out = pl.coalesce(with_zone.dt.convert_time_zone("UTC"), naive.dt.replace_time_zone("UTC"))
    return sane_time(out).alias("timestamp")


def from_traffic_columns(frame: pl.DataFrame | pl.LazyFrame, source: str = SOURCE):
    """Normalise a frame in traffic's names: time encoding, squawk, optional columns, source."""
    schema = frame.collect_schema()
    exprs: list[pl.Expr] = [timestamp_expr(schema["timestamp"])]
    for name, dtype in POINT_SCHEMA.items():
        if name in ("timestamp", "source"):
            continue
        if name not in schema:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "squawk":
            exprs.append(clean_squawk(pl.col("squawk"), numeric=schema["squawk"] != pl.String()).alias("squawk"))
        elif name == "onground" and schema[name] == pl.String():
            low = pl.col(name).str.to_lowercase()
            exprs.append(pl.when(low == "true").then(True).when(low == "false").then(False).alias(name))
        else:
            exprs.append(pl.col(name).cast(dtype, strict=False).alias(name))
    if "source" in schema:
        exprs.append(pl.coalesce(pl.col("source").cast(pl.String), pl.lit(source)).alias("source"))
    else:
        exprs.append(pl.lit(source).alias("source"))
    exprs.extend(pl.col(c) for c in ("_line", "_reason") if c in schema)
    return frame.select(exprs)


def has_traffic_columns(names) -> bool:
    return set(REQUIRED) <= {n.lower() for n in names}


# pandas' column-oriented layout: the first key's value is an object keyed by the row index
COLUMN_ORIENTED = re.compile(rb'^\s*\{\s*"[^"\\]*"\s*:\s*\{\s*("-?[0-9]+"\s*:|\})')


def is_column_oriented(head: bytes) -> bool:
    return COLUMN_ORIENTED.match(head.lstrip(b"\xef\xbb\xbf")) is not None


class TrafficJsonReader:
    name = "traffic-json"

    def sniff(self, head: bytes) -> bool:
        if is_column_oriented(head):  # its first column can fill the head: the other names may be further on
            return True
        start = head.lstrip()[:1]
        if start not in (b"[", b"{") or b'"frame"' in head:
            return False
        return all(f'"{k}"'.encode() in head for k in REQUIRED)

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        data = read_all(path)
        if is_column_oriented(data[:4096]):
            frame = _columns_table(path)
        else:
            lines = data.lstrip()[:1] == b"{"
            try:
                frame = pl.read_ndjson(data, infer_schema_length=None) if lines else pl.read_json(
                    data, infer_schema_length=None
                )
            except (*ENGINE_ERRORS, TypeError, OverflowError):
                frame = self._records(path, data, lines, rejects)
            if frame.height == 0 or not has_traffic_columns(frame.columns):
                raise BadInput(f"{path}: JSON records lack {list(REQUIRED)}")
        frame = frame.rename({c: c.lower() for c in frame.columns})
        nested = [c for c in REQUIRED if isinstance(frame.schema[c], (pl.Struct, pl.List, pl.Array, pl.Object))]
        if nested:  # a shape no reader here knows: said so, never a schema error further on
            raise UnknownFormat(f"{path}: unknown format (JSON whose {', '.join(nested)} are not plain values)")
        rejects.records += frame.height
        out = from_traffic_columns(frame)
        for start in range(0, out.height, batch_rows):
            yield out.slice(start, batch_rows)

    def _records(self, path: Path, data: bytes, lines: bool, rejects: Rejects) -> pl.DataFrame:
        """Slow, forgiving path: one record at a time, bad records counted with their place."""
        records: list[dict] = []
        if lines:
            for lineno, line in enumerate(data.split(b"\n"), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    rejects.add("invalid JSON line", f"{path}:{lineno}")
                    continue
                if isinstance(record, dict):
                    records.append(record)
                else:
                    rejects.add("JSON line is not an object", f"{path}:{lineno}")
        else:
            doc = load_json(path)
            if not isinstance(doc, list):
                raise BadInput(f"{path}: expected a JSON array of records")
            for i, record in enumerate(doc):
                if isinstance(record, dict):
                    records.append(record)
                else:
                    rejects.add("record is not an object", f"{path}: [{i}]")
        keys = sorted({k for r in records for k in r if isinstance(k, str)})
        wanted = [k for k in keys if k.lower() in POINT_SCHEMA]
        return pl.DataFrame(
            {k: pl.Series([_scalar(r.get(k)) for r in records], dtype=pl.String) for k in wanted}
        ).with_columns(
            pl.col(k).cast(pl.Float64, strict=False) for k in wanted if k.lower() == "timestamp"
        ) if records else pl.DataFrame()


def _columns_table(path: Path) -> pl.DataFrame:
    """pandas' column-oriented JSON (`{"column": {"index": value}}`) as a frame, rows in the
    first column's index order; a column without a row's index holds null there."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not doc or not all(isinstance(v, dict) for v in doc.values()):
        raise UnknownFormat(f"{path}: unknown format (a JSON object, not a table of columns)")
    lower = {k.lower() for k in doc}
    missing = [k for k in REQUIRED if k not in lower]
    if missing:
        raise UnknownFormat(f"{path}: unknown format (a column-oriented JSON table without the point "
                            f"columns {', '.join(missing)})")
    if len(lower) < len(doc):
        raise BadInput(f"{path}: column-oriented JSON repeats a column (names differ only in case)")
    index = list(next(iter(doc.values())))
    columns = {}
    for name, cells in doc.items():
        values = list(cells.values()) if list(cells) == index else [cells.get(k) for k in index]
        columns[name] = _series(name, values)
    return pl.DataFrame(columns)


def _series(name: str, values: list) -> pl.Series:
    """One column of JSON values; mixed kinds (numbers and text) as text, cast later like CSV."""
    try:
        series = pl.Series(name, values, strict=False)
    except (*ENGINE_ERRORS, TypeError, OverflowError):
        series = pl.Series(name, [_scalar(v) for v in values], dtype=pl.String)
    if isinstance(series.dtype, (pl.Struct, pl.List, pl.Object)):
        series = pl.Series(name, [_scalar(v) for v in values], dtype=pl.String)
    return series


def _scalar(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


READER = TrafficJsonReader()
