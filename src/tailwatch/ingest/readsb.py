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

The new-leg flag is emitted as the extension column `new_leg`; the details object's
navigation integrity (`nic`, `nac_p`, `sil`, `rc` metres, `version`) as the extension
columns `nic`, `nac_p`, `sil`, `rc_m`, `adsb_version` (docs/schema.md), carried forward
from the last details object of the file as readsb itself holds them between reports.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    ENGINE_ERRORS,
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
_SPACE = re.compile(rb"\s*")
_TIMESTAMP_VALUE = re.compile(rb"-?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_TRACE_ROWS = re.compile(rb'"trace"\s*:\s*\[\s*\[\s*-?[0-9]')
FLAG_NEW_LEG = 2
FLAG_GEOMETRIC_ALTITUDE = 8


class TraceReader:
    name = "readsb-trace"

    def sniff(self, head: bytes) -> bool:
        start = head.lstrip()[:1]
        return start == b"{" and (
            (_TRACE.search(head) is not None and b'"icao"' in head) or _TRACE_ROWS.search(head) is not None
        )

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        (frame,) = self.read_many([path], [rejects])
        if isinstance(frame, BadInput):
            raise frame
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)

    def read_many(self, paths: list[Path], rejects: list[Rejects]) -> list[pl.DataFrame | BadInput]:
        """Many trace files in one columnar pass (one file each is mostly fixed costs).

        Returns, per path, its canonical frame or the BadInput that file raised.
        """
        raws: list[bytes | None] = []
        out: list[pl.DataFrame | BadInput | None] = []
        for path in paths:
            try:
                raws.append(read_all(path))
                out.append(None)
            except BadInput as exc:
                raws.append(None)
                out.append(exc)
        todo = [i for i, raw in enumerate(raws) if raw is not None]
        fast = _fast_traces([(paths[i], raws[i]) for i in todo], [rejects[i] for i in todo])
        for i, frame in zip(todo, fast):
            if frame is None:  # not one row per line, or damaged: the JSON parser decides
                try:
                    frame = _json_trace(paths[i], rejects[i])
                except BadInput as exc:
                    frame = exc
            out[i] = frame
        return out  # type: ignore[return-value]


MAX_BAD_ROW_SHARE = 0.05
# details-object keys → our column names (integrity; docs/schema.md)
INTEGRITY_KEYS = {"nic": "nic", "nac_p": "nac_p", "sil": "sil", "rc": "rc_m", "version": "adsb_version"}
TRACE_COLUMNS = ["dt", "lat", "lon", "alt", "gs", "trk", "flags", "vr", "details", "kind", "geo"]


def _fast_traces(items: list[tuple[Path, bytes]], rejects: list[Rejects]) -> list[pl.DataFrame | None]:
    """Rows of many traces as one CSV-like text → columns; None for a file not laid out one row per line.

    Fields 0-7 precede the details object, so a comma-split gives them right on every
    row; the details object (callsign, squawk) and the geometric altitude after it
    are read by regex from the rows that have one.
    """
    results: list[pl.DataFrame | None] = [None] * len(items)
    spans, meta = [], []
    for k, (path, raw) in enumerate(items):
        found = _TRACE.search(raw)
        if found is None:
            continue
        header = raw[: found.start()]
        icao, base = _ICAO.search(header), _TIMESTAMP.search(header)
        end = raw.rfind(b"]")
        if icao is None or base is None or end < found.end() or raw[end + 1 :].strip() not in (b"}", b""):
            continue  # keys after the trace, or unusual key order
        start = _SPACE.match(raw, found.end()).end()
        stop = end
        while stop > start and raw[stop - 1] in b" \t\r\n":
            stop -= 1
        if (stop <= start or raw.find(b"\x1f", start, stop) >= 0 or raw.find(b"\r", start, stop) >= 0
                or _has_blank_line(raw, start, stop)):
            continue
        m = _TIMESTAMP_VALUE.fullmatch(base.group(1))
        if m is None:
            continue
        address = icao.group(1).decode("ascii", errors="replace").strip().lower()
        t0 = float(base.group(1))
        first_line = raw.count(b"\n", 0, start) + 1
        spans.append((raw, start, stop))
        meta.append((k, address, t0, first_line))
    rows = _read_rows(spans) if spans else None
    if rows is None:
        return results
    numbers, lines, counts = rows
    file_index = pl.Series("_file", np.repeat(np.array([m[0] for m in meta], dtype=np.int32), counts))
    per_file = pl.DataFrame(
        {
            "_file": [m[0] for m in meta],
            "_address": [m[1] for m in meta],
            "_t0": [m[2] for m in meta],
            "_first": [m[3] for m in meta],
            "_start": [sum(counts[:i]) for i in range(len(counts))],
        },
        schema={"_file": pl.Int32, "_address": pl.String, "_t0": pl.Float64, "_first": pl.Int64, "_start": pl.Int64},
    )
    with_details = lines["row"].str.contains("{", literal=True)
    after = pl.col("row").str.slice(pl.col("row").str.find("}", literal=True) + 1)
    detail_rows = lines.filter(with_details).select(
        pl.col("row").str.extract(r'"flight":\s*"([^"]*)"').alias("callsign"),
        pl.col("row").str.extract(r'"squawk":\s*"([^"]*)"').alias("squawk"),
        after.str.splitn(",", 4).struct.field("field_2").alias("geo"),  # `},"type",geo,...`
        *(pl.col("row").str.extract(rf'"{key}":\s*([0-9.]+)').alias(name) for key, name in INTEGRITY_KEYS.items()),
    )
    # each row's details row (null: none), then one gather per column: scattering strings into
    # a column of a million rows cost a fifth of reading the traces
    slot = np.full(numbers.height, -1, dtype=np.int64)
    slot[with_details.arg_true().to_numpy()] = np.arange(detail_rows.height)
    detail_of_row = pl.DataFrame({"i": slot}).select(pl.when(pl.col("i") >= 0).then(pl.col("i")))["i"]
    spread = detail_rows.select(pl.all().gather(detail_of_row))

    def scatter(name: str, fallback: pl.Series | None = None) -> pl.Series:
        if fallback is None:
            return spread[name]
        return pl.select(pl.when(detail_of_row.is_not_null()).then(spread[name]).otherwise(fallback)).to_series()

    table = pl.concat(
        [
            numbers.with_columns(
                file_index,
                scatter("callsign").alias("callsign"),
                scatter("squawk").alias("squawk"),
                scatter("geo", numbers["geo"]).alias("geo"),
                *(scatter(name).alias(name) for name in INTEGRITY_KEYS.values()),
                pl.int_range(0, numbers.height, dtype=pl.Int64).alias("_row"),
            ),
            # each row's file facts, by position (rows are in file order): a gather, not a join
            per_file.drop("_file")[pl.Series(np.repeat(np.arange(len(meta)), counts))],
        ],
        how="horizontal",
    )
    # A row must open with '['. A file with a few bad rows keeps the others (bad rows are
    # rejected with their line); one mostly not in this layout goes to the JSON parser.
    row_ok = pl.col("dt").str.strip_chars_start(" \t").str.starts_with("[")
    table = table.with_columns(row_ok.alias("_ok"))
    if not table["_ok"].has_nulls() and table["_ok"].all():
        good_files = per_file["_file"]
    else:
        shape = table.group_by("_file").agg(pl.col("_ok").mean().alias("ok"))
        good_files = shape.filter(pl.col("ok") >= 1 - MAX_BAD_ROW_SHARE)["_file"]
        table = table.filter(pl.col("_file").is_in(good_files.implode()))
    if table.is_empty():
        return results
    table = table.with_columns(
        (pl.col("_first") + pl.col("_row") - pl.col("_start")).alias(LINE),
        pl.when(pl.col("_ok")).then(pl.col("dt")).alias("dt"),
    ).with_columns(
        pl.col("dt").str.strip_chars_start("[ \t"),
        pl.col("alt").str.strip_chars('"]'),
        pl.col("vr").str.strip_chars_end("]"),  # last field of the short rows of old readsb versions
        pl.col("geo").str.strip_chars(" ]"),
    )
    frames = _columns(table.lazy(), None, None, None, None)
    for k, n in frames.group_by("_file").len().iter_rows():
        rejects[k].records += n
    bad = frames.filter(pl.col(REASON).is_not_null())
    if bad.height:
        for (k,), rows in bad.partition_by("_file", as_dict=True).items():
            split_rejects(rows, items[k][0], rejects[k])
        frames = frames.filter(pl.col(REASON).is_null())
    frames = frames.drop(REASON)
    for k in good_files.to_list():
        results[k] = frames.clear()
    # rows are in file order: each file's frame is a slice (no copy)
    runs = frames.group_by("_file", maintain_order=True).len()
    frames = frames.drop("_file")
    offset = 0
    for k, n in runs.iter_rows():
        results[k] = frames.slice(offset, n)
        offset += n
    return results


def _read_rows(spans: list[tuple[bytes, int, int]]) -> tuple[pl.DataFrame, pl.DataFrame, list[int]] | None:
    """The rows of many bodies (`raw[start:stop]` each) read in one pass: split at commas, and
    whole (for the details objects), with each body's row count; None if the readers' rows
    do not match the text's lines.

    One join of the bodies without slicing them first, and the rows counted in place: per
    file copies and counts cost a third of reading the traces.
    """
    text = b"\n".join(memoryview(raw)[a:b] for raw, a, b in spans)
    counts = [raw.count(b"\n", a, b) + 1 for raw, a, b in spans]
    try:
        numbers = pl.read_csv(
            text, has_header=False, schema={n: pl.String() for n in TRACE_COLUMNS}, quote_char=None,
            truncate_ragged_lines=True, missing_columns="insert", extra_columns="ignore",
        )
        lines = pl.read_csv(
            text, has_header=False, separator="\x1f", schema={"row": pl.String()}, quote_char=None,
            truncate_ragged_lines=True, missing_columns="insert", extra_columns="ignore",
        )
    except ENGINE_ERRORS:
        return None
    if numbers.height != sum(counts) or lines.height != sum(counts):
        return None
    return numbers, lines, counts


def _has_blank_line(raw: bytes, start: int, stop: int) -> bool:
    """Two newlines in a row in `raw[start:stop]` (the CSV reader would make a row of nothing).

    `bytes.find(b"\\n\\n")` is slow on text with a newline every ~100 bytes; one NumPy pass is not.
    """
    newline = np.frombuffer(raw, dtype=np.uint8, offset=start, count=stop - start) == 10
    return bool((newline[1:] & newline[:-1]).any())


def _fast_trace(raw: bytes, path: Path, rejects: Rejects) -> pl.DataFrame | None:
    """One file through the batched path."""
    return _fast_traces([(path, raw)], [rejects])[0]


def _num(name: str, dtype: pl.DataType = pl.Float64()) -> pl.Expr:
    return pl.col(name).cast(dtype, strict=False)


def _columns(parsed: pl.LazyFrame, address: str | None, t0: float | None, path: Path | None,
             rejects: Rejects | None) -> pl.DataFrame:
    """String columns of traces → canonical frame with `_reason` set on rows whose position does not parse.

    With `address`/`t0` None they come from the `_address`/`_t0` columns (many files at
    once, told apart by `_file`); with `path` given, rejects are split off here.
    """
    by_file = address is None
    if by_file:
        parsed = parsed.with_columns(pl.col("_address").alias("_addr"), pl.col("_t0").alias("_base"))
    else:
        parsed = parsed.with_columns(pl.lit(address.strip().lower()).alias("_addr"),
                                     pl.lit(t0, dtype=pl.Float64).alias("_base"))
    group = ["_file"] if by_file else None

    def carried(expr: pl.Expr) -> pl.Expr:
        if not group:
            return expr.forward_fill()
        # Forward fill within each file: fill across the whole table, then blank the rows whose
        # filled value came from an earlier file (a window `over` the files costs several times more).
        source_file = pl.when(expr.is_not_null()).then(pl.col("_file")).forward_fill()
        return pl.when(source_file == pl.col("_file")).then(expr.forward_fill())

    def bad(raw: str, number: str) -> pl.Expr:
        text = pl.col(raw).str.strip_chars()
        return text.is_not_null() & (text != "null") & pl.col(number).is_null()

    typed = parsed.with_columns(
        _num("dt").alias("dt_n"),
        _num("lat").alias("lat_n"),
        _num("lon").alias("lon_n"),
        _num("alt").alias("alt_n"),
        _num("flags", pl.Int64()).fill_null(0).alias("flags_n"),
    )
    reason = (
        pl.when(pl.col("dt_n").is_null()).then(pl.lit("malformed trace row (time offset)"))
        .when(bad("lat", "lat_n") | bad("lon", "lon_n")).then(pl.lit("malformed trace row (position)"))
        .when(bad("alt", "alt_n") & (pl.col("alt") != "ground")).then(pl.lit("malformed trace row (altitude)"))
        .otherwise(None)
        .alias(REASON)
    )
    flags = pl.col("flags_n")
    geometric = (flags & FLAG_GEOMETRIC_ALTITUDE) != 0
    frame = typed.with_columns(reason).select(
        sane_time(
            ((pl.col("_base") + pl.col("dt_n")) * 1_000_000).round(0).cast(pl.Int64, strict=False)
            .cast(pl.Datetime("us", "UTC"))
        ).alias("timestamp"),
        pl.col("_addr").alias("icao24"),  # normalised per file, not per row
        carried(pl.col("callsign").str.strip_chars().replace("", None)).alias("callsign"),
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
        carried(pl.when(pl.col("squawk").str.contains(r"^[0-7]{4}$")).then(pl.col("squawk"))).alias("squawk"),
        pl.lit(SOURCE).alias("source"),
        ((flags & FLAG_NEW_LEG) != 0).alias("new_leg"),
        *(carried(_num(name, pl.Float32() if name == "rc_m" else pl.UInt8())).alias(name)
          for name in INTEGRITY_KEYS.values()),
        pl.col(LINE),
        pl.col(REASON),
        *([pl.col("_file")] if by_file else []),
    ).collect()
    return split_rejects(frame, path, rejects) if path is not None and rejects is not None else frame


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
            **{name: text(tuple(d.get(key) if isinstance(d, dict) else None for d in details))
               for key, name in INTEGRITY_KEYS.items()},
        }
    )
    return _columns(parsed.lazy(), icao, float(t0), path, rejects)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, (int, float, str)):
        return str(value)
    return "bad"


TRACE_READER = TraceReader()
