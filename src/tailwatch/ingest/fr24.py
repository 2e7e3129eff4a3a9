"""Flightradar24 flight files: the playback JSON and the per-flight CSV export.

JSON: `result.response.data.flight` with `identification.callsign`,
`aircraft.identification.modes` (the hex address) and `track`, a list of
`{latitude, longitude, altitude: {feet}, speed: {kts}, verticalSpeed: {fpm},
heading, squawk, timestamp}`. FR24 writes squawk "0" when unknown (→ null).
The flight also names the aircraft and itself: `aircraft.identification.registration`,
`aircraft.model.code` (ICAO type designator) and `.text`, `airline.name` (else `owner.name`),
and the flight's own `airport.origin` / `airport.destination` ICAO codes. These go to
`Rejects.seen` as the recording's identity claims (`tailwatch.seen`, archive table `seen/`),
dated by the track's first and last point; they are never turned into observed airports.

CSV export (FR24 "Download CSV"): `Timestamp,UTC,Callsign,Position,Altitude,Speed,Direction`
(older exports lack `UTC`), Position quoted as "lat,lon", altitude ft, speed kt. Read as
RFC 4180 (`base.csv_records`: quoted fields may hold commas and line breaks; CR, CRLF or LF).
The export carries no aircraft address and no registration, type or airports (so it
makes no identity claims; its callsigns are in the points): pass an address (`tailwatch ingest --icao24`),
otherwise its rows are rejected as having none. Neither format says whether the
aircraft is on the ground, so `onground` stays null (not guessed).

Per-flight files hold a few thousand points, so plain Python parsing is fine here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import (
    BROKEN_ROW,
    DEFAULT_BATCH_ROWS,
    BadInput,
    Rejects,
    clean_squawk,
    epoch_seconds,
    csv_records,
    header_fields,
    load_json,
    sane_time,
)

SOURCE = "fr24"


def _get(doc: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _num(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


class FlightJsonReader:
    name = "fr24-json"

    def sniff(self, head: bytes) -> bool:
        return head.lstrip()[:1] == b"{" and b'"result"' in head and b'"response"' in head

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        doc = load_json(path)
        flight = _get(doc, "result", "response", "data", "flight")
        track = _get(flight, "track")
        if not isinstance(track, list):
            raise BadInput(f"{path}: not a Flightradar24 flight (no result.response.data.flight.track)")
        address = _get(flight, "aircraft", "identification", "modes")
        callsign = _get(flight, "identification", "callsign")
        rejects.records += len(track)
        rows: dict[str, list] = {k: [] for k in ("t", "lat", "lon", "alt", "gs", "vr", "trk", "sq")}
        for i, point in enumerate(track):
            if not isinstance(point, dict):
                rejects.add("track point is not an object", f"{path}: track[{i}]")
                continue
            t, lat, lon = _num(point.get("timestamp")), _num(point.get("latitude")), _num(point.get("longitude"))
            if t is None or lat is None or lon is None:
                rejects.add("track point without time or position", f"{path}: track[{i}]")
                continue
            rows["t"].append(t)
            rows["lat"].append(lat)
            rows["lon"].append(lon)
            rows["alt"].append(_num(_get(point, "altitude", "feet")))
            rows["gs"].append(_num(_get(point, "speed", "kts")))
            rows["vr"].append(_num(_get(point, "verticalSpeed", "fpm")))
            rows["trk"].append(_num(point.get("heading")))
            sq = point.get("squawk")
            rows["sq"].append(str(sq) if isinstance(sq, (str, int)) and not isinstance(sq, bool) else None)
        if not rows["t"]:
            return
        rejects.seen = _claims(flight, path, min(rows["t"]), max(rows["t"]))
        frame = pl.DataFrame(
            {
                "t": pl.Series(rows["t"], dtype=pl.Float64),
                "latitude": pl.Series(rows["lat"], dtype=pl.Float64),
                "longitude": pl.Series(rows["lon"], dtype=pl.Float64),
                "altitude": pl.Series(rows["alt"], dtype=pl.Float64),
                "groundspeed": pl.Series(rows["gs"], dtype=pl.Float64),
                "vertical_rate": pl.Series(rows["vr"], dtype=pl.Float64),
                "track": pl.Series(rows["trk"], dtype=pl.Float64),
                "squawk": pl.Series(rows["sq"], dtype=pl.String),
            }
        ).with_columns(
            sane_time(epoch_seconds(pl.col("t"))).alias("timestamp"),
            pl.lit(address if isinstance(address, str) else None, dtype=pl.String).alias("icao24"),
            pl.lit(callsign if isinstance(callsign, str) else None, dtype=pl.String).alias("callsign"),
            clean_squawk(pl.col("squawk")).alias("squawk"),
            pl.lit(SOURCE).alias("source"),
        ).drop("t")
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _claims(flight: dict, path: Path, first: float, last: float) -> pl.DataFrame:
    """The flight's statements about its aircraft and itself as SEEN_SCHEMA claims (one row)."""
    from tailwatch.seen import claims

    airline = _get(flight, "airline", "name")
    return claims(pl.DataFrame({
        "icao24": [_text(_get(flight, "aircraft", "identification", "modes"))],
        "registration": [_text(_get(flight, "aircraft", "identification", "registration"))],
        "typecode": [_text(_get(flight, "aircraft", "model", "code"))],
        "description": [_text(_get(flight, "aircraft", "model", "text"))],
        "operator": [_text(airline) or _text(_get(flight, "owner", "name"))],
        "callsign": [_text(_get(flight, "identification", "callsign"))],
        "origin": [_text(_get(flight, "airport", "origin", "code", "icao"))],
        "destination": [_text(_get(flight, "airport", "destination", "code", "icao"))],
        "source": [SOURCE],
        "file": [str(path)],
        "t0": [first],
        "t1": [last],
    }, schema_overrides={"t0": pl.Float64, "t1": pl.Float64}).with_columns(
        sane_time(epoch_seconds(pl.col("t0"))).alias("first"), sane_time(epoch_seconds(pl.col("t1"))).alias("last")))


CSV_COLUMNS = ("timestamp", "callsign", "position", "altitude", "speed", "direction")


class FlightCsvReader:
    name = "fr24-csv"

    def sniff(self, head: bytes) -> bool:
        return set(CSV_COLUMNS) <= set(header_fields(head)) and "icao24" not in header_fields(head)

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        records = csv_records(path)
        _, header = next(records, (0, None))
        if header is None:
            raise BadInput(f"{path}: empty FR24 CSV, or its header is not readable")
        header = [h.strip().lower() for h in header]
        if not set(CSV_COLUMNS) <= set(header):
            raise BadInput(f"{path}: FR24 CSV header lacks {sorted(set(CSV_COLUMNS) - set(header))}")
        at = {name: header.index(name) for name in CSV_COLUMNS}
        cols: dict[str, list] = {k: [] for k in ("t", "cs", "lat", "lon", "alt", "gs", "trk")}
        try:
            for lineno, fields in records:
                if fields is not None and (not fields or (len(fields) == 1 and not fields[0].strip())):
                    continue
                rejects.records += 1
                where = f"{path}:{lineno}"
                if fields is None:
                    rejects.add(BROKEN_ROW, where)
                    continue
                if len(fields) != len(header):
                    rejects.add(f"expected {len(header)} fields, found {len(fields)}", where)
                    continue
                t = _num(fields[at["timestamp"]])
                position = fields[at["position"]].split(",")
                lat = _num(position[0]) if len(position) == 2 else None
                lon = _num(position[1]) if len(position) == 2 else None
                if t is None or lat is None or lon is None:
                    rejects.add("unparsable timestamp or position", where)
                    continue
                cols["t"].append(t)
                cols["cs"].append(fields[at["callsign"]].strip() or None)
                cols["lat"].append(lat)
                cols["lon"].append(lon)
                cols["alt"].append(_num(fields[at["altitude"]]))
                cols["gs"].append(_num(fields[at["speed"]]))
                cols["trk"].append(_num(fields[at["direction"]]))
        except csv.Error as exc:
            raise BadInput(f"{path}: malformed CSV ({exc})") from exc
        if not cols["t"]:
            return
        frame = pl.DataFrame(
            {
                "t": pl.Series(cols["t"], dtype=pl.Float64),
                "icao24": pl.Series([None] * len(cols["t"]), dtype=pl.String),
                "callsign": pl.Series(cols["cs"], dtype=pl.String),
                "latitude": pl.Series(cols["lat"], dtype=pl.Float64),
                "longitude": pl.Series(cols["lon"], dtype=pl.Float64),
                "altitude": pl.Series(cols["alt"], dtype=pl.Float64),
                "groundspeed": pl.Series(cols["gs"], dtype=pl.Float64),
                "track": pl.Series(cols["trk"], dtype=pl.Float64),
                "source": pl.Series([SOURCE] * len(cols["t"]), dtype=pl.String),
            }
        ).with_columns(sane_time(epoch_seconds(pl.col("t"))).alias("timestamp")).drop("t")
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)


JSON_READER = FlightJsonReader()
CSV_READER = FlightCsvReader()
