"""readsb / dump1090(-fa) `aircraft.json` snapshots (a folder of them is a time series).

Format (readsb README-json): `{"now": unix s, "messages": n, "aircraft": [{"hex",
"flight", "alt_baro" (ft or "ground"), "alt_geom", "gs", "track", "baro_rate",
"geom_rate", "squawk", "lat", "lon", "seen_pos" (s before `now`), ...}]}`. Older
dump1090 writes `altitude`, `speed`, `vert_rate` instead. Addresses starting with
`~` are not ICAO addresses (TIS-B track numbers) and are rejected as such.

The position time is `now - seen_pos`: the snapshot repeats a position until a
new one arrives, and deduplication then keeps it once.

How each position was obtained (extension column `position_source`): `lat` listed in the
entry's `mlat` (fields derived from MLAT) → mlat, in `tisb` → tisb; else the entry's `type`
(best source of its current data): adsb_icao, adsb_icao_nt, adsr_icao → adsb; mlat → mlat;
tisb_* → tisb; adsc → adsc; any other type → other; no type → null (not said).

readsb run with an aircraft database adds `r` (registration), `t` (type designator), `dbFlags`
(bit 1 military, 2 interesting, 4 PIA, 8 LADD; written only when not zero) and, with long
types, `desc`, `ownOp`, `year`. They come from the receiver's database, not the transponder,
and go to `Rejects.seen` as the recording's identity claims (`tailwatch.seen`), dated `now`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    DEFAULT_BATCH_ROWS,
    ENGINE_ERRORS,
    BadInput,
    Rejects,
    clean_squawk,
    load_json,
    read_all,
    sane_time,
)

SOURCE = "aircraft-json"
FIELDS = {
    "hex": pl.String(),
    "flight": pl.String(),
    "alt_baro": pl.String(),
    "altitude": pl.String(),
    "alt_geom": pl.Float64(),
    "gs": pl.Float64(),
    "speed": pl.Float64(),
    "track": pl.Float64(),
    "baro_rate": pl.Float64(),
    "geom_rate": pl.Float64(),
    "vert_rate": pl.Float64(),
    "squawk": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "seen_pos": pl.Float64(),
    # navigation integrity (readsb): extension columns nic, nac_p, sil, rc_m, adsb_version (docs/schema.md)
    "nic": pl.UInt8(),
    "nac_p": pl.UInt8(),
    "sil": pl.UInt8(),
    "rc": pl.Float32(),
    "version": pl.UInt8(),
}
# identity (readsb with an aircraft database) and how the data was obtained, kept as text
IDENTITY_FIELDS = ("r", "t", "desc", "ownOp", "year", "dbFlags", "type")
LIST_FIELDS = ("mlat", "tisb")  # names of the fields derived from MLAT / TIS-B
ADSB_TYPES = ("adsb_icao", "adsb_icao_nt", "adsr_icao")


class AircraftJsonReader:
    name = "aircraft-json"

    def sniff(self, head: bytes) -> bool:
        return head.lstrip()[:1] == b"{" and b'"aircraft"' in head and b'"now"' in head

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        doc = load_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
            raise BadInput(f"{path}: not an aircraft.json snapshot (no 'aircraft' list)")
        now = doc.get("now")
        if not isinstance(now, (int, float)) or isinstance(now, bool):
            raise BadInput(f"{path}: aircraft.json without a numeric 'now'")
        aircraft = doc["aircraft"]
        rejects.records += len(aircraft)
        entries = [a for a in aircraft if isinstance(a, dict)]
        for i, a in enumerate(aircraft):
            if not isinstance(a, dict):
                rejects.add("aircraft entry is not an object", f"{path}: aircraft[{i}]")
        if not entries:
            return
        columns = {name: pl.Series(name, [_text(a.get(name)) for a in entries], dtype=pl.String)
                   for name in (*FIELDS, *IDENTITY_FIELDS)}
        columns |= {f"_{name}_lat": pl.Series([_lists_lat(a.get(name)) for a in entries], dtype=pl.Boolean)
                    for name in LIST_FIELDS}
        raw = pl.DataFrame(columns).with_columns(pl.lit(float(now)).alias("_now"))
        rejects.seen = _claims(raw.with_columns(pl.lit(str(path)).alias("file")))
        out = _canonical(raw)
        for start in range(0, out.height, batch_rows):
            yield out.slice(start, batch_rows)

    def read_many(self, paths: list[Path], rejects: list[Rejects]) -> list[pl.DataFrame | BadInput]:
        """Many snapshots (a receiver's series) in one pass of Polars' JSON reader, off the GIL.

        Each document becomes one line (a newline can only be whitespace in valid JSON), the
        lines are read as NDJSON with every field as text (numbers, "ground", objects alike,
        cast below as the one-file path casts them). A file the batch cannot take (damaged,
        no `now`, entries that are not objects) is read on its own, for its own error.
        """
        out: list[pl.DataFrame | BadInput | None] = [None] * len(paths)
        lines: list[bytes] = []
        batched: list[int] = []
        for i, path in enumerate(paths):
            try:
                raw = read_all(path)
            except BadInput as exc:
                out[i] = exc
                continue
            line = raw.replace(b"\n", b" ").replace(b"\r", b" ").strip()
            # batched only where text fields say the same as the Python objects would: a numeric
            # `now`, no booleans (the one-file path reads `true` as missing, the JSON reader as text)
            if line.startswith(b"{") and _NOW_NUMBER.search(line) and b"true" not in line and b"false" not in line:
                lines.append(line)
                batched.append(i)
        docs = _documents(lines)
        if docs is not None:
            ok = docs.filter(pl.col("_now").is_not_null() & pl.col("aircraft").is_not_null())
            for doc, n in ok.select("_doc", pl.col("aircraft").list.len()).iter_rows():
                rejects[batched[doc]].records += n
            rows = ok.explode("aircraft").filter(pl.col("aircraft").is_not_null()).unnest("aircraft")
            rows = rows.with_columns(pl.col("_now").cast(pl.Float64, strict=False),
                                     *(_names_lat(pl.col(n)).alias(f"_{n}_lat") for n in LIST_FIELDS))
            seen = _claims(rows.with_columns(pl.col("_doc").replace_strict(
                list(range(len(batched))), [str(paths[i]) for i in batched], return_dtype=pl.String).alias("file")))
            for doc in ok["_doc"].to_list():
                rejects[batched[doc]].seen = seen.clear()
            by_file = {str(paths[i]): i for i in batched}
            for (name,), part in seen.partition_by("file", as_dict=True, maintain_order=True).items():
                rejects[by_file[name]].seen = part
            frame = _canonical(rows)
            for doc in ok["_doc"].to_list():
                out[batched[doc]] = frame.clear()
            docs_of_rows = rows["_doc"]
            frame = frame.with_columns(docs_of_rows)
            for (doc,), part in frame.partition_by("_doc", as_dict=True, maintain_order=True).items():
                out[batched[doc]] = part.drop("_doc")
        for i, path in enumerate(paths):
            if out[i] is None:  # not batched: the one-file path says what is wrong, or reads it
                try:
                    frames = list(self.read(path, rejects[i]))
                    out[i] = pl.concat(frames) if frames else pl.DataFrame()
                except BadInput as exc:
                    out[i] = exc
        return out  # type: ignore[return-value]


_NOW_NUMBER = re.compile(rb'"now"\s*:\s*-?[0-9]')
# `mlat` / `tisb` read as their JSON text (`["lat", "lon"]`): parsing them as lists cost a quarter
# of the JSON reader's time (measured); `_names_lat` asks the text what the list would say
_TEXT_SCHEMA = {"now": pl.String(), "aircraft": pl.List(pl.Struct(
    {name: pl.String() for name in (*FIELDS, *IDENTITY_FIELDS, *LIST_FIELDS)}))}


def _names_lat(text: pl.Expr) -> pl.Expr:
    """Whether a list of field names, as JSON text, names the position (`_lists_lat` of the text)."""
    return pl.when(text.str.starts_with("[")).then(text.str.contains('"lat"', literal=True))


def _documents(lines: list[bytes]) -> pl.DataFrame | None:
    """One row per document (`_doc`, `_now` text, `aircraft` list); None if any line is not one."""
    if not lines:
        return None
    try:
        docs = pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=_TEXT_SCHEMA)
    except ENGINE_ERRORS:
        return None
    if docs.height != len(lines):
        return None
    return docs.rename({"now": "_now"}).with_row_index("_doc").with_columns(pl.col("_doc").cast(pl.Int64))


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Text fields of aircraft entries (and each row's snapshot time `_now`) → canonical points."""
    frame = frame.with_columns(pl.col(n).cast(t, strict=False) for n, t in FIELDS.items() if n in frame.columns)
    frame = frame.with_columns(pl.lit(None, t).alias(n) for n, t in FIELDS.items() if n not in frame.columns)
    absent = {"type": pl.String(), **{f"_{n}_lat": pl.Boolean() for n in LIST_FIELDS}}
    frame = frame.with_columns(pl.lit(None, t).alias(n) for n, t in absent.items() if n not in frame.columns)
    alt = pl.coalesce(pl.col("alt_baro"), pl.col("altitude"))
    return frame.select(
        sane_time(
            ((pl.col("_now") - pl.col("seen_pos").fill_null(0.0)) * 1_000_000)
            .round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"), strict=False)
        ).alias("timestamp"),
        pl.col("hex").str.strip_chars().alias("icao24"),
        pl.col("flight").alias("callsign"),
        pl.col("lat").alias("latitude"),
        pl.col("lon").alias("longitude"),
        alt.cast(pl.Float64, strict=False).alias("altitude"),
        pl.col("alt_geom").alias("geoaltitude"),
        pl.coalesce(pl.col("gs"), pl.col("speed")).alias("groundspeed"),
        pl.col("track"),
        pl.coalesce(pl.col("baro_rate"), pl.col("geom_rate"), pl.col("vert_rate")).alias("vertical_rate"),
        pl.when(alt == "ground").then(True).when(alt.cast(pl.Float64, strict=False).is_not_null()).then(False)
        .otherwise(None).alias("onground"),
        clean_squawk(pl.col("squawk")).alias("squawk"),
        pl.lit(SOURCE).alias("source"),
        pl.col("nic"),
        pl.col("nac_p"),
        pl.col("sil"),
        pl.col("rc").alias("rc_m"),
        pl.col("version").alias("adsb_version"),
        _position_source().alias("position_source"),
    )


def _position_source() -> pl.Expr:
    """How the position was obtained (module docstring), from `mlat` / `tisb` and `type`."""
    kind = pl.col("type").str.strip_chars()
    return (pl.when(pl.col("_mlat_lat")).then(pl.lit("mlat"))
            .when(pl.col("_tisb_lat")).then(pl.lit("tisb"))
            .when(kind.is_in(ADSB_TYPES)).then(pl.lit("adsb"))
            .when(kind == "mlat").then(pl.lit("mlat"))
            .when(kind.str.starts_with("tisb")).then(pl.lit("tisb"))
            .when(kind == "adsc").then(pl.lit("adsc"))
            .when(kind.is_not_null() & (kind != "")).then(pl.lit("other"))
            .otherwise(pl.lit(None, pl.String)))


def _claims(rows: pl.DataFrame) -> pl.DataFrame:
    """The database fields of each entry (with `_now` and `file`) as SEEN_SCHEMA claims."""
    from tailwatch.seen import claims, db_flags, empty_seen

    database = [n for n in IDENTITY_FIELDS if n != "type" and n in rows.columns]
    if not database or rows.select(pl.any_horizontal(pl.col(n).is_not_null() for n in database).any()).item() is not True:
        return empty_seen()  # a receiver without an aircraft database: nothing claimed, nothing to do
    text = {name: (pl.col(name) if name in rows.columns else pl.lit(None, pl.String)).str.strip_chars().replace("", None)
            for name in (*IDENTITY_FIELDS, "hex", "flight")}
    known = text["r"].is_not_null() | text["t"].is_not_null()
    now = (pl.col("_now") * 1_000_000).round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"), strict=False)
    return claims(rows.select(
        text["hex"].alias("icao24"), text["r"].alias("registration"), text["t"].alias("typecode"),
        text["desc"].alias("description"), text["ownOp"].alias("operator"),
        text["year"].cast(pl.Int16, strict=False).alias("year"),
        *db_flags(text["dbFlags"], known),
        text["flight"].alias("callsign"), pl.lit(SOURCE).alias("source"), pl.col("file"),
        sane_time(now).alias("first"), sane_time(now).alias("last"),
    ))


def _lists_lat(value: object) -> bool | None:
    """Whether a list of field names (`mlat`, `tisb`) names the position; None when it is not a list."""
    if not isinstance(value, list):
        return None
    return "lat" in value


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return str(value)


READER = AircraftJsonReader()
