"""readsb / tar1090 / ADS-B Exchange / adsb.lol trace files (`trace_full_<hex>.json`).

Format (readsb README-json, "trace jsons"): an object with `icao`, `timestamp`
(Unix seconds) and `trace`, a list of rows `[0] seconds after timestamp, [1] lat,
[2] lon, [3] altitude ft or "ground" or null, [4] ground speed kt, [5] track deg,
[6] flags, [7] vertical rate ft/min, [8] details object or null (carries `flight`
and `squawk`), [9] source type, [10] geometric altitude ft, [11] geometric
vertical rate, [12] IAS, [13] roll]`. Flags: 1 stale position, 2 start of a new
leg, 4 vertical rate is geometric, 8 altitude is geometric. Files are gzip even
when named `.json` (opened by content).

Why not `json.loads`: a trace holds tens of thousands of mixed-type rows, and
building Python objects for every number costs more than the rest of the ingest.
readsb writes one row per line, so the fast path reads the rows as text lines and
splits them into columns with Polars string kernels. A file not laid out that way
(or damaged) goes through the JSON parser instead, row by row with rejects.

The new-leg flag is emitted as the optional column `new_leg` (not in the canonical
schema; `read_file` keeps it, the archive does not store it yet).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    LINE,
    REASON,
    BadInput,
    Rejects,
    load_json,
    read_all,
    sane_time,
    split_rejects,
)

SOURCE = "readsb-trace"
_ICAO = re.compile(rb'"icao"\s*:\s*"([^"]*)"')
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*(-?[0-9][0-9.eE+-]*)')
_TRACE = re.compile(rb'"trace"\s*:\s*\[')
FLAG_NEW_LEG = 2
FLAG_GEOMETRIC_ALTITUDE = 8


class TraceReader:
    name = "readsb-trace"

    def sniff(self, head: bytes) -> bool:
        start = head.lstrip()[:1]
        return start == b"{" and _TRACE.search(head) is not None and b'"icao"' in head

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        raw = read_all(path)
        frame = _fast_trace(raw, path, rejects)
        if frame is None:
            frame = _json_trace(path, rejects)
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)


def _fast_trace(raw: bytes, path: Path, rejects: Rejects) -> pl.DataFrame | None:
    """Rows as text lines → columns; None when the layout is not one row per line."""
    found = _TRACE.search(raw)
    if found is None:
        raise BadInput(f"{path}: no 'trace' array")
    header = raw[: found.start()]
    icao, base = _ICAO.search(header), _TIMESTAMP.search(header)
    end = raw.rfind(b"]")
    if icao is None or base is None or end < found.end() or raw[end + 1 :].strip() not in (b"}", b""):
        return None  # keys after the trace, or unusual key order: let the JSON parser handle it
    try:
        body = raw[found.end() : end].decode("utf-8")
        address = icao.group(1).decode("ascii")
        t0 = float(base.group(1))
    except (UnicodeDecodeError, ValueError):
        return None
    first_line = raw[: found.end()].count(b"\n") + 1
    lines = pl.Series("row", body.split("\n"), dtype=pl.String)
    text = lines.str.strip_chars(" \t\r")
    table = pl.DataFrame({"row": text, LINE: pl.int_range(first_line, first_line + lines.len(), eager=True)})
    table = table.filter(pl.col("row").str.len_bytes() > 0)
    shape_ok = pl.col("row").str.starts_with("[") & (
        pl.col("row").str.ends_with("]") | pl.col("row").str.ends_with("],")
    )
    if not table.select(shape_ok.all()).item():
        return None
    rejects.records += table.height
    if table.is_empty():
        return None
    row = pl.col("row").str.strip_chars("[],")
    split = table.select(
        pl.col(LINE),
        row.str.splitn(",", 9).alias("fields"),
        row.str.extract(r'"flight"\s*:\s*"([^"]*)"').alias("callsign"),
        row.str.extract(r'"squawk"\s*:\s*"([^"]*)"').alias("squawk"),
    ).unnest("fields")
    names = {f"field_{i}": n for i, n in enumerate(["dt", "lat", "lon", "alt", "gs", "trk", "flags", "vr", "rest"])}
    split = split.rename({k: v for k, v in names.items() if k in split.columns})
    for name in names.values():
        if name not in split.columns:
            split = split.with_columns(pl.lit(None, pl.String).alias(name))
    geo = (
        split.select(pl.col("rest").str.replace(r"^\{[^{}]*\}", "null").str.splitn(",", 4).alias("g"))
        .unnest("g")
    )
    parsed = split.with_columns(
        pl.col("alt").str.strip_chars('"'),
        (geo["field_2"] if "field_2" in geo.columns else pl.lit(None, pl.String)).alias("geo"),
    )
    return _columns(parsed, address, t0, path, rejects)


def _num(name: str, dtype: pl.DataType = pl.Float64()) -> pl.Expr:
    raw = pl.col(name)
    return pl.when(raw == "null").then(None).otherwise(raw).cast(dtype, strict=False)


def _columns(parsed: pl.DataFrame, address: str, t0: float, path: Path, rejects: Rejects) -> pl.DataFrame:
    """String columns of a trace → canonical frame; rows whose position fields do not parse are rejected."""
    typed = parsed.with_columns(
        _num("dt").alias("dt_n"),
        _num("lat").alias("lat_n"),
        _num("lon").alias("lon_n"),
        _num("alt").alias("alt_n"),
        _num("flags", pl.Int64()).fill_null(0).alias("flags_n"),
    )
    bad_num = lambda c, n: pl.col(c).is_not_null() & (pl.col(c) != "null") & pl.col(n).is_null()  # noqa: E731
    reason = (
        pl.when(pl.col("dt_n").is_null()).then(pl.lit("malformed trace row (time offset)"))
        .when(bad_num("lat", "lat_n") | bad_num("lon", "lon_n")).then(pl.lit("malformed trace row (position)"))
        .when(bad_num("alt", "alt_n") & (pl.col("alt") != "ground")).then(pl.lit("malformed trace row (altitude)"))
        .otherwise(None)
        .alias(REASON)
    )
    flags = pl.col("flags_n")
    geometric = (flags & FLAG_GEOMETRIC_ALTITUDE) != 0
    frame = typed.with_columns(reason).select(
        sane_time(
            ((pl.lit(t0) + pl.col("dt_n")) * 1_000_000).round(0).cast(pl.Int64, strict=False)
            .cast(pl.Datetime("us", "UTC"))
        ).alias("timestamp"),
        pl.lit(address.lower().strip()).alias("icao24"),
        pl.col("callsign").str.strip_chars().replace("", None).forward_fill().alias("callsign"),
        pl.col("lat_n").alias("latitude"),
        pl.col("lon_n").alias("longitude"),
        pl.when(geometric).then(None).otherwise(pl.col("alt_n")).alias("altitude"),
        pl.coalesce(_num("geo"), pl.when(geometric).then(pl.col("alt_n"))).alias("geoaltitude"),
        _num("gs").alias("groundspeed"),
        _num("trk").alias("track"),
        _num("vr").alias("vertical_rate"),
        pl.when(pl.col("alt") == "ground").then(True)
        .when(pl.col("alt_n").is_not_null()).then(False)
        .otherwise(None).alias("onground"),
        pl.when(pl.col("squawk").str.contains(r"^[0-7]{4}$")).then(pl.col("squawk")).forward_fill().alias("squawk"),
        pl.lit(SOURCE).alias("source"),
        ((flags & FLAG_NEW_LEG) != 0).alias("new_leg"),
        pl.col(LINE),
        pl.col(REASON),
    )
    return split_rejects(frame, path, rejects)


def _json_trace(path: Path, rejects: Rejects) -> pl.DataFrame:
    """The general path: parse the JSON document, then build the same string columns."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("trace"), list):
        raise BadInput(f"{path}: not a readsb trace (no 'trace' list)")
    icao, t0 = doc.get("icao"), doc.get("timestamp")
    if not isinstance(icao, str) or not isinstance(t0, (int, float)) or isinstance(t0, bool):
        raise BadInput(f"{path}: readsb trace without 'icao' or numeric 'timestamp'")
    trace = doc["trace"]
    rejects.records += len(trace)
    rows = [r if isinstance(r, list) and len(r) >= 3 else None for r in trace]
    for i in [i for i, r in enumerate(rows) if r is None]:
        rejects.add("malformed trace row (not a list)", f"{path}: trace[{i}]")
    good = [r for r in rows if r is not None]
    if not good:
        return pl.DataFrame()
    cols = list(itertools.zip_longest(*good))
    cols += [(None,) * len(good)] * (11 - len(cols))

    def text(values: tuple) -> pl.Series:
        return pl.Series(values=[_text(v) for v in values], dtype=pl.String)

    details = cols[8]
    parsed = pl.DataFrame(
        {
            LINE: pl.Series([None] * len(good), dtype=pl.Int64),
            "dt": text(cols[0]),
            "lat": text(cols[1]),
            "lon": text(cols[2]),
            "alt": text(cols[3]),
            "gs": text(cols[4]),
            "trk": text(cols[5]),
            "flags": text(cols[6]),
            "vr": text(cols[7]),
            "geo": text(cols[10]),
            "callsign": pl.Series([d.get("flight") if isinstance(d, dict) else None for d in details], dtype=pl.String,
                                  strict=False),
            "squawk": pl.Series([d.get("squawk") if isinstance(d, dict) else None for d in details], dtype=pl.String,
                                strict=False),
        }
    )
    return _columns(parsed, icao, float(t0), path, rejects)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, (int, float, str)):
        return str(value)
    return "bad"


TRACE_READER = TraceReader()
