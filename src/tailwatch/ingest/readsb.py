"""readsb / tar1090 / ADS-B Exchange / adsb.lol trace files (`trace_full_<hex>.json`).

Format (readsb README-json, "trace jsons"): an object with `icao`, `timestamp`
(Unix seconds) and `trace`, a list of rows `[0] seconds after timestamp, [1] lat,
[2] lon, [3] altitude ft or "ground" or null, [4] ground speed kt, [5] track deg,
[6] flags, [7] vertical rate ft/min, [8] details object or null (carries `flight`
and `squawk`), [9] source type, [10] geometric altitude ft, [11] geometric
vertical rate, [12] IAS, [13] roll]`. Flags: 1 stale position, 2 start of a new
leg, 4 vertical rate is geometric, 8 altitude is geometric. Files are gzip even
when named `.json` (opened by content).

Every row of every valid JSON layout is read: as readsb writes it (a row per line), the
whole trace on one line, rows separated by ", ", pretty-printed (rows spread over lines),
two rows on one line. Why two paths: a trace holds tens of thousands of mixed-type rows,
and building Python objects for every number costs more than the rest of the ingest, so
files laid out as readsb writes them (a row per line) are split into columns with Polars
string kernels; that fast path takes a file only when its layout proves that lines and rows
are the same thing (`_rows_are_lines`) and no row was rejected. Any other file, or one with
a row the fast path could not read, goes through a real JSON parser (orjson, or the
standard library's), which decides. Only a file that is not valid JSON but is still laid
out a row per line keeps the fast path's reading, its damaged rows rejected with their line
numbers. Every row not stored is counted under "rejected" with its reason.

What the fast path assumes beyond the checks, and readsb always gives: no two details keys
of the same name, and no string that holds a bracket balancing a row split over two lines.

Per point, the trace row's source type (field 9, readsb's `addrtype` names) gives the
extension column `position_source` (`POSITION_SOURCE`; null where the row has none).
The trace's identity claims (`r` registration, `t` type, `desc`, `ownOp`, `year`, `dbFlags`:
bit 1 military, 2 interesting, 4 PIA, 8 LADD; from readsb's aircraft database, README-json)
and the callsigns its details objects state, with the first and last time each was stated,
go to `Rejects.seen` (`schema.SEEN_SCHEMA`): one row per callsign, the file's claims on each;
one row over the trace's span when it states no callsign.

The new-leg flag is emitted as the extension column `new_leg`; the details object's
navigation integrity (`nic`, `nac_p`, `sil`, `rc` metres, `version`) as the extension
columns `nic`, `nac_p`, `sil`, `rc_m`, `adsb_version` (docs/schema.md), carried forward
from the last details object of the file as readsb itself holds them between reports.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
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
    read_all,
    sane_time,
    split_rejects,
)
from tailwatch.schema import SEEN_SCHEMA

try:  # a few times faster than the standard library's parser on traces; the same results
    import orjson

    _loads = orjson.loads
    _JSON_ERROR: type[ValueError] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - declared dependency
    _loads = json.loads
    _JSON_ERROR = json.JSONDecodeError

SOURCE = "readsb-trace"
_TRACE = re.compile(rb'"trace"\s*:\s*\[')
_SPACE = re.compile(rb"\s*")
_TRACE_ROWS = re.compile(rb'"trace"\s*:\s*\[\s*\[\s*-?[0-9]')
FLAG_NEW_LEG = 2
FLAG_GEOMETRIC_ALTITUDE = 8
# readsb's source types (its `addrtype` names, README-json "type") → `schema.POSITION_SOURCES`.
# Any other name it writes (mode_s, mode_ac, other, unknown) → "other"; null or absent → null.
POSITION_SOURCE = {
    "adsb_icao": "adsb", "adsb_icao_nt": "adsb", "adsr_icao": "adsb", "adsb_other": "adsb", "adsr_other": "adsb",
    "mlat": "mlat",
    "tisb_icao": "tisb", "tisb_trackfile": "tisb", "tisb_other": "tisb",
    "adsc": "adsc",
}
DB_FLAGS = {"military": 1, "interesting": 2, "pia": 4, "ladd": 8}  # readsb `dbFlags` bits (README-json)


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

        Returns, per path, its canonical frame or the BadInput that file raised; each file's
        identity claims are in its `Rejects.seen`.
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
        fast = _fast_traces([(paths[i], raws[i]) for i in todo])
        for i, quick in zip(todo, fast):
            if quick is not None and quick.exact:
                out[i] = quick.take(rejects[i])
                continue
            try:  # another layout, or a row the fast path could not read: the JSON parser decides
                out[i] = _json_trace(paths[i], rejects[i], raws[i])
            except BadInput as exc:
                # not valid JSON; laid out a row per line with a few damaged rows, it keeps the
                # fast path's reading, the damaged rows rejected with their lines
                out[i] = quick.take(rejects[i]) if quick is not None else exc
        return out  # type: ignore[return-value]


MAX_BAD_ROW_SHARE = 0.05
# details-object keys → our column names (integrity; docs/schema.md)
INTEGRITY_KEYS = {"nic": "nic", "nac_p": "nac_p", "sil": "sil", "rc": "rc_m", "version": "adsb_version"}
TRACE_COLUMNS = ["dt", "lat", "lon", "alt", "gs", "trk", "flags", "vr", "details", "kind", "geo"]
SAID = "_said"  # the callsign a row's details object states (not carried forward): for `seen`


@dataclass
class _Fast:
    """One file as the fast path read it: `exact` when its layout proves the rows are the lines
    and no row was rejected (then it is what the JSON parser would give)."""

    frame: pl.DataFrame
    rejects: Rejects
    seen: pl.DataFrame
    exact: bool

    def take(self, rejects: Rejects) -> pl.DataFrame:
        rejects.merge(self.rejects)
        rejects.seen = self.seen
        return self.frame


def _header(raw: bytes, found: re.Match) -> dict | None:
    """The keys before `"trace"` through the JSON parser (the rows are left out), or None."""
    try:
        doc = _loads(raw[: found.start()] + b'"trace":[]}')
    except (_JSON_ERROR, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _fast_traces(items: list[tuple[Path, bytes]]) -> list[_Fast | None]:
    """Rows of many traces as one CSV-like text → columns; None for a file not laid out one row per line.

    Fields 0-7 precede the details object, so a comma-split gives them right on every
    row; the details object (callsign, squawk) and the fields after it are read by regex
    from the rows that have one.
    """
    results: list[_Fast | None] = [None] * len(items)
    spans, meta, headers = [], [], {}
    for k, (path, raw) in enumerate(items):
        found = _TRACE.search(raw)
        if found is None:
            continue
        end = raw.rfind(b"]")
        if end < found.end() or raw[end + 1 :].strip() not in (b"}", b""):
            continue  # keys after the trace
        header = _header(raw, found)
        if header is None:
            continue
        icao, base = header.get("icao"), header.get("timestamp")
        if not isinstance(icao, str) or not isinstance(base, (int, float)) or isinstance(base, bool):
            continue
        start = _SPACE.match(raw, found.end()).end()
        stop = end
        while stop > start and raw[stop - 1] in b" \t\r\n":
            stop -= 1
        if (stop <= start or raw.find(b"\x1f", start, stop) >= 0 or raw.find(b"\r", start, stop) >= 0
                or raw.find(b"\\", start, stop) >= 0 or _has_blank_line(raw, start, stop)):
            continue
        headers[k] = header
        first_line = raw.count(b"\n", 0, start) + 1
        spans.append((raw, start, stop))
        meta.append((k, icao.strip().lower(), float(base), first_line))
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
    # the fields after the details object: after its closing brace (a row holds one object)
    after = pl.col("tail").str.splitn(",", 4)
    detail_rows = lines.filter(with_details).with_columns(
        pl.col("row").str.slice(pl.col("row").str.find("}", literal=True) + 1).alias("tail")
    ).select(
        pl.col("row").str.extract(r'"flight":\s*"([^"]*)"').alias("callsign"),
        pl.col("row").str.extract(r'"squawk":\s*"([^"]*)"').alias("squawk"),
        after.struct.field("field_1").alias("kind"),  # `},"type",geo,...`
        after.struct.field("field_2").alias("geo"),
        *(pl.col("row").str.extract(rf'"{key}":\s*([0-9.]+)').alias(name) for key, name in INTEGRITY_KEYS.items()),
        _details_row_whole(pl.col("row"), pl.col("tail")).alias("_whole"),
    )
    row_ok = _rows_are_lines(lines["row"], numbers, with_details, detail_rows["_whole"])
    detail_rows = detail_rows.drop("_whole")
    # each row's details row (null: none), then one gather per column: scattering strings into
    # a column of a million rows cost a fifth of reading the traces
    slot = np.full(numbers.height, -1, dtype=np.int64)
    slot[with_details.arg_true().to_numpy()] = np.arange(detail_rows.height)
    detail_of_row = pl.DataFrame({"i": slot}).select(pl.when(pl.col("i") >= 0).then(pl.col("i")))["i"]
    # What readsb holds between reports (callsign, squawk, integrity) is carried forward over the
    # few details rows, within each file, then each row takes its file's last details row's
    # (a forward fill per column over every row cost a tenth of reading the traces).
    detail_file = file_index.filter(with_details)
    held = detail_rows.select(
        pl.col("callsign").str.strip_chars().replace("", None).alias(SAID),
        pl.when(pl.col("squawk").str.contains(r"^[0-7]{4}$")).then(pl.col("squawk")).alias("squawk"),
        *(_num(name, pl.Float32() if name == "rc_m" else pl.UInt8()).alias(name) for name in INTEGRITY_KEYS.values()),
    ).with_columns(detail_file)
    carried = held.select(
        *(_carried(pl.col(c)).alias("callsign" if c == SAID else c) for c in held.columns if c != "_file"))
    last = detail_of_row.forward_fill()
    last = pl.select(pl.when(detail_file.gather(last) == file_index).then(last)).to_series()
    spread = pl.concat([detail_rows.select("kind", "geo").gather(detail_of_row), held.select(SAID).gather(detail_of_row),
                        carried.gather(last)], how="horizontal")

    def scatter(name: str, fallback: pl.Series | None = None) -> pl.Series:
        if fallback is None:
            return spread[name]
        return pl.select(pl.when(detail_of_row.is_not_null()).then(spread[name]).otherwise(fallback)).to_series()

    table = pl.concat(
        [
            numbers.with_columns(
                file_index,
                scatter("callsign").alias("callsign"),
                scatter(SAID).alias(SAID),
                scatter("squawk").alias("squawk"),
                scatter("kind", numbers["kind"]).alias("kind"),
                scatter("geo", numbers["geo"]).alias("geo"),
                *(scatter(name).alias(name) for name in INTEGRITY_KEYS.values()),
                row_ok,
                pl.int_range(0, numbers.height, dtype=pl.Int64).alias("_row"),
            ),
            # each row's file facts, by position (rows are in file order): a gather, not a join
            per_file.drop("_file")[pl.Series(np.repeat(np.arange(len(meta)), counts))],
        ],
        how="horizontal",
    )
    # A file mostly not in this layout is left to the JSON parser alone.
    if row_ok.all():
        usable = pl.DataFrame({"_file": [m[0] for m in meta], "all": True}, schema={"_file": pl.Int32, "all": pl.Boolean})
    else:
        shape = table.group_by("_file").agg(pl.col("_ok").mean().alias("ok"), pl.col("_ok").all().alias("all"))
        usable = shape.filter(pl.col("ok") >= 1 - MAX_BAD_ROW_SHARE)
        table = table.filter(pl.col("_file").is_in(usable["_file"].implode()))
    if table.is_empty():
        return results
    table = table.with_columns(
        (pl.col("_first") + pl.col("_row") - pl.col("_start")).alias(LINE),
        pl.when(pl.col("_ok")).then(pl.col("dt")).alias("dt"),
    ).with_columns(
        pl.col("dt").str.strip_chars_start(" \t").str.slice(1),  # after the row's '[' (a second one is no number)
        pl.col("alt").str.strip_chars('"]'),
        pl.col("vr").str.strip_chars_end("]"),  # last field of the short rows of old readsb versions
        pl.col("kind").str.strip_chars(" ]"),
        pl.col("geo").str.strip_chars(" ]"),
    )
    sources, loose_kind = _source_types(table["kind"])
    frames = _columns(table.with_columns(sources.alias("position_source"), loose_kind.alias("_kind_loose")).lazy(),
                      None, None, None, None)
    local = {k: Rejects() for k in usable["_file"].to_list()}
    for k, n in enumerate(np.bincount(frames["_file"].to_numpy(), minlength=len(items)).tolist()):
        if n:
            local[k].records += n
    bad = frames.filter(pl.col(REASON).is_not_null())
    if bad.height:
        for (k,), rows in bad.partition_by("_file", as_dict=True).items():
            split_rejects(rows, items[k][0], local[k])
        frames = frames.filter(pl.col(REASON).is_null())
    frames = frames.drop(REASON)
    loose = set(frames.filter(pl.col("_loose"))["_file"].unique().to_list()) if frames["_loose"].any() else set()
    frames = frames.drop("_loose")
    exact = {k: clean and local[k].total == 0 and k not in loose
             for k, clean in usable.select("_file", "all").iter_rows()}
    seen = _seen_many({k: headers[k] for k in local}, {k: items[k][0] for k in local}, frames, by_file=True)
    empty = frames.clear().drop("_file", SAID)
    for k in local:
        results[k] = _Fast(empty, local[k], seen[k], exact[k])
    # rows are in file order: each file's frame is a slice (no copy)
    kept = np.bincount(frames["_file"].to_numpy(), minlength=len(items)).tolist()
    frames = frames.drop("_file", SAID)
    offset = 0
    for k, n in enumerate(kept):  # files are in the order of `items`
        if n:
            results[k].frame = frames.slice(offset, n)
            offset += n
    return results


# Whether a line is one whole trace row, as far as its text can tell without a parser (literal
# counts: a regex per line cost a tenth of reading): it opens with '[' and, outside its one
# details object (which holds no other object), holds no other bracket. In a valid JSON document
# without backslashes whose every line is such, lines and rows are the same. A string holding a
# comma would shift the comma-split fields: the fields that then do not parse (`_columns`:
# rejects, or `_loose`) send the file to the JSON parser.


def _details_row_whole(row: pl.Expr, tail: pl.Expr) -> pl.Expr:
    """For a line holding a details object: one '{' and one '}', and no '[' after the object
    (`tail`: the text after its '}'). That the object is the ninth field is checked on the
    comma split (`_rows_are_lines`); brackets before it make a field of the first eight
    unreadable."""
    return (
        (row.str.count_matches("{", literal=True) == 1)
        & (row.str.count_matches("}", literal=True) == 1)
        & (tail.str.count_matches("[", literal=True) == 0)
    )


def _rows_are_lines(rows: pl.Series, numbers: pl.DataFrame, with_details: pl.Series,
                    details_whole: pl.Series) -> pl.Series:
    """Per line, whether it is one whole trace row: it opens with '[' (its first comma-split
    field); a line without details holds one '[' and one ']'; a line with details has the
    object as its ninth field, and is whole as `_details_row_whole` found it (`details_whole`,
    in the order of those lines)."""
    has = with_details.to_numpy()
    short = rows.filter(~with_details)  # counted apart: the long lines with details are most of the text
    plain = np.empty(rows.len(), dtype=bool)
    plain[~has] = pl.select(
        (short.str.count_matches("[", literal=True) == 1) & (short.str.count_matches("]", literal=True) == 1)
    ).to_series().fill_null(False).to_numpy()
    ninth = numbers["details"].filter(with_details).str.starts_with("{").fill_null(False).to_numpy()
    plain[has] = details_whole.fill_null(False).to_numpy() & ninth
    opens = numbers["dt"].str.strip_chars_start(" \t").str.starts_with("[").fill_null(False).to_numpy()
    return pl.Series("_ok", plain & opens)


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


def _num(name: str, dtype: pl.DataType = pl.Float64()) -> pl.Expr:
    return pl.col(name).cast(dtype, strict=False)


def _source_types(kind: pl.Series) -> tuple[pl.Series, pl.Series]:
    """readsb's source type of each row (its text: quoted on the fast path) → one of
    `schema.POSITION_SOURCES` (null where the row has none), and whether the text is neither
    null nor one JSON string (then the fast path's comma split may have shifted: `_loose`).

    Worked out on the few distinct values and mapped back (per row it cost a tenth of reading)."""
    distinct = kind.unique()
    text = distinct.str.strip_chars(" ")
    name = text.str.strip_chars('"')
    mapped = pl.select(
        pl.when(name.is_null() | (name == "null") | (name == "")).then(None)
        .otherwise(name.replace_strict(POSITION_SOURCE, default="other", return_dtype=pl.String)),
        (text.is_not_null() & (text != "null") & (text != "") & ~text.str.contains(r'^"[^"]*"$')).alias("loose"),
    )
    return (kind.replace_strict(distinct, mapped.to_series(0), return_dtype=pl.String),
            kind.replace_strict(distinct, mapped.to_series(1), return_dtype=pl.Boolean))


def _carried(expr: pl.Expr) -> pl.Expr:
    """Forward fill within each file (`_file`; rows in file order): fill across the whole table,
    then blank the rows whose value came from an earlier file (a window `over` the files costs
    several times more)."""
    source_file = pl.when(expr.is_not_null()).then(pl.col("_file")).forward_fill()
    return pl.when(source_file == pl.col("_file")).then(expr.forward_fill())


def _columns(parsed: pl.LazyFrame, address: str | None, t0: float | None, path: Path | None,
             rejects: Rejects | None) -> pl.DataFrame:
    """String columns of traces → canonical frame with `_reason` set on rows whose position does not parse.

    With `address`/`t0` None they come from the `_address`/`_t0` columns (many files at
    once, told apart by `_file`); with `path` given, rejects are split off here. The frame
    keeps `_said`, the callsign each row's details state (for `seen`).
    """
    by_file = address is None
    if by_file:
        parsed = parsed.with_columns(pl.col("_address").alias("_addr"), pl.col("_t0").alias("_base"))
    else:
        parsed = parsed.with_columns(pl.lit(address.strip().lower()).alias("_addr"),
                                     pl.lit(t0, dtype=pl.Float64).alias("_base"))
    group = ["_file"] if by_file else None

    def carried(expr: pl.Expr, name: str) -> pl.Expr:
        if group:  # many files: carried already (`_fast_traces`)
            return pl.col(name)
        return expr.forward_fill()

    def unread(raw: str, number: str) -> pl.Expr:  # the fast path's text is JSON's, unpadded
        return pl.col(raw).is_not_null() & pl.col(number).is_null() & (pl.col(raw) != "null")

    def bad(raw: str, number: str) -> pl.Expr:
        text = pl.col(raw).str.strip_chars()
        return text.is_not_null() & (text != "null") & pl.col(number).is_null()

    typed = parsed.with_columns(
        _num("dt").alias("dt_n"),
        _num("lat").alias("lat_n"),
        _num("lon").alias("lon_n"),
        _num("alt").alias("alt_n"),
        _num("flags", pl.Int64()).fill_null(0).alias("flags_n"),
        _num("gs").alias("gs_n"),
        _num("trk").alias("trk_n"),
        _num("vr").alias("vr_n"),
        _num("geo").alias("geo_n"),
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
    # the fast path's fields that would read as null where the JSON parser reads a value: a
    # number field that is not a number, a source type that is not a JSON string
    loose = (
        [(unread("gs", "gs_n") | unread("trk", "trk_n") | unread("vr", "vr_n") | unread("geo", "geo_n")
          | pl.col("_kind_loose")).alias("_loose")]
        if by_file else []
    )
    said = pl.col(SAID) if by_file else pl.col("callsign").str.strip_chars().replace("", None)
    frame = typed.with_columns(reason).select(
        sane_time(
            ((pl.col("_base") + pl.col("dt_n")) * 1_000_000).round(0).cast(pl.Int64, strict=False)
            .cast(pl.Datetime("us", "UTC"))
        ).alias("timestamp"),
        pl.col("_addr").alias("icao24"),  # normalised per file, not per row
        carried(said, "callsign").alias("callsign"),
        pl.col("lat_n").alias("latitude"),
        pl.col("lon_n").alias("longitude"),
        pl.when(geometric).then(None).otherwise(pl.col("alt_n")).alias("altitude"),
        pl.coalesce(pl.col("geo_n"), pl.when(geometric).then(pl.col("alt_n"))).alias("geoaltitude"),
        pl.col("gs_n").alias("groundspeed"),
        pl.col("trk_n").alias("track"),
        pl.col("vr_n").alias("vertical_rate"),
        pl.when(pl.col("alt") == "ground").then(True)
        .when(pl.col("alt_n").is_not_null()).then(False)
        .otherwise(None).alias("onground"),
        carried(pl.when(pl.col("squawk").str.contains(r"^[0-7]{4}$")).then(pl.col("squawk")), "squawk").alias("squawk"),
        pl.lit(SOURCE).alias("source"),
        ((flags & FLAG_NEW_LEG) != 0).alias("new_leg"),
        *(carried(_num(name, pl.Float32() if name == "rc_m" else pl.UInt8()), name).alias(name)
          for name in INTEGRITY_KEYS.values()),
        pl.col("position_source"),
        said.alias(SAID),
        *loose,
        pl.col(LINE),
        pl.col(REASON),
        *([pl.col("_file")] if by_file else []),
    ).collect()
    return split_rejects(frame, path, rejects) if path is not None and rejects is not None else frame


def _seen_many(headers: dict[int, dict], paths: dict[int, Path], frames: pl.DataFrame,
               by_file: bool) -> dict[int, pl.DataFrame]:
    """Each file's identity claims as `schema.SEEN_SCHEMA` rows: one per callsign its details
    objects state (first and last time stated), each with the file's claims (`_claims`); one
    over the trace's span if it states none and claims anything. Files are told apart by
    `_file` (`by_file`), else the frame is file 0's. One frame built for all the files (a frame
    each cost as much as reading the traces)."""
    file = pl.col("_file") if by_file else pl.lit(0, dtype=pl.Int32).alias("_file")
    stamps = pl.col("timestamp")
    lazy = frames.lazy().filter(stamps.is_not_null())
    said, spans = pl.collect_all([
        lazy.filter(pl.col(SAID).is_not_null()).group_by(file, pl.col(SAID).str.to_uppercase())
        .agg(stamps.min().alias("first"), stamps.max().alias("last")).sort("_file", "first"),
        lazy.group_by(file).agg(stamps.min().alias("first"), stamps.max().alias("last")),
    ])
    span_of = {k: (first, last) for k, first, last in spans.iter_rows()}
    stated: dict[int, list[tuple]] = {}
    for k, callsign, first, last in said.iter_rows():
        stated.setdefault(k, []).append((callsign, first, last))
    rows: dict[str, list] = {name: [] for name in SEEN_SCHEMA}
    owner: list[int] = []
    for k, header in headers.items():
        claims = _claims(header)
        said_here = stated.get(k) or []
        if not said_here:
            if all(v is None for v in claims.values()):
                continue
            said_here = [(None, *span_of.get(k, (None, None)))]
        for callsign, first, last in said_here:
            for name, value in claims.items():
                rows[name].append(value)
            rows["callsign"].append(callsign)
            rows["origin"].append(None)
            rows["destination"].append(None)
            rows["source"].append(SOURCE)
            rows["file"].append(str(paths[k]))
            rows["first"].append(first)
            rows["last"].append(last)
            owner.append(k)
    table = pl.DataFrame(rows, schema=SEEN_SCHEMA)
    out = {k: table.clear() for k in headers}
    start = 0
    for k, n in itertools.groupby(owner):  # rows are grouped by file: each file's are a slice
        count = len(list(n))
        out[k] = table.slice(start, count)
        start += count
    return out


def _claims(header: dict) -> dict[str, object]:
    """The trace's own identity claims (readsb's database fields, README-json) by SEEN_SCHEMA name."""
    def text(key: str) -> str | None:
        value = header.get(key)
        return (value.strip() or None) if isinstance(value, str) else None

    address = header.get("icao")
    flags = header.get("dbFlags")
    flags = flags if isinstance(flags, int) and not isinstance(flags, bool) and flags >= 0 else None
    year = header.get("year")
    digits = str(year).strip() if isinstance(year, (str, int)) and not isinstance(year, bool) else ""
    year = int(digits) if digits.isdigit() and 0 < int(digits) < 32768 else None
    return {
        "icao24": address.strip().lower() if isinstance(address, str) else None,
        "registration": text("r"), "typecode": text("t"), "description": text("desc"), "operator": text("ownOp"),
        "year": year,
        **{name: (None if flags is None else bool(flags & bit)) for name, bit in DB_FLAGS.items()},
    }


def _json_trace(path: Path, rejects: Rejects, raw: bytes | None = None) -> pl.DataFrame:
    """The general path: parse the JSON document, then build the same string columns."""
    doc = _parse(path, read_all(path) if raw is None else raw)
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
        """`_text` of each value. A column of numbers alone (the common case) is typed by Polars
        and written back as text, exactly (a str() per value cost half this path)."""
        if not any(type(v) not in _NUMBER for v in values):
            numbers = pl.Series(values=values, strict=False)
            if numbers.dtype in (pl.Int64, pl.Float64, pl.Null):
                return numbers.cast(pl.String)
        return pl.Series(values=[None if v is None else str(v) if type(v) in _PLAIN else "bad" for v in values],
                         dtype=pl.String)

    def words(values) -> pl.Series:
        return pl.Series([v if isinstance(v, str) else None for v in values], dtype=pl.String)

    details = [d if isinstance(d, dict) else None for d in cols[8]]
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
            "kind": words(cols[9]),
            "geo": text(cols[10]),
            "callsign": words(d.get("flight") if d else None for d in details),
            "squawk": words(d.get("squawk") if d else None for d in details),
            **{name: text(tuple(d.get(key) if d else None for d in details)) for key, name in INTEGRITY_KEYS.items()},
        }
    )
    frame = _columns(parsed.with_columns(_source_types(parsed["kind"])[0].alias("position_source")).lazy(),
                     icao, float(t0), path, rejects)
    rejects.seen = _seen_many({0: doc}, {0: path}, frame, by_file=False)[0]
    return frame.drop(SAID)


def _parse(path: Path, raw: bytes) -> object:
    """The whole document through the JSON parser; BadInput naming the file and where."""
    try:
        return _loads(raw)
    except _JSON_ERROR as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        return _bad_json(where, exc)
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}@{exc.start}: not UTF-8 JSON") from exc
    except RecursionError as exc:
        raise BadInput(f"{path}: JSON nested too deeply") from exc
    except ValueError as exc:
        raise BadInput(f"{path}: unreadable JSON ({str(exc)[:80]})") from exc


def _bad_json(where: str, exc: ValueError) -> object:
    msg = getattr(exc, "msg", None) or str(exc).split(":")[0]
    pos = getattr(exc, "pos", None)
    raise BadInput(f"{where}: invalid JSON ({msg}{f', byte {pos}' if pos is not None else ''})") from exc


_PLAIN = {int, float, str}  # JSON scalars read as text; booleans (a type of their own) and containers are "bad"
_NUMBER = {int, float, type(None)}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, (int, float, str)):
        return str(value)
    return "bad"


TRACE_READER = TraceReader()
