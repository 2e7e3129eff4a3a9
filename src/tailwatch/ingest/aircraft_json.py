"""readsb / dump1090(-fa) `aircraft.json` snapshots (a folder of them is a time series).

Format (readsb README-json): `{"now": unix s, "messages": n, "aircraft": [{"hex",
"flight", "alt_baro" (ft or "ground"), "alt_geom", "gs", "track", "baro_rate",
"geom_rate", "squawk", "lat", "lon", "seen_pos" (s before `now`), ...}]}`. Older
dump1090 writes `altitude`, `speed`, `vert_rate` instead. Addresses starting with
`~` are not ICAO addresses (TIS-B track numbers) and are rejected as such.

The position time is `now - seen_pos`: the snapshot repeats a position until a
new one arrives, and deduplication then keeps it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, BadInput, Rejects, clean_squawk, load_json, sane_time

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
        columns = {
            name: pl.Series(name, [_text(a.get(name)) for a in entries], dtype=pl.String).cast(dtype, strict=False)
            for name, dtype in FIELDS.items()
        }
        frame = pl.DataFrame(columns)
        alt = pl.coalesce(pl.col("alt_baro"), pl.col("altitude"))
        out = frame.select(
            sane_time(
                ((pl.lit(float(now)) - pl.col("seen_pos").fill_null(0.0)) * 1_000_000)
                .round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))
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
        )
        for start in range(0, out.height, batch_rows):
            yield out.slice(start, batch_rows)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return str(value)


READER = AircraftJsonReader()
